"""Trials with `repeats`: each trial a group of K members (src/groups), the same K seeds or folds
for every trial so that members pair across trials; its objective is the mean of the members'
val/acc_best. Member i's value is reported to the trial as step i, for the Wilcoxon pruner to
compare with the best trial's member i."""

from __future__ import annotations

import dataclasses
import math
import statistics

import mlflow
import optuna

from src.config.train import TrainConfig
from src.config.tune import TuneConfig
from src.groups.members import Member, expand_members
from src.groups.runner import run_group
from src.tuning.monitor import TrialMonitor
from src.tuning.trials import trial_tags

MEMBER_VALUES_ATTR = "member_values"  # {"seed 3": 0.981, ...} on every trial with repeats


def trial_members(cfg: TuneConfig) -> list[Member]:
    """The members every trial (and the retrained best) has: seeds train.seed ... + K - 1, or
    folds 0 ... K - 1 with the base config's seed."""
    base = cfg.train.seed
    seeds = list(range(base, base + cfg.repeats.seeds)) if cfg.repeats.seeds else None
    return expand_members(seeds, cfg.repeats.folds, base)


def group_config(cfg: TuneConfig, train_cfg: TrainConfig) -> TrainConfig:
    """A trial's (or the best) training config as its group trains it: with repeats.folds = K,
    data.folds = K, each member validating on its own fold."""
    if not cfg.repeats.folds:
        return train_cfg
    return dataclasses.replace(
        train_cfg, data=dataclasses.replace(train_cfg.data, folds=cfg.repeats.folds)
    )


def group_flags(cfg: TuneConfig) -> str:
    """The `python -m src.train` flags that train the same members: " --seeds 3" (seeds count
    up from the config's seed, as here), " --folds 3", or ""."""
    if cfg.repeats.seeds:
        return f" --seeds {cfg.repeats.seeds}"
    return f" --folds {cfg.repeats.folds}" if cfg.repeats.folds else ""


def member_keys(cfg: TuneConfig) -> dict[str, tuple[int, int | None]]:
    """Member label -> (seed, fold): how the values stored on a trial pair with another's."""
    return {m.label: (m.seed, m.fold) for m in trial_members(cfg)}


class MemberMonitor(TrialMonitor):
    """A TrialMonitor for one member: it stops the member on a non-finite loss or the study's
    deadline, and never reports epochs (the trial's steps are its members). The trial's MLflow
    run is the group's parent, so that its final state is tagged there, not on a member."""

    def __init__(self, trial: optuna.Trial, deadline: float | None) -> None:
        # No latency: constraints with repeats are refused (src/config/tune.py).
        super().__init__(trial, prune=False, measure_latency=False, deadline=deadline)

    def on_fit_start(self, trainer, pl_module) -> None:
        super().on_fit_start(trainer, pl_module)
        run = mlflow.active_run()
        parent = run.data.tags.get("mlflow.parentRunId") if run is not None else None
        if parent is not None:
            self._trial.set_user_attr("mlflow_run_id", parent)


def run_trial_group(
    cfg: TuneConfig,
    trial: optuna.Trial,
    train_cfg: TrainConfig,
    deadline: float | None = None,
    processes_sharing_cpu: int = 1,
) -> float:
    """Train the trial's members one by one under the trial's MLflow run, reporting each value;
    stop early when the pruner says so (optuna.TrialPruned) or a member stopped on a nan loss or
    the deadline (that reason is raised: the trial fails). Returns the mean of the K values."""
    members = trial_members(cfg)
    monitors: dict[Member, MemberMonitor] = {}
    values: dict[str, float] = {}
    epochs: list[int] = []

    def callbacks(member: Member) -> list:
        monitors[member] = MemberMonitor(trial, deadline)
        return [monitors[member]]

    def after_member(member: Member, result) -> bool:
        epochs.append(result.epochs)
        trial.set_user_attr("epochs", sum(epochs))  # trained over all members so far
        if monitors[member].stop_reason is not None:
            return False  # raised below, after the group has closed its runs
        if result.best_val_acc is None or not math.isfinite(result.best_val_acc):
            raise RuntimeError(f"{member.label}: no val/acc was measured")
        trial.report(result.best_val_acc, step=members.index(member))
        values[member.label] = result.best_val_acc
        trial.set_user_attr(MEMBER_VALUES_ATTR, dict(values))
        # After the last member nothing is left to save: the trial completes with its full mean
        # rather than be recorded PRUNED.
        return member == members[-1] or not trial.should_prune()

    group = run_group(
        group_config(cfg, train_cfg),
        members,
        nested=True,
        run_test=False,
        tags=trial_tags(cfg, trial),
        run_name=train_cfg.mlflow.run_name,
        after_member=after_member,
        member_callbacks=callbacks,
        processes_sharing_cpu=processes_sharing_cpu,
    )
    trial.set_user_attr("mlflow_run_id", group.parent_run_id)
    # run_group resumes an unfinished group of the same config under the same study run (an
    # earlier trial with these params whose member crashed): its finished members count too.
    for member in group.skipped:
        value = group.runs[member].metrics.get("val/acc_best")
        if value is not None:
            trial.report(value, step=members.index(member))
            values[member.label] = value
    trial.set_user_attr(
        MEMBER_VALUES_ATTR, {m.label: values[m.label] for m in members if m.label in values}
    )
    for monitor in monitors.values():
        monitor.raise_if_stopped()  # a nan loss or the deadline
    if len(values) < len(members):
        reason = (
            f"pruned after {len(values)} of {len(members)} members: worse than the best trial's"
            f" (Wilcoxon p < {cfg.pruner.p_threshold})"
        )
        trial.set_user_attr("stop_reason", reason)
        raise optuna.TrialPruned(reason)
    return statistics.fmean(values.values())
