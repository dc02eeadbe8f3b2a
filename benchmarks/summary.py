"""The speed table of README.md: each benchmark's headline ratio against its target, read from
the JSON files the benchmarks wrote, with the machine they ran on (`invoke bench` ends with it).

  python -m benchmarks.summary            # after invoke bench [--quick]
  python -m benchmarks.summary --since T  # only the results written after T (seconds since 1970)
"""

from __future__ import annotations

import argparse
import json
import os
import platform
from collections.abc import Iterator
from datetime import date
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
RESULTS = {
    name: ROOT / "benchmarks" / f"results-{name}.json"
    for name in ("training", "system", "command", "tune")
}


def machine_line() -> str:
    import lightning
    import torch

    cpu = platform.processor() or platform.machine()
    try:
        names = [
            line.split(":", 1)[1].strip()
            for line in Path("/proc/cpuinfo").read_text().splitlines()
            if line.startswith("model name")
        ]
        cpu = names[0] if names else cpu
    except OSError:
        pass
    load = os.getloadavg()[0] if hasattr(os, "getloadavg") else float("nan")
    return (
        f"{date.today().isoformat()}, {os.cpu_count()} vCPUs ({cpu}), load average {load:.1f} at"
        f" the end, torch {torch.__version__}, Lightning {lightning.__version__}"
    )


def verdict(value: float, target: float, at_most: bool = True) -> str:
    met = value <= target if at_most else value >= target
    return "✔" if met else "✘"


def ratio(r: dict) -> str:
    return f"{r['median']:.2f}× ({r['range'][0]:.2f}–{r['range'][1]:.2f})"


def training_rows(results: dict) -> Iterator[tuple[str, str, str]]:
    r = results.get("raw")
    if r:
        low, high = r["ratio_range"]
        yield (
            "training epoch, in one process, vs a hand-written PyTorch loop with the same fused"
            " Adam (bar off, no validation, no checkpoints, no logging)",
            f"{r['ratio_median']:.2f}× ({low:.2f}–{high:.2f})",
            f"≤ 1.10× {verdict(r['ratio_median'], 1.10)}",
        )
    r = results.get("mlflow")
    if r:
        low, high = r["ratio_range"]
        yield (
            "MLflow logging on vs off, in one process (3 epochs with validation)",
            f"{r['ratio_median']:.2f}× ({low:.2f}–{high:.2f})",
            f"≤ 1.03× {verdict(r['ratio_median'], 1.03)}",
        )


def system_rows(results: dict) -> Iterator[tuple[str, str, str]]:
    default, frequent = results.get("default"), results.get("frequent")
    if not (default and frequent):
        return
    cost = frequent["scaled_to_default"]  # the median, as every row here
    top = frequent.get("scaled_high", cost)  # the top of its 95% t interval, for the reader
    share = default["sampler_cpu_share"]
    yield (
        f"MLflow system metrics every {default['interval_s']:g} s: the sampling thread's CPU,"
        f" share of the fit; epochs with sampling every {frequent['interval_s']:g} s vs off,"
        f" that cost scaled to every {default['interval_s']:g} s",
        f"thread {share:.2%}; {frequent['ratio_median']:.3f}×, scaled"
        f" {cost:+.2%} (95% t up to {top:+.2%})",
        f"≤ 1% {verdict(max(cost, share), 0.01)}",
    )


def command_rows(results: dict) -> Iterator[tuple[str, str, str]]:
    from benchmarks.bench_command import WALL_DIFFERENCE

    quick = results.get("epochs", 0) <= 3
    rows = {row["name"]: row for row in results.get("rows", [])}
    for name, row in rows.items():
        if quick and row.get("method") == WALL_DIFFERENCE:
            continue  # noise at 3 epochs: the full run's rows are in benchmarks/README.md
        epochs = row.get("epochs", results["epochs"])
        plural = "s" if epochs != 1 else ""
        label = f"{name} (whole processes, {epochs} epoch{plural}, {results['reps']} repetitions)"
        if name.startswith("progress bar in one process"):
            label = name
        target = row["target"]
        yield (
            label,
            ratio(row["ratio"]),
            "– (a factor of the default-vs-raw side-by-side row)"
            if target is None
            else f"≤ {target:.2f}× {verdict(row['ratio']['median'], target)}",
        )
    a = results.get("bar_accounted")
    if a:
        yield (
            "progress bar, accounted: its hooks plus Rich's refresh thread, share of the fit",
            f"{a['share']:.2%}",
            f"≤ {a['target_share']:.0%} {verdict(a['share'], a['target_share'])}",
        )


def tune_rows(results: dict) -> Iterator[tuple[str, str, str]]:
    for pruner, p in results.get("pruning", {}).get("verdicts", {}).items():
        yield (
            f"tuning: {pruner} pruner, epochs run vs no pruning (best val acc kept ±0.1 point)",
            f"{p['epoch_ratio']:.0%} ({p['acc_delta_points']:+.2f} points)",
            f"≤ 50% {'✔' if p['met'] else '✘'}",
        )
    w = results.get("workers")
    if w:
        # --quick: 4 trials of a quarter epoch each, where the workers' start-up skew decides
        size = " (4 short trials: a wiring check)" if results.get("quick") else ""
        yield (
            f"tuning: 2 workers vs 1, finished trials per hour{size}",
            f"{w['speedup']:.2f}×",
            f"≥ 1.6× {'✔' if w['met'] else '✘'}",
        )
    o = results.get("overhead")
    if o:
        yield (
            f"tuning: per-trial overhead beyond the fit, default study ({len(o['overhead_s'])}"
            " trials)",
            f"{o['median_s']:.2f} s ({o['range_s'][0]:.2f}–{o['range_s'][1]:.2f})",
            f"≤ 0.5 s {'✔' if o['met'] else '✘'}",
        )


def table(since: float = 0.0) -> str:
    fresh = {k: p for k, p in RESULTS.items() if p.exists() and p.stat().st_mtime >= since}
    found = {k: json.loads(p.read_text()) for k, p in fresh.items()}
    quick = found.get("tune", {}).get("quick") or found.get("command", {}).get("reps") == 1
    lines = [
        f"Measured by `invoke bench{' --quick' if quick else ''}` on {machine_line()}.",
        "",
        "| what | measured (median, range) | target |",
        "|---|---|---|",
    ]
    makers = {"training": training_rows, "system": system_rows, "command": command_rows}
    makers["tune"] = tune_rows
    for key, make in makers.items():
        lines += [f"| {a} | {b} | {c} |" for a, b, c in make(found.get(key, {}))]
    missing = sorted(set(RESULTS) - set(found))
    if missing:
        lines.append(f"\n(not run: {', '.join(missing)})")
    return "\n".join(lines)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--since", type=float, default=0.0, help="ignore older result files")
    print(table(parser.parse_args().since))


if __name__ == "__main__":
    main()
