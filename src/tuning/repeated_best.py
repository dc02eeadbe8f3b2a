"""The best trial of a study with `repeats`: compared with the runner-up over their paired members
(is the winner distinguishable from noise?), and retrained over the same members with a test
stage, its test accuracy printed with a 95% t interval."""

from __future__ import annotations

import time
from dataclasses import dataclass
from pathlib import Path

from src.comparison.decide import compare_values
from src.config.parsing import parse_train_config
from src.config.tune import TuneConfig
from src.groups.runner import run_group
from src.groups.summary import print_group_summary
from src.stats.intervals import format_interval
from src.stats.tests import TEST_NAMES, Difference
from src.tuning.repeats import MEMBER_VALUES_ATTR, group_config, member_keys, trial_members


@dataclass(frozen=True)
class RunnerUp:
    """The best trial against the second best: difference = best - runner-up (val/acc_best)."""

    best: int  # trial numbers
    runner_up: int
    difference: Difference

    def metrics(self) -> dict[str, float]:
        """What the study's run logs: the difference, and its interval and p-value if tested."""
        d = self.difference
        logged = {"best_vs_runner_up_diff": d.difference}
        if d.p_value is not None:
            logged |= {
                "best_vs_runner_up_ci95_low": d.low,
                "best_vs_runner_up_ci95_high": d.high,
                "best_vs_runner_up_p_value": d.p_value,
            }
        return logged

    def sentence(self) -> str:
        """One line for the study summary, the verdict in words."""
        d = self.difference
        text = f"#{self.best} - #{self.runner_up}: {d.difference * 100:+.2f} points"
        if d.p_value is None:
            return f"{text}; {d.verdict()}"
        text += f" (95% CI {d.low * 100:+.2f} to {d.high * 100:+.2f}), {TEST_NAMES[d.test]}"
        text += f" p = {d.p_value:.3g}: "
        if d.distinguishable:
            return text + "the best is distinguishable from the runner-up at 5%"
        return text + "not distinguishable at 5%: either could be the better config"


def compare_with_runner_up(study, cfg: TuneConfig) -> RunnerUp | None:
    """The best complete trial against the next best, paired over their members' val/acc_best
    (the same seeds or folds); None without repeats or with fewer than two complete trials."""
    from optuna.trial import TrialState

    if not cfg.repeats.count:
        return None
    complete = [
        t
        for t in study.get_trials(deepcopy=False, states=(TrialState.COMPLETE,))
        if t.user_attrs.get(MEMBER_VALUES_ATTR)
    ]
    if len(complete) < 2:
        return None
    best, runner_up = sorted(complete, key=lambda t: (-t.value, t.number))[:2]
    keys = member_keys(cfg)

    def keyed(trial) -> dict:
        values = trial.user_attrs[MEMBER_VALUES_ATTR]
        return {keys.get(label, label): value for label, value in values.items()}

    difference = compare_values(baseline=keyed(runner_up), candidate=keyed(best))
    return RunnerUp(best.number, runner_up.number, difference)


def retrain_best_group(path: Path, cfg: TuneConfig, client, parent_run_id: str) -> None:
    """Train the exported best config over the study's K seeds (or folds) as one group with a
    test stage, nested under the study's run; print its table and log its test/acc interval on
    the study's run."""
    from mlflow.entities import Metric

    register = [f"--mlflow.register_model={cfg.register_model}"] if cfg.register_model else []
    train_cfg = parse_train_config(["--config", str(path), "--mlflow.log_model=true", *register])
    tags = {
        "role": "retrain_best",
        "study_name": cfg.study_name,
        "mlflow.parentRunId": parent_run_id,  # spawned workers have no active parent run
    }
    group = run_group(
        group_config(cfg, train_cfg),
        trial_members(cfg),
        nested=True,
        run_test=True,
        tags=tags,
        run_name=train_cfg.mlflow.run_name,
    )
    print_group_summary(group)
    interval = group.intervals.get("test/acc")
    if interval is None:
        return
    logged = {"retrain_best/test_acc_mean": interval.mean}
    if interval.low is not None:
        logged |= {
            "retrain_best/test_acc_ci95_low": interval.low,
            "retrain_best/test_acc_ci95_high": interval.high,
        }
    now = int(time.time() * 1000)
    client.log_batch(parent_run_id, metrics=[Metric(k, v, now, 0) for k, v in logged.items()])
    print(
        f"best config retrained over {interval.n} members: test/acc"
        f" {format_interval(interval, scale=100.0)} % (mean ± 95% t half-width);"
        f" MLflow group run {group.parent_run_id}"
    )
