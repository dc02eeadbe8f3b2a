"""What a user pays for `python -m src.train` as a whole process (`invoke bench --only command`).

Rows (each a median over --reps repetitions, A/B alternating so that the machine's noise hits both
sides alike; the range is min-max):

  1. per epoch, the default command vs a raw PyTorch loop (benchmarks/raw_loop.py) run the same way:
     (wall of N epochs - wall of 1 epoch) / (N - 1), whole processes, in a pseudo-terminal (the
     default shows the progress bar there) and piped (the default prints one line per epoch).
     Both validate every epoch; the command also checkpoints, logs to MLflow and tests at the end.
     Also side by side (benchmarks/side_by_side.py): both processes at once, one vCPU each, so
     that the machine's slow and fast spells hit both sides alike; and, side by side the same
     way, split at Lightning's own loop (benchmarks/lightning_loop.py, the raw loop's work in the
     smallest Trainer): Lightning's loop vs the raw loop (the framework's floor) and the default
     command vs Lightning's loop (what the project adds).
  2. the progress bar's cost per epoch: the default in a pseudo-terminal (bar) and piped (epoch
     log) vs `--trainer.enable_progress_bar false`, per epoch as in 1; and, with less noise,
     inside one process in a pseudo-terminal (benchmarks/bar_cost.py): epochs with the bar vs
     without, alternating, and what the bar itself spends (its hooks on the training thread plus
     Rich's refresh thread) as a share of the fit.
  3. the fixed cost of one command: whole-process wall of a 1-epoch run into an existing store
     minus its fit and test stages (time/fit_s, time/test_s from the run), against the import
     floor `python -c "import torch, lightning.pytorch, mlflow"`; with its breakdown.
"""

from __future__ import annotations

import argparse
import json
import re
import shlex
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from mlflow.tracking import MlflowClient

from benchmarks.side_by_side import EPOCH_LINE, side_by_side, two_cpus

ROOT = Path(__file__).resolve().parents[1]
TARGETS = {"per_epoch": 1.10, "bar": 1.02, "fixed_vs_floor": 1.5}
BAR_COST = Path(__file__).with_name("bar_cost.py")
FLOOR = [sys.executable, "-c", "import torch, lightning.pytorch, mlflow"]
PHASES = ("store", "data", "run_start", "fit", "test", "outputs", "plots", "model")


def wall(command: list[str], tty: bool, cwd: Path = ROOT) -> float:
    """Seconds of one whole process, its output to a pseudo-terminal (`script`) or a pipe."""
    return run(command, tty, cwd)[0]


def run(command: list[str], tty: bool, cwd: Path = ROOT) -> tuple[float, str]:
    """Seconds of one whole process, its output to a pseudo-terminal (`script`) or a pipe, and
    what it printed on stdout."""
    if tty:
        command = ["script", "-qec", shlex.join(command), "/dev/null"]
    started = time.perf_counter()
    done = subprocess.run(
        command, cwd=cwd, check=True, capture_output=True, stdin=subprocess.DEVNULL
    )
    return time.perf_counter() - started, done.stdout.decode(errors="replace")


def printed_epochs(output: str) -> list[float]:
    """The seconds of each epoch but the first, as the process timed and printed them."""
    text = re.sub(r"\x1b\[[0-9;?]*[A-Za-z]", "", output).replace("\r", "\n")  # a terminal's
    return [float(seconds) for seconds in EPOCH_LINE.findall(text)][1:]


