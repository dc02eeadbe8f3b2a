"""Sampler benchmark: `python -m benchmarks.bench_samplers` (`invoke bench --only samplers`).

Every study is the real command's code (`src.tune.main(["--config", <study>.yaml])`, in this
process so that 2 vCPUs spend the time on trials, not on imports) on real MNIST, with its own
journal file in a scratch folder and a scratch MLflow store; numbers are read back from the study.

  1. Pareto (configs/tune/pareto.yaml: val_acc vs param_count, its search space and 24 trials):
     the hypervolume of the front reached by tpe, nsga2 and gp at a fixed reference point, over
     3 sampler seeds. Objectives as minimized for the hypervolume: (1 - val_acc, log10 params),
     reference point (REFERENCE below): a front dominating more of that box is better.
  2. Single objective (configs/tune/default.yaml's search space): the best val_acc after 15 and
     after 30 trials for tpe, gp and random, over 3 sampler seeds.

A trial is cut down honestly to fit 2 shared vCPUs: 1 epoch on TRAIN_SHARE of the 55,000
training images, scored on the full 5,000-image validation split, no pruning, no early stopping
(see TRIAL), and without the three per-trial MLflow figures (learning curves, confusion matrix,
per-class accuracy: ~2 s of rendering per trial on a busy machine, with no effect on any value a
sampler sees). Both model-based samplers start from the same number of random trials as NSGA-II's
first generation (STARTUP). `--only pareto` and `--only single` can run side by side (separate
scratch folders). --quick shrinks trials and counts to check the wiring.
"""

from __future__ import annotations

import argparse
import json
import math
import os
import platform
import shutil
import statistics
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import yaml

ROOT = Path(__file__).resolve().parents[1]
PARETO_STUDY = ROOT / "configs" / "tune" / "pareto.yaml"
SINGLE_STUDY = ROOT / "configs" / "tune" / "default.yaml"
PARETO_SAMPLERS = ("tpe", "nsga2", "gp")
SINGLE_SAMPLERS = ("tpe", "gp", "random")
SEEDS = (0, 1, 2)
SINGLE_CHECKPOINTS = (15, 30)
# (1 - val_acc, log10 params): 40% accuracy, 2M parameters. A trial of 9 batches reaches 40-80%,
# so the box must reach down to 40% for most fronts to count at all.
REFERENCE = (0.6, math.log10(2e6))
STARTUP = 8  # pareto.yaml's population_size; default.yaml's n_startup_trials is 8 too
TRAIN_SHARE = 0.02  # 9 batches of 128 images
TRIAL = {
    "train.trainer.max_epochs": 1,
    "train.trainer.limit_train_batches": TRAIN_SHARE,
    "train.trainer.enable_progress_bar": False,
    "train.early_stopping.enabled": False,
    "pruner.name": "none",
    "timeout": None,
}


def study_config(base: Path, name: str, workdir: Path, sampler: str, seed: int, **changes) -> dict:
    """A study YAML of the project with this sampler and seed, the cut-down trial, and its own
    storage; `changes` are dotted keys (`n_trials=4`, `train.trainer.limit_train_batches=...`)."""
    config = yaml.safe_load(base.read_text())
    config.update(
        study_name=name,
        storage=str(workdir / f"{name}.log"),
        best_config_dir=str(workdir / "best"),
    )
    config["sampler"] = {
        "name": sampler,
        "seed": seed,
        "n_startup_trials": STARTUP,
        "population_size": STARTUP,
    }
    config["train"]["checkpoint_dir"] = str(workdir / "checkpoints")
    config["train"]["mlflow"] = {"experiment_name": "bench-samplers", "log_model": False}
    for key, value in {**TRIAL, **changes}.items():
        *sections, leaf = key.split(".")
        node = config
        for section in sections:
            node = node.setdefault(section, {})
        node[leaf] = value
    return config


def run_study(config: dict, workdir: Path):
    """src.tune's main on the config, its output to a log file; the finished optuna.Study."""
    import contextlib

    import mlflow
    import optuna
    from optuna.storages import JournalStorage
    from optuna.storages.journal import JournalFileBackend

    from src.tune import main

    mlflow.log_figure = lambda *args, **kwargs: None  # the per-trial figures (module docstring)
    name = config["study_name"]
    path = workdir / f"{name}.yaml"
    path.write_text(yaml.safe_dump(config, sort_keys=False))
    with (workdir / f"{name}.out").open("w") as out, contextlib.redirect_stdout(out):
        code = main(["--config", str(path)])
    if code != 0:
        raise SystemExit(f"study {name} exited {code}: see {workdir / f'{name}.out'}")
    storage = JournalStorage(JournalFileBackend(config["storage"]))
    return optuna.load_study(study_name=name, storage=storage)


