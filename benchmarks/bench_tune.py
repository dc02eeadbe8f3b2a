"""Tuning benchmarks: `python -m benchmarks.bench_tune` (part of `invoke bench`).

Every arm is the real command, `python -m src.tune --config <study>.yaml`, on real MNIST, with its
own journal, MLflow store and checkpoints in a scratch folder; numbers are read back from the
study afterwards.

  1. Pruning: the same trials (random sampler, same seed, so the same configs in the same order)
     without a pruner and with each pruner asked for (default: the default study's), with that
     pruner's settings from configs/tune/default.yaml; total epochs run and best validation
     accuracy. Target: pruning runs <= half the epochs for the same best val acc (+-0.1 point).
  2. Workers: the same study with --n-jobs 1 and 2 (equal-cost trials: fixed network, early
     stopping off, no pruning); finished trials per hour, from the first trial's start to the
     last one's end. Target: 2 workers >= 1.6x the trials per hour of 1 on 2 vCPUs.
  3. Per-trial overhead: the default study as it is (its sampler, pruner and trials), one worker;
     for each trial but the last, the next trial's start minus this trial's start minus its fit
     (time/fit_s on its MLflow run): everything a trial costs beyond training and validating,
     Optuna's sampling and bookkeeping included. Target: <= 0.5 s (median).

--quick shrinks both (fewer trials, a quarter of each epoch's batches) to check the wiring.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import yaml

ROOT = Path(__file__).resolve().parents[1]
DEFAULT_STUDY = ROOT / "configs" / "tune" / "default.yaml"
TARGETS = {
    "pruning_epoch_ratio": 0.5,
    "pruning_acc_delta_points": 0.1,
    "workers_speedup": 1.6,
    "trial_overhead_s": 0.5,
}


def default_study() -> dict[str, Any]:
    """configs/tune/default.yaml as a dict: a fresh copy each call, for the caller to change."""
    return yaml.safe_load(DEFAULT_STUDY.read_text())


def study_config(name: str, workdir: Path, quick: bool, **changes: Any) -> dict[str, Any]:
    """configs/tune/default.yaml with a random sampler, its own storage, and `changes`."""
    config = default_study()
    config.update(
        study_name=name,
        storage=str(workdir / "journal.log"),
        best_config_dir=str(workdir / "best"),
        sampler={"name": "random", "seed": 0},
        timeout=None,
    )
    train = config["train"]
    train["checkpoint_dir"] = str(workdir / "checkpoints")
    if quick:
        train["trainer"]["limit_train_batches"] = 0.25
        config["pruner"].update(n_startup_trials=2)
    for key, value in changes.items():
        section, _, leaf = key.rpartition(".")
        node = config
        for part in filter(None, section.split(".")):
            node = node.setdefault(part, {})
        node[leaf] = value
    return config


def run_study(config: dict[str, Any], workdir: Path, code: Path = ROOT) -> dict[str, Any]:
    """Run `python -m src.tune` of the checkout `code` on the config; the study's numbers."""
    import optuna
    from optuna.storages import JournalStorage
    from optuna.storages.journal import JournalFileBackend
    from optuna.trial import TrialState

    name = config["study_name"]
    path = workdir / f"{name}.yaml"
    path.write_text(yaml.safe_dump(config, sort_keys=False))
    log = workdir / f"{name}.log"
    env = {**os.environ, "MLFLOW_TRACKING_URI": f"sqlite:///{workdir / 'mlflow.db'}"}
    started = time.perf_counter()
    with log.open("w") as out:
        done = subprocess.run(
            [sys.executable, "-m", "src.tune", "--config", str(path)],
            cwd=code,
            env=env,
            stdout=out,
            stderr=subprocess.STDOUT,
        )
    wall_s = time.perf_counter() - started
    if done.returncode != 0:
        raise SystemExit(f"study {name} failed (exit {done.returncode}); its output: {log}")
    storage = JournalStorage(JournalFileBackend(config["storage"]))
    trials = optuna.load_study(study_name=name, storage=storage).trials
    finished = [t for t in trials if t.state in (TrialState.COMPLETE, TrialState.PRUNED)]
    complete = [t for t in finished if t.state == TrialState.COMPLETE]
    span_s = max(t.datetime_complete for t in finished) - min(t.datetime_start for t in finished)
    return {
        "study": name,
        "complete": len(complete),
        "pruned": len(finished) - len(complete),
        "epochs": sum(int(t.user_attrs.get("epochs", 0)) for t in trials),
        "best_val_acc": max(t.value for t in complete),
        "wall_s": round(wall_s, 1),
        "trials_per_hour": round(len(finished) / span_s.total_seconds() * 3600, 1),
    }