class Commands:
    """The default command into one store kept for the whole benchmark, and the raw loop."""

    def __init__(self, folder: Path, code: Path) -> None:
        self.store = f"sqlite:///{folder / 'mlflow.db'}"
        self.checkpoints = str(folder / "checkpoints")
        self.code = code  # the checkout whose `python -m src.train` runs (--code: before/after)

    def train(self, epochs: int, *extra: str) -> list[str]:
        return [
            sys.executable, "-m", "src.train", f"--trainer.max_epochs={epochs}",
            f"--mlflow.tracking_uri={self.store}", f"--checkpoint_dir={self.checkpoints}", *extra,
        ]  # fmt: skip

    @staticmethod
    def raw(epochs: int) -> list[str]:
        return [sys.executable, "-m", "benchmarks.raw_loop", f"--epochs={epochs}"]

    @staticmethod
    def lightning(epochs: int) -> list[str]:
        return [sys.executable, "-m", "benchmarks.lightning_loop", f"--epochs={epochs}"]

    def last_run_timings(self) -> dict[str, float]:
        client = MlflowClient(self.store)
        experiment = client.get_experiment_by_name("mnist-mlp")
        (run,) = client.search_runs([experiment.experiment_id], max_results=1)
        metrics = run.data.metrics
        return {p: metrics.get(f"time/{p}_s", 0.0) for p in PHASES} | {
            "wall_time": metrics["wall_time_s"]
        }


def bar_cost(pairs: int, epochs: int, code: Path = ROOT) -> dict:
    """benchmarks/bar_cost.py's measurements of `code`'s bar, in a pseudo-terminal as the bar
    needs. The script runs from a copy, so that `src` is the checkout's own (PYTHONPATH)."""
    import os
    import shutil

    with tempfile.TemporaryDirectory() as folder:
        script = Path(shutil.copy(BAR_COST, folder))
        command = shlex.join(
            [sys.executable, str(script), f"--pairs={pairs}", f"--epochs={epochs}"]
        )
        done = subprocess.run(
            ["script", "-qec", command, "/dev/null"], cwd=code, check=True, capture_output=True,
            stdin=subprocess.DEVNULL, env={**os.environ, "PYTHONPATH": str(code)},
        )  # fmt: skip
    lines = done.stdout.decode(errors="replace").splitlines()
    line = next(x for x in lines if "BAR_COST " in x)
    return json.loads(line.split("BAR_COST ", 1)[1])


def per_epoch(command, epochs: int, tty: bool, cwd: Path = ROOT) -> tuple[float, float]:
    """(wall of N epochs - wall of 1) / (N - 1), and the median of the epochs 2..N printed."""
    many, output = run(command(epochs), tty, cwd)
    printed = printed_epochs(output)
    once = wall(command(1), tty, cwd)
    return (many - once) / (epochs - 1), statistics.median(printed) if printed else float("nan")


def spread(values: list[float]) -> dict:
    return {"median": statistics.median(values), "range": [min(values), max(values)]}


# A per-epoch value that is a difference of two whole-process walls, (wall(N) - wall(1)) / (N-1):
# with --quick's 3 epochs its ratios moved by up to ±50% between two repetitions here, so the
# README's summary (benchmarks/summary.py) leaves such rows out of a quick run.
WALL_DIFFERENCE = "wall difference"
# The side-by-side row counts the epochs 2..N: with --quick's 3 that is 2 epochs a process (it
# read 1.26-1.33x there, 1.18-1.20x with 6 epochs); 5 gives it 4, for about 12 s more.
SIDE_BY_SIDE_EPOCHS = 5


def ratio_row(
    name: str,
    ours: list[float],
    theirs: list[float],
    target: float | None,
    method: str = "",
    epochs: int | None = None,
) -> dict:
    """One row; `target` None: a row that explains another; `epochs`: those of the commands it
    times, when not the run's."""
    ratios = [a / b for a, b in zip(ours, theirs, strict=True)]
    return {"name": name, "ours_s": spread(ours), "theirs_s": spread(theirs),
            "ratio": spread(ratios), "target": target, "method": method,
            **({"epochs": epochs} if epochs is not None else {})}  # fmt: skip


