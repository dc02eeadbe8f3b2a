"""One invocation of a study: its MLflow parent run, the workers, the results and summary, and,
when asked, the best config retrained with a test-set evaluation."""

from __future__ import annotations

import time
from collections import Counter
from pathlib import Path

from mlflow.entities import Metric

from src.config.enqueue import resolve_enqueue
from src.config.parsing import parse_train_config
from src.config.tune import TuneConfig
from src.tracking.runs import tracked_run
from src.tracking.store import ensure_experiment, resolve_tracking_uri, use_store
from src.tracking.system_metrics import sampling_interval
from src.training.report import print_training_summary
from src.training.run import run_training
from src.tuning import results
from src.tuning.enqueue import enqueue_trials
from src.tuning.repeated_best import retrain_best_group
from src.tuning.samplers import sampler_notes
from src.tuning.search import check_against_schema
from src.tuning.stopping import stop_reason
from src.tuning.storage import locate
from src.tuning.trials import quiet_expected_failures
from src.tuning.workers import open_study, run_workers


def run_study(cfg: TuneConfig, argv: list[str], debug: bool = False) -> results.StudySummary:
    """Run the study's trials under one parent run, then export, log and print its results.

    `argv`: the invocation's words, for the printed resume command.
    """
    check_against_schema(cfg.train, cfg.search_space)  # before any store, study or worker
    enqueued = resolve_enqueue(cfg.enqueue, cfg.search_space)  # names a bad entry, exit 2
    quiet_expected_failures(debug)
    uri = resolve_tracking_uri(cfg.train.mlflow.tracking_uri)
    location = locate(cfg.storage, uri)
    if cfg.multi_objective and cfg.pruner.name != "none":
        print(f"note: pruner {cfg.pruner.name} is off: Optuna prunes single-objective studies only")
    for note in sampler_notes(cfg):
        print(note)
    # Fail fast on a bad storage, before any worker starts; the warm-start trials go first.
    enqueue_trials(open_study(cfg, location), enqueued)
    client = use_store(uri)
    experiment_id = ensure_experiment(client, cfg.train.mlflow.experiment_name)
    deadline = time.time() + cfg.timeout if cfg.timeout else None
    tags = {"role": "study", "study_name": cfg.study_name, "storage": location.display}
    metrics_s = sampling_interval(cfg.train.mlflow)  # the machine while the trials run
    with tracked_run(
        experiment_id, f"study-{cfg.study_name}", tags=tags, system_metrics_s=metrics_s
    ) as parent:
        parent_run_id = parent.info.run_id
        results.log_study_settings(client, parent_run_id, cfg, location)
        run_workers(cfg, location, parent_run_id, deadline, debug)
        study = open_study(cfg, location)
        reason = stop_reason(study, cfg)
        if reason is not None:
            print(f"stopped: {reason}")
        summary = results.finish(study, cfg, location, client, parent_run_id, argv, reason)
        raise_if_all_failed(study, parent_run_id)  # the parent run then ends FAILED
        if cfg.retrain_best and summary.best_config_path is not None:
            retrain = retrain_best_group if cfg.repeats.count else retrain_best
            retrain(summary.best_config_path, cfg, client, parent_run_id)
    return summary


class StudyFailed(Exception):
    """Every trial this invocation ran failed: nothing was learned, so the command fails."""


def raise_if_all_failed(study, parent_run_id: str) -> None:
    """StudyFailed, with the fail reasons counted, when this invocation ran trials and none of
    them completed or was pruned (trials of earlier invocations do not count)."""
    from optuna.trial import TrialState

    mine = [
        t
        for t in study.get_trials(deepcopy=False)
        if t.user_attrs.get("mlflow_parent_run_id") == parent_run_id
        and not t.user_attrs.get("surplus")
    ]
    if not mine or any(t.state in (TrialState.COMPLETE, TrialState.PRUNED) for t in mine):
        return
    reasons = Counter(str(t.user_attrs.get("fail_reason") or t.state.name)[:160] for t in mine)
    counted = "; ".join(f"{n}x {reason}" for reason, n in reasons.most_common())
    raise StudyFailed(f"all {len(mine)} trials of this invocation failed: {counted}")


def retrain_best(path: Path, cfg: TuneConfig, client, parent_run_id: str) -> None:
    """Train the exported best config, as `python -m src.train --config` would, and test it."""
    register = [f"--mlflow.register_model={cfg.register_model}"] if cfg.register_model else []
    train_cfg = parse_train_config(["--config", str(path), "--mlflow.log_model=true", *register])
    tags = {"role": "retrain_best", "study_name": cfg.study_name}
    result = run_training(train_cfg, nested=True, tags=tags)
    print_training_summary(result)
    test_acc = result.test_metrics.get("test/acc")
    if test_acc is not None:
        now = int(time.time() * 1000)
        client.log_batch(parent_run_id, metrics=[Metric("retrain_best/test_acc", test_acc, now, 0)])
        print(f"best config retrained: test/acc {test_acc:.4f} (MLflow run {result.run_id})")