def pruning(workdir: Path, quick: bool, n_trials: int, pruners: list[str]) -> dict[str, Any]:
    arms = {}
    for pruner in ("none", *pruners):
        config = study_config(f"bench-pruning-{pruner}", workdir, quick, n_trials=n_trials)
        config["pruner"]["name"] = pruner
        arms[pruner] = run_study(config, workdir)
    verdicts = {}
    for pruner in pruners:
        ratio = arms[pruner]["epochs"] / arms["none"]["epochs"]
        delta = (arms[pruner]["best_val_acc"] - arms["none"]["best_val_acc"]) * 100
        met = (
            ratio <= TARGETS["pruning_epoch_ratio"]
            and abs(delta) <= TARGETS["pruning_acc_delta_points"]
        )
        verdicts[pruner] = {
            "epoch_ratio": round(ratio, 3),
            "acc_delta_points": round(delta, 2),
            "met": met,
        }
    return {"arms": arms, "verdicts": verdicts}


def workers(workdir: Path, quick: bool, n_trials: int) -> dict[str, Any]:
    arms = {}
    for n_jobs in (1, 2):
        config = study_config(
            f"bench-workers-{n_jobs}",
            workdir,
            quick,
            n_trials=n_trials,
            n_jobs=n_jobs,
            search_space={
                "optimizer.lr": {"low": 3.0e-4, "high": 3.0e-3, "log": True},
                "model.dropout": {"low": 0.0, "high": 0.5},
            },
            **{
                "pruner.name": "none",
                "train.model.hidden_dims": [512, 256],
                "train.trainer.max_epochs": 2 if quick else 3,
                "train.early_stopping.enabled": False,
            },
        )
        arms[str(n_jobs)] = run_study(config, workdir)
    speedup = arms["2"]["trials_per_hour"] / arms["1"]["trials_per_hour"]
    return {
        "arms": arms,
        "speedup": round(speedup, 2),
        "met": speedup >= TARGETS["workers_speedup"],
    }


def overhead(workdir: Path, quick: bool, n_trials: int, code: Path = ROOT) -> dict[str, Any]:
    """Seconds each trial of the default study spends beyond its fit (see the module doc), with
    the checkout `code`'s src.tune (an earlier commit's, to compare)."""
    import optuna
    from mlflow.tracking import MlflowClient
    from optuna.storages import JournalStorage
    from optuna.storages.journal import JournalFileBackend

    config = study_config("bench-overhead", workdir, quick, n_trials=n_trials)
    config["sampler"] = default_study()["sampler"]  # the default study's own (tpe), not random
    arm = run_study(config, workdir, code)
    storage = JournalStorage(JournalFileBackend(config["storage"]))
    trials = sorted(
        optuna.load_study(study_name=config["study_name"], storage=storage).trials,
        key=lambda t: t.datetime_start,
    )
    client = MlflowClient(f"sqlite:///{workdir / 'mlflow.db'}")
    fit_s = {}
    for trial in trials:
        run = client.get_run(trial.user_attrs["mlflow_run_id"])
        fit_s[trial.number] = run.data.metrics["time/fit_s"]
    per_trial = [
        (after.datetime_start - trial.datetime_start).total_seconds() - fit_s[trial.number]
        for trial, after in zip(trials, trials[1:], strict=False)
    ]
    return {
        "arm": arm,
        "overhead_s": [round(s, 3) for s in per_trial],
        "median_s": round(statistics.median(per_trial), 3),
        "range_s": [round(min(per_trial), 3), round(max(per_trial), 3)],
        "fit_median_s": round(statistics.median(fit_s.values()), 3),
        "met": statistics.median(per_trial) <= TARGETS["trial_overhead_s"],
    }


