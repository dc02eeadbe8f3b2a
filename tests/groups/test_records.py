"""The parent's aggregated metrics as logged: no interval for one member, the NaN of a diverged
member left out, only finished members counted."""

from __future__ import annotations

import math

from mlflow.tracking import MlflowClient

from src.groups.members import Member
from src.groups.records import MemberRun, aggregate, log_aggregates


def parent_run(store: str, name: str) -> tuple[MlflowClient, str]:
    client = MlflowClient(store)
    experiment = client.get_experiment_by_name(name)
    experiment_id = experiment.experiment_id if experiment else client.create_experiment(name)
    return client, client.create_run(experiment_id).info.run_id


def test_one_member_logs_its_mean_and_no_zero_width_interval(mlflow_store) -> None:
    client, run_id = parent_run(mlflow_store, "records-one")
    runs = [MemberRun(Member(1, None), "a", "FINISHED", {"test/acc": 0.9, "epochs": 3.0})]
    log_aggregates(client, run_id, aggregate(runs), members=1)
    metrics = client.get_run(run_id).data.metrics
    assert metrics == {"members": 1.0, "test/acc_mean": 0.9, "epochs_mean": 3.0}


def test_unfinished_members_and_nan_values_are_left_out_of_the_intervals() -> None:
    runs = [
        MemberRun(Member(1, None), "a", "FINISHED", {"test/acc": 0.8, "test/loss": math.nan}),
        MemberRun(Member(2, None), "b", "FINISHED", {"test/acc": 0.9, "test/loss": 0.3}),
        MemberRun(Member(3, None), "c", "KILLED", {"test/acc": 0.1, "test/loss": 2.0}),
    ]
    intervals = aggregate(runs)
    assert intervals["test/acc"].n == 2 and math.isclose(intervals["test/acc"].mean, 0.85)
    assert intervals["test/loss"].n == 1 and intervals["test/loss"].low is None
    assert "val/acc_best" not in intervals  # no member has it (trained without validation)