# The side-by-side pairs, (ours, theirs, what the row says, target): the default command against
# the raw loop, split in two at Lightning's own loop: what the framework costs by itself and what
# the project adds on top (those two have no target of their own).
SIDE_BY_SIDE_PAIRS = (
    ("default", "raw", "the default command vs the raw loop", TARGETS["per_epoch"]),
    ("lightning", "raw", "Lightning's own loop (benchmarks/lightning_loop.py) vs the raw loop:"
                         " the framework's floor", None),
    ("default", "lightning", "the default command vs Lightning's own loop: what the project"
                             " adds", None),
)  # fmt: skip


def side_by_side_rows(s: dict[str, list[float]], epochs: int) -> list[dict]:
    return [
        ratio_row(f"per epoch side by side (both at once, one vCPU each, piped; the second's"
                  f" epochs inside the first's epochs 2..N), {what}", s[f"side_{ours}_{theirs}"],
                  s[f"side_{ours}_{theirs}_baseline"], target, epochs=epochs)
        for ours, theirs, what, target in SIDE_BY_SIDE_PAIRS
    ]  # fmt: skip


def bench(reps: int, epochs: int, code: Path = ROOT) -> dict:
    with tempfile.TemporaryDirectory() as folder:
        c = Commands(Path(folder), code)
        wall(c.train(1, "--mlflow.log_model=false"), False, code)  # the store exists from now on
        samples: dict[str, list[float]] = {}

        def add(key: str, value: float) -> None:
            samples.setdefault(key, []).append(value)

        quiet = ("--trainer.enable_progress_bar=false",)
        fixed, floor, breakdowns = [], [], []
        cpus = two_cpus()
        for rep in range(reps):
            for tty in (True, False):
                mode = "tty" if tty else "pipe"
                for side, command, cwd in (("raw", Commands.raw, ROOT), ("default", c.train, code)):
                    whole_s, printed_s = per_epoch(command, epochs, tty, cwd)
                    add(f"{side}_{mode}", whole_s)
                    add(f"{side}_{mode}_printed", printed_s)
            if cpus is not None:  # each side on each vCPU in turn
                pinned = cpus if rep % 2 == 0 else (cpus[1], cpus[0])
                n = max(epochs, SIDE_BY_SIDE_EPOCHS)
                sides = {"default": (c.train(n), code), "lightning": (Commands.lightning(n), ROOT)}
                baselines = {"raw": Commands.raw, "lightning": Commands.lightning}
                for ours, theirs, _, _ in SIDE_BY_SIDE_PAIRS:
                    command, cwd = sides[ours]
                    mine, baseline = side_by_side(command, baselines[theirs], pinned, cwd, ROOT)
                    add(f"side_{ours}_{theirs}", mine)
                    add(f"side_{ours}_{theirs}_baseline", baseline)
            add("quiet", per_epoch(lambda n: c.train(n, *quiet), epochs, False, code)[0])
            floor.append(wall(FLOOR, tty=False))
            whole = wall(c.train(1), tty=False, cwd=code)
            timings = c.last_run_timings()
            fixed.append(whole - timings["fit"] - timings["test"])
            breakdowns.append({"whole": whole, **timings})
    s = samples
    walls = WALL_DIFFERENCE
    rows = [
        ratio_row("per epoch, default command vs raw loop, pseudo-terminal (bar)",
                  s["default_tty"], s["raw_tty"], TARGETS["per_epoch"], walls),
        ratio_row("per epoch, default command vs raw loop, piped (epoch log)",
                  s["default_pipe"], s["raw_pipe"], TARGETS["per_epoch"], walls),
        ratio_row("per epoch as each process times its epochs 2..N (training, validation,"
                  " checkpoints), default command vs raw loop,"
                  " piped", s["default_pipe_printed"], s["raw_pipe_printed"],
                  TARGETS["per_epoch"]),
        *(side_by_side_rows(s, max(epochs, SIDE_BY_SIDE_EPOCHS)) if cpus is not None else []),
        ratio_row("progress bar: default in a pseudo-terminal vs enable_progress_bar=false",
                  s["default_tty"], s["quiet"], TARGETS["bar"], walls),
        ratio_row("epoch log: default piped vs enable_progress_bar=false",
                  s["default_pipe"], s["quiet"], TARGETS["bar"], walls),
    ]  # fmt: skip
    rows.append(ratio_row("fixed cost of a 1-epoch command vs the import floor",
                          fixed, floor, TARGETS["fixed_vs_floor"], epochs=1))  # fmt: skip
    bar = bar_cost(pairs=max(1, reps), epochs=3, code=code)
    rows.append({"name": "progress bar in one process, pseudo-terminal: epochs with the bar vs"
                 " enable_progress_bar=false", "ours_s": spread([bar["epoch_on_s"]]),
                 "theirs_s": spread([bar["epoch_off_s"]]),
                 "ratio": {"median": bar["ratio_median"], "range": bar["ratio_range"]},
                 "target": TARGETS["bar"]})  # fmt: skip
    keys = ["whole", *PHASES, "wall_time"]
    breakdown = {k: statistics.median(b[k] for b in breakdowns) for k in keys}
    within_outputs = ("plots", "model")
    breakdown["imports and the rest"] = breakdown["whole"] - sum(
        breakdown[p] for p in PHASES if p not in within_outputs
    )
    return {
        "epochs": epochs,
        "reps": reps,
        "code": str(code),
        "rows": rows,
        "breakdown_s": breakdown,
        "bar_accounted": {
            "hooks_share": bar["hooks_share"],
            "refresh_thread_share": bar["refresh_thread_share"],
            "share": bar["hooks_share"] + bar["refresh_thread_share"],
            "setup_teardown_s": bar["setup_teardown_s"],
            "target_share": TARGETS["bar"] - 1,
        },
    }


