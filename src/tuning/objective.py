"""The objective of a study, as a sentence: sample the search space -> build the trial's training
config -> fit (no test set) -> return the best validation accuracy (and, for a multi-objective
study, the parameter count or latency). With `repeats`, fit is K members and the accuracy their
mean."""

from __future__ import annotations

import dataclasses
from collections.abc import Callable

from src.config.dotted import with_values
from src.config.parsing import parse_train_config
from src.config.train import TrainConfig
from src.config.tune import TuneConfig
from src.training.run import run_training
from src.tuning.constraints import needs_latency, record_constraints
from src.tuning.monitor import TrialMonitor
from src.tuning.repeats import run_trial_group
from src.tuning.search import sample
from src.tuning.trials import trial_tags


def make_objective(
    cfg: TuneConfig, processes_sharing_cpu: int = 1, deadline: float | None = None
) -> Callable:
    def objective(trial) -> float | list[float]:
        values = sample(trial, cfg.search_space)
        train_cfg = trial_train_config(cfg, values, trial.number)
        if cfg.repeats.count:  # K members, each one step (src/tuning/repeats.py)
            return run_trial_group(cfg, trial, train_cfg, deadline, processes_sharing_cpu)
        monitor = TrialMonitor(
            trial,
            prune=not cfg.multi_objective,
            measure_latency=needs_latency(cfg),
            deadline=deadline,
        )
        result = run_training(
            train_cfg,
            extra_callbacks=[monitor],
            nested=True,
            run_test=False,
            tags=trial_tags(cfg, trial),
            processes_sharing_cpu=processes_sharing_cpu,
        )
        trial.set_user_attr("epochs", result.epochs)
        record_constraints(trial, cfg, monitor)  # pruned trials too: they finished, measured
        monitor.raise_if_stopped()  # pruned, or a nan loss
        return objective_values(cfg, result, monitor)

    return objective


def objective_values(cfg: TuneConfig, result, monitor) -> float | list[float]:
    """The best val/acc over the trial's epochs (never the last epoch's, never the test set's),
    then param_count or latency_ms in a multi-objective study."""
    if result.best_val_acc is None:
        raise RuntimeError("no val/acc was measured: check trainer.limit_val_batches")
    measured = {
        "val_acc": result.best_val_acc,
        "param_count": float(monitor.param_count),
        "latency_ms": monitor.latency_ms,
    }
    values = [measured[name] for name in cfg.objectives]
    return values if cfg.multi_objective else values[0]


def trial_train_config(cfg: TuneConfig, values: dict, number: int) -> TrainConfig:
    """Base config + sampled values, validated by the training schema (ConfigError fails the
    trial, with the key in the reason). Trials log no model (the best config is retrained) and
    draw figures only with `trial_plots`."""
    trial_values = {
        **values,
        "mlflow.run_name": f"{cfg.study_name}-trial-{number}",
        "mlflow.log_model": False,
        "mlflow.log_plots": cfg.trial_plots,
    }
    return parse_train_config(with_values(dataclasses.asdict(cfg.train), trial_values))