def hypervolume(study) -> float:
    """The hypervolume of the study's (feasible) Pareto front in (1 - val_acc, log10 params),
    clipped to the reference box. Optuna 5 has no public numeric hypervolume (only the
    plot_hypervolume_history figure), so this uses its private `optuna._hypervolume`."""
    import numpy as np
    from optuna._hypervolume import compute_hypervolume

    points = [(1 - t.values[0], math.log10(t.values[1])) for t in study.best_trials]
    inside = [p for p in points if p[0] < REFERENCE[0] and p[1] < REFERENCE[1]]
    if not inside:
        return 0.0
    return float(compute_hypervolume(np.array(inside), np.array(REFERENCE)))


def best_after(study, n: int) -> float:
    """The best val_acc among the study's first n finished trials (by number): a failed trial
    (its worker killed) is retried, and only its retry counts."""
    from optuna.trial import TrialState

    finished = [t for t in study.trials if t.state in (TrialState.COMPLETE, TrialState.PRUNED)]
    values = [t.value for t in finished[:n] if t.state == TrialState.COMPLETE]
    return max(values) if values else float("nan")


def summarize(values: list[float]) -> dict[str, Any]:
    return {
        "values": [round(v, 6) for v in values],
        "median": round(statistics.median(values), 6),
        "min": round(min(values), 6),
        "max": round(max(values), 6),
    }


def pareto(workdir: Path, n_trials: int, seeds, changes: dict, save) -> dict[str, Any]:
    """Seed by seed, every sampler (so that a cut-short run still compares them all)."""
    part: dict[str, Any] = {"n_trials": n_trials, "reference_point": REFERENCE, "studies": []}
    for seed in seeds:
        for sampler in PARETO_SAMPLERS:
            name = f"pareto-{sampler}-{seed}"
            started = time.perf_counter()
            config = study_config(PARETO_STUDY, name, workdir, sampler, seed, **changes)
            study = run_study({**config, "n_trials": n_trials}, workdir)
            measured = {
                "sampler": sampler,
                "seed": seed,
                "hypervolume": hypervolume(study),
                "front_size": len(study.best_trials),
                "wall_s": round(time.perf_counter() - started, 1),
            }
            part["studies"].append(measured)
            part["arms"] = aggregate(part["studies"], ("hypervolume",))
            save(part)
            print(f"{name}: hypervolume {measured['hypervolume']:.4f}", flush=True)
    return part


def single(workdir: Path, checkpoints, seeds, changes: dict, save) -> dict[str, Any]:
    """Seed by seed, every sampler; the best val_acc after each checkpoint's trial count."""
    part: dict[str, Any] = {"checkpoints": list(checkpoints), "studies": []}
    keys = tuple(f"best_after_{n}" for n in checkpoints)
    for seed in seeds:
        for sampler in SINGLE_SAMPLERS:
            name = f"single-{sampler}-{seed}"
            started = time.perf_counter()
            config = study_config(SINGLE_STUDY, name, workdir, sampler, seed, **changes)
            study = run_study({**config, "n_trials": max(checkpoints)}, workdir)
            measured = {"sampler": sampler, "seed": seed}
            for key, n in zip(keys, checkpoints, strict=True):
                measured[key] = best_after(study, n)
            measured["wall_s"] = round(time.perf_counter() - started, 1)
            part["studies"].append(measured)
            part["arms"] = aggregate(part["studies"], keys)
            save(part)
            print(f"{name}: " + ", ".join(f"{k} {measured[k]:.4f}" for k in keys), flush=True)
    return part


def aggregate(studies: list[dict], keys: tuple[str, ...]) -> dict[str, Any]:
    """Per sampler: median and range of each measured key over the seeds run so far."""
    arms: dict[str, Any] = {}
    for sampler in dict.fromkeys(s["sampler"] for s in studies):
        mine = [s for s in studies if s["sampler"] == sampler]
        arms[sampler] = {key: summarize([s[key] for s in mine]) for key in keys}
        arms[sampler]["seeds"] = [s["seed"] for s in mine]
        arms[sampler]["wall_s"] = round(sum(s["wall_s"] for s in mine), 1)
    return arms


