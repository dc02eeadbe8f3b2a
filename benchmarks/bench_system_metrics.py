"""What MLflow's system metrics cost a training epoch (`python -m benchmarks.bench_system_metrics`,
part of `invoke bench`).

Rows (A/B alternating in this one process, the order swapped every pair, so the machine's drift
hits both sides alike; median and min-max over the pairs):

  1. training epochs of the default model on real MNIST inside a tracked run with system metrics
     at the default interval vs off: the ratio of the training time of epochs 2..N of each fit
     (validation and the run's opening and closing excluded), and the sampling thread's own CPU
     time over those fits (read from its thread CPU clock) as a share of their wall time;
  2. the same at the shortest interval allowed, 0.1 s: 50 times the default's sampling, so that
     a cost this machine's noise would hide at the default shows, and scales back to it
     (cost at the default = cost at 0.1 s x 0.1 / interval), with the upper end of the 95%
     Student t interval of the pairs' mean ratio scaled the same way;
  3. one sample's own wall and CPU time (psutil reads plus its write to the store, what the
     sampling thread does each interval), and that as a share of the default interval: the bound.

`--batches N` times N steps an epoch instead of all 430, where a loaded machine makes full epochs
take minutes.
"""

from __future__ import annotations

import argparse
import json
import statistics
import tempfile
import time
from pathlib import Path

import lightning.pytorch as L

from benchmarks.bar_cost import threads_cpu_s
from benchmarks.bench_training import EpochTimer, machine, prepared_datamodule, summarise
from src.config.parsing import parse_train_config
from src.config.tracking import MlflowConfig
from src.stats.intervals import t_interval
from src.tracking.logger import MlflowRunLogger
from src.tracking.runs import tracked_run
from src.tracking.store import ensure_experiment, use_store
from src.tracking.system_metrics import THREAD_NAME
from src.training import build

ROOT = Path(__file__).resolve().parents[1]
TARGET = 1.01  # at most 1% of an epoch
DEFAULT_S = MlflowConfig().system_metrics_interval_s
FREQUENT_S = 0.1  # the shortest interval mlflow.system_metrics_interval_s accepts


class SamplerClock(L.Callback):
    """The sampling thread's CPU seconds from the fit's start to its end (its thread CPU clock);
    the last sample, taken as the run closes, falls outside."""

    def __init__(self) -> None:
        self.cpu_s = 0.0

    @staticmethod
    def _read() -> float:
        return threads_cpu_s(lambda t: t.name == THREAD_NAME)

    def on_fit_start(self, trainer, pl_module) -> None:
        self._started = self._read()

    def on_fit_end(self, trainer, pl_module) -> None:
        self.cpu_s = self._read() - self._started


def fit_seconds(
    datamodule, client, experiment_id: str, interval_s, seed: int, epochs: int, extra=()
) -> tuple[float, float, float]:
    """Training seconds of epochs 2..N of one default-model fit in a tracked run, the sampling
    thread's CPU seconds during the fit, and the fit's wall seconds."""
    cfg = parse_train_config([
        f"--seed={seed}", f"--trainer.max_epochs={epochs}", "--trainer.limit_val_batches=0",
        "--trainer.accelerator=cpu", "--trainer.enable_progress_bar=false",
        "--early_stopping.enabled=false", *extra,
    ])  # fmt: skip
    L.seed_everything(seed, verbose=False)
    module = build.build_model(cfg, datamodule)
    timer, sampler = EpochTimer(), SamplerClock()
    with tracked_run(experiment_id, system_metrics_s=interval_s) as run:
        logger = MlflowRunLogger(client, run.info.run_id)
        with tempfile.TemporaryDirectory() as ckpt:
            trainer = build.build_trainer(cfg, logger, Path(ckpt), [timer, sampler])
            started = time.perf_counter()
            trainer.fit(module, datamodule=datamodule)
            wall_s = time.perf_counter() - started
    return sum(timer.train_s[1:]), sampler.cpu_s, wall_s


def bench_epochs(
    datamodule, client, experiment_id, interval_s: float, reps: int, epochs: int, extra=()
) -> dict:
    """`extra`: more overrides for every fit (a shorter epoch on a loaded machine)."""
    on, off, sampler_cpu_s, fit_wall_s = [], [], [], []
    for rep in range(reps):
        sides = [(interval_s, on), (None, off)]
        for interval, times in sides if rep % 2 else sides[::-1]:
            seconds, cpu_s, wall_s = fit_seconds(
                datamodule, client, experiment_id, interval, rep, epochs, extra
            )
            times.append(seconds)
            if interval is not None:
                sampler_cpu_s.append(cpu_s)
                fit_wall_s.append(wall_s)
    name = f"training epochs, system metrics every {interval_s:g} s vs off"
    row = summarise(name, on, off)
    row["interval_s"] = interval_s
    row["sampler_cpu_share"] = sum(sampler_cpu_s) / sum(fit_wall_s)  # of one core, over the fits
    row["ratios"] = [a / b for a, b in zip(on, off, strict=True)]
    row["scaled_to_default"] = (row["ratio_median"] - 1) * interval_s / DEFAULT_S
    spread = t_interval(row["ratios"])  # the pairs' mean ratio, 95% Student t interval
    if spread.high is not None:
        row["ratio_t95"] = [spread.low, spread.high]
        row["scaled_high"] = (spread.high - 1) * interval_s / DEFAULT_S
    return row