def markdown(results: dict[str, Any]) -> str:
    lines = [
        "| arm | complete | pruned | epochs | best val acc | trials/h | wall (s) |",
        "|---|---:|---:|---:|---:|---:|---:|",
    ]
    for part, label in (("pruning", "pruner {}"), ("workers", "{} worker(s)")):
        for arm, r in results.get(part, {}).get("arms", {}).items():
            lines.append(
                f"| {label.format(arm)} | {r['complete']} | {r['pruned']} | {r['epochs']} | "
                f"{r['best_val_acc']:.4f} | {r['trials_per_hour']} | {r['wall_s']} |"
            )
    for pruner, p in results.get("pruning", {}).get("verdicts", {}).items():
        lines.append(
            f"\nPruner {pruner}: {p['epoch_ratio']:.0%} of the epochs, best val acc "
            f"{p['acc_delta_points']:+.2f} points (target <= 50%, +-0.1): "
            f"{'met' if p['met'] else 'NOT met'}."
        )
    if "workers" in results:
        w = results["workers"]
        lines.append(
            f"\nWorkers: 2 give {w['speedup']}x the finished trials per hour of 1 "
            f"(target >= 1.6x): {'met' if w['met'] else 'NOT met'}."
        )
    if "overhead" in results:
        o = results["overhead"]
        lines.append(
            f"\nPer-trial overhead (trial start to next trial start, minus its fit), "
            f"{len(o['overhead_s'])} trials: median {o['median_s']:.2f} s "
            f"(range {o['range_s'][0]:.2f}-{o['range_s'][1]:.2f}; fits {o['fit_median_s']:.1f} s) "
            f"(target <= {TARGETS['trial_overhead_s']} s): {'met' if o['met'] else 'NOT met'}."
        )
    return "\n".join(lines)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--quick", action="store_true", help="a few small trials per arm")
    parser.add_argument(
        "--only", choices=["pruning", "workers", "overhead"], help="run one comparison"
    )
    parser.add_argument("--pruning-trials", type=int, help="trials per pruning arm (30; quick 8)")
    parser.add_argument(
        "--pruners",
        nargs="+",
        choices=["median", "hyperband", "successive_halving"],
        help="pruners compared with none (default: the default study's)",
    )
    parser.add_argument("--worker-trials", type=int, help="trials per worker arm (12; quick 4)")
    parser.add_argument(
        "--overhead-trials", type=int, help="trials of the overhead arm (the study's 30; quick 8)"
    )
    parser.add_argument(
        "--json", type=Path, default=ROOT / "benchmarks" / "results-tune.json", help="results file"
    )
    parser.add_argument("--keep", action="store_true", help="keep the scratch folder")
    parser.add_argument("--code", type=Path, default=ROOT, help="the overhead arm's checkout")
    args = parser.parse_args()
    from src.runtime.threads import usable_cpus

    workdir = Path(tempfile.mkdtemp(prefix="bench-tune-"))
    results: dict[str, Any] = {
        "machine": {
            "cpus": os.cpu_count(),
            "usable_cpus": usable_cpus(),
            "python": platform.python_version(),
            "platform": platform.platform(),
        },
        "quick": args.quick,
        "targets": TARGETS,
    }
    try:
        if args.only in (None, "pruning"):
            n = args.pruning_trials or (8 if args.quick else 30)
            pruners = args.pruners or [default_study()["pruner"]["name"]]
            results["pruning"] = pruning(workdir, args.quick, n, pruners)
        if args.only in (None, "workers"):
            n = args.worker_trials or (4 if args.quick else 12)
            results["workers"] = workers(workdir, args.quick, n)
        if args.only in (None, "overhead"):
            n = args.overhead_trials or (8 if args.quick else None)
            results["overhead"] = overhead(
                workdir, args.quick, n or int(default_study()["n_trials"]), args.code.resolve()
            )
    finally:
        if args.keep:
            print(f"scratch folder kept: {workdir}", file=sys.stderr)
        else:
            shutil.rmtree(workdir, ignore_errors=True)
    args.json.parent.mkdir(parents=True, exist_ok=True)
    args.json.write_text(json.dumps(results, indent=2, default=str) + "\n")
    print(markdown(results))
    print(f"\n(JSON: {args.json})")


if __name__ == "__main__":
    main()