def markdown(results: dict[str, Any]) -> str:
    def cell(summary: dict[str, Any]) -> str:
        return f"{summary['median']:.4f} ({summary['min']:.4f}-{summary['max']:.4f})"

    lines = []
    if results.get("pareto", {}).get("arms"):
        p = results["pareto"]
        ref = p["reference_point"]
        lines += [
            f"Pareto, {p['n_trials']} trials; hypervolume of the front in (1 - val_acc, log10 "
            f"params) at the reference point ({ref[0]}, {ref[1]:.3f}):",
            "",
            "| sampler | hypervolume: median (range) | seeds | wall (s, all seeds) |",
            "|---|---:|---|---:|",
        ]
        for sampler, r in p["arms"].items():
            seeds = ", ".join(map(str, r["seeds"]))
            lines.append(f"| {sampler} | {cell(r['hypervolume'])} | {seeds} | {r['wall_s']:.0f} |")
        lines.append("")
    if results.get("single", {}).get("arms"):
        s = results["single"]
        header = " | ".join(f"best val_acc after {n}: median (range)" for n in s["checkpoints"])
        lines += [
            f"| sampler | {header} | seeds | wall (s, all seeds) |",
            "|---|" + "---:|" * len(s["checkpoints"]) + "---|---:|",
        ]
        for sampler, r in s["arms"].items():
            cells = [cell(r[f"best_after_{n}"]) for n in s["checkpoints"]]
            seeds = ", ".join(map(str, r["seeds"]))
            lines.append(f"| {sampler} | {' | '.join(cells)} | {seeds} | {r['wall_s']:.0f} |")
    return "\n".join(lines)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--quick", action="store_true", help="tiny trials and counts: the wiring")
    parser.add_argument("--only", choices=["pareto", "single"], help="run one comparison")
    parser.add_argument("--seeds", type=int, nargs="+", help=f"sampler seeds (default {SEEDS})")
    parser.add_argument(
        "--json",
        type=Path,
        default=ROOT / "benchmarks" / "results-samplers.json",
        help="results file, rewritten after every study (a cut-short run keeps what it measured)",
    )
    parser.add_argument(
        "--workdir",
        type=Path,
        help="scratch folder to use and keep; rerunning with it resumes the studies it holds",
    )
    parser.add_argument("--keep", action="store_true", help="keep the scratch folder")
    args = parser.parse_args()
    workdir = args.workdir or Path(tempfile.mkdtemp(prefix="bench-samplers-"))
    workdir.mkdir(parents=True, exist_ok=True)
    os.environ["MLFLOW_TRACKING_URI"] = f"sqlite:///{workdir / 'mlflow.db'}"  # never mlruns/
    quick = {"train.trainer.limit_train_batches": 0.01}
    changes = quick if args.quick else {}
    seeds = args.seeds or (SEEDS[:1] if args.quick else SEEDS)
    results: dict[str, Any] = {
        "machine": {
            "cpus": os.cpu_count(),
            "python": platform.python_version(),
            "omp_num_threads": os.environ.get("OMP_NUM_THREADS"),
        },
        "quick": args.quick,
        "trial": {**TRIAL, **changes, "startup_trials": STARTUP},
    }
    started = time.perf_counter()

    def save(part_name: str):
        def write(part: dict[str, Any]) -> None:
            results[part_name] = part
            results["wall_s"] = round(time.perf_counter() - started, 1)
            args.json.parent.mkdir(parents=True, exist_ok=True)
            args.json.write_text(json.dumps(results, indent=2, default=str) + "\n")

        return write

    try:
        if args.only in (None, "pareto"):
            pareto(workdir, 4 if args.quick else 24, seeds, changes, save("pareto"))
        if args.only in (None, "single"):
            checkpoints = (2, 4) if args.quick else SINGLE_CHECKPOINTS
            single(workdir, checkpoints, seeds, changes, save("single"))
    finally:
        if args.keep or args.workdir:
            print(f"scratch folder kept: {workdir}", file=sys.stderr)
        else:
            shutil.rmtree(workdir, ignore_errors=True)
    print(markdown(results))
    print(f"\n(total {results['wall_s']} s; JSON: {args.json})")


if __name__ == "__main__":
    main()