def bench_one_sample(client, experiment_id: str, samples: int) -> dict:
    """Wall and CPU time of what the sampling thread does each interval, into a real run: the
    CPU time is what it can take from training; the wall time also waits on the store."""
    from mlflow.system_metrics.system_metrics_monitor import SystemMetricsMonitor

    run = client.create_run(experiment_id)
    monitor = SystemMetricsMonitor(run.info.run_id, tracking_uri=client.tracking_uri)
    seconds, cpu_seconds = [], []
    for _ in range(samples):
        started, cpu_started = time.perf_counter(), time.process_time()
        monitor.collect_metrics()
        monitor.publish_metrics(monitor.aggregate_metrics())
        monitor.mlflow_logger.flush()  # the write itself, which the logger may batch
        seconds.append(time.perf_counter() - started)
        cpu_seconds.append(time.process_time() - cpu_started)
    client.set_terminated(run.info.run_id)
    median, cpu = statistics.median(seconds), statistics.median(cpu_seconds)
    return {
        "name": "one sample (psutil reads + its write to the store)",
        "median_s": median,
        "range_s": [min(seconds), max(seconds)],
        "cpu_median_s": cpu,
        "cpu_range_s": [min(cpu_seconds), max(cpu_seconds)],
        "share_of_default_interval": median / DEFAULT_S,
        "cpu_share_of_default_interval": cpu / DEFAULT_S,
    }


def scaled(row: dict) -> str:
    """The cost scaled to the default interval, with the upper end of its 95% t interval; the
    default's own row is its ratio already."""
    if row["interval_s"] == DEFAULT_S:
        return ""
    high = row.get("scaled_high")
    bound = "" if high is None else f" (95% t interval up to {high:+.3%})"
    return f"{row['scaled_to_default']:+.3%}{bound}"


def markdown(results: dict) -> str:
    rows = [
        "| benchmark | on | off | ratio (median, range) | sampling thread's CPU, share of the"
        " fit's wall | cost scaled to the default interval | target |",
        "|---|---|---|---|---|---|---|",
    ]
    for key in ("default", "frequent"):
        r = results.get(key)
        if r:
            rows.append(
                f"| {r['name']} | {r['ours_median_s']:.2f} s | {r['theirs_median_s']:.2f} s | "
                f"{r['ratio_median']:.3f} ({r['ratio_range'][0]:.3f}–{r['ratio_range'][1]:.3f}) "
                f"| {r['sampler_cpu_share']:.3%} | {scaled(r)} | ≤ {TARGET:.2f}× |"
            )
    s = results.get("sample")
    if s:
        for kind, key in (("wall", ""), ("CPU", "cpu_")):
            low, high = (v * 1000 for v in s[f"{key}range_s"])
            rows.append(
                f"| {s['name']}, {kind} | {s[f'{key}median_s'] * 1000:.1f} ms ({low:.1f}–"
                f"{high:.1f}) | | | | {s[f'{key}share_of_default_interval']:.2%} of"
                f" {DEFAULT_S:g} s | ≤ 1% |"
            )
    return "\n".join(rows)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--reps", type=int, default=6, help="A/B pairs per row")
    parser.add_argument("--epochs", type=int, default=4, help="per fit; the first is not timed")
    parser.add_argument("--quick", action="store_true", help="2 pairs of 2-epoch fits")
    parser.add_argument("--batches", type=int, default=None, help="per epoch (default: all 430)")
    parser.add_argument("--only", choices=["default", "frequent"], default=None)
    parser.add_argument("--json", type=Path, default=ROOT / "benchmarks" / "results-system.json")
    args = parser.parse_args()
    reps, epochs = (2, 2) if args.quick else (args.reps, args.epochs)
    datamodule = prepared_datamodule()
    results: dict = {"machine": machine()}
    with tempfile.TemporaryDirectory() as store:
        client = use_store(f"sqlite:///{store}/mlflow.db")
        experiment_id = ensure_experiment(client, "bench-system-metrics")
        extra = [f"--trainer.limit_train_batches={args.batches}"] if args.batches else []
        for key, interval_s in (("default", DEFAULT_S), ("frequent", FREQUENT_S)):
            if args.only in (None, key):
                results[key] = bench_epochs(
                    datamodule, client, experiment_id, interval_s, reps, epochs, extra
                )
        results["sample"] = bench_one_sample(client, experiment_id, samples=20)
    args.json.write_text(json.dumps(results, indent=2))
    print(json.dumps(results["machine"]))
    print(markdown(results))


if __name__ == "__main__":
    main()