def target_text(target: float | None) -> str:
    return "–" if target is None else f"≤ {target:.2f}×"


def markdown(results: dict) -> str:
    lines = ["| what | ours (median, range) | baseline | ratio (median, range) | target |",
             "|---|---|---|---|---|"]  # fmt: skip
    for r in results["rows"]:
        o, t, q = r["ours_s"], r["theirs_s"], r["ratio"]
        lines.append(
            f"| {r['name']} | {o['median']:.2f} s ({o['range'][0]:.2f}–{o['range'][1]:.2f}) "
            f"| {t['median']:.2f} s | {q['median']:.3f}× ({q['range'][0]:.3f}–{q['range'][1]:.3f})"
            f" | {target_text(r['target'])} |"
        )
    a = results.get("bar_accounted")
    if a is not None:
        lines.append(
            f"| progress bar, accounted: its hooks on the training thread"
            f" ({a['hooks_share']:.2%} of the fit) + Rich's refresh thread"
            f" ({a['refresh_thread_share']:.2%}); once a fit, starting and stopping its display"
            f" {a['setup_teardown_s']:.2f} s | {a['share']:.2%} | | | ≤ {a['target_share']:.0%} |"
        )
    b = results.get("breakdown_s")
    if b is None:
        return "\n".join(lines)
    lines += ["", "| phase of a 1-epoch default command (median) | seconds |", "|---|---|"]
    lines += [f"| {key} | {value:.2f} |" for key, value in b.items()]
    return "\n".join(lines)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--reps", type=int, default=3)
    parser.add_argument("--epochs", type=int, default=6, help="N in (wall(N) - wall(1)) / (N - 1)")
    parser.add_argument("--quick", action="store_true", help="2 repetitions, 3 epochs")
    parser.add_argument("--json", type=Path, default=ROOT / "benchmarks" / "results-command.json")
    parser.add_argument("--code", type=Path, default=ROOT, help="another checkout's src.train")
    args = parser.parse_args()
    reps, epochs = (2, 3) if args.quick else (args.reps, args.epochs)
    results = bench(reps, epochs, args.code.resolve())
    args.json.write_text(json.dumps(results, indent=2))
    print(markdown(results))


if __name__ == "__main__":
    main()
