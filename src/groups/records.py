"""A group in the MLflow store: finding the parent a rerun resumes, its members' runs, and the
aggregated metrics the parent logs (the contract `src.compare` reads)."""

from __future__ import annotations

import math
import time
from collections.abc import Iterable
from dataclasses import dataclass

from mlflow.entities import Metric, RunTag
from mlflow.tracking import MlflowClient

from src.errors import UsageError
from src.groups.members import Member
from src.stats.intervals import Interval, t_interval

# What the parent aggregates over its members, each as <name>_mean, _std, _ci95_low, _ci95_high.
GROUP_METRICS = ("test/acc", "test/loss", "test/f1", "val/acc_best", "epochs", "wall_time_s")
STOPPED_EARLY_TAG = "group_stopped"  # = "early": after_member ended the group before its end
PARENT_RUN_TAG = "mlflow.parentRunId"


@dataclass
class MemberRun:
    """A member's MLflow run as the store has it."""

    member: Member
    run_id: str
    status: str
    metrics: dict[str, float]


def member_of(run, members: Iterable[Member]) -> Member | None:
    """Which of `members` a run tagged by member_tags is (by its seed and fold tags)."""
    tags = run.data.tags
    fold = int(tags["fold"]) if "fold" in tags else None
    return next((m for m in members if str(m.seed) == tags.get("seed") and m.fold == fold), None)


def member_runs(client: MlflowClient, experiment_id: str, parent_run_id: str, members) -> dict:
    """{member: its newest run} among the parent's members; a FINISHED run beats any newer
    attempt, since a finished member counts as done."""
    runs = client.search_runs(
        [experiment_id],
        f"tags.group_id = '{parent_run_id}'",
        order_by=["attributes.start_time ASC"],
    )
    found: dict[Member, MemberRun] = {}
    for run in runs:
        member = member_of(run, members)
        if member is None or (member in found and found[member].status == "FINISHED"):
            continue
        metrics = {k: v for k, v in run.data.metrics.items() if k in GROUP_METRICS}
        found[member] = MemberRun(member, run.info.run_id, run.info.status, metrics)
    return found


def resumable_parent(
    client: MlflowClient,
    experiment_id: str,
    config_hash: str,
    described: str,
    members: list[Member],
    within: str | None,
) -> str | None:
    """The parent run a rerun of the same group continues: the newest one with this config hash
    and member set (under the run `within`, for nested groups) that was interrupted, failed, or
    lacks finished members. A complete group, or one stopped early on purpose, is left alone."""
    found = client.search_runs(
        [experiment_id],
        f"tags.group_role = 'parent' and tags.config_hash = '{config_hash}'"
        f" and tags.group_members = '{described}'",
        order_by=["attributes.start_time DESC"],
    )
    found = [run for run in found if run.data.tags.get(PARENT_RUN_TAG) == within]
    if not found or found[0].data.tags.get(STOPPED_EARLY_TAG) == "early":
        return None
    newest = found[0]
    run_id = newest.info.run_id
    if newest.info.status == "RUNNING":  # use_store has closed runs whose owner died
        raise UsageError(
            f"the group {described} of this config is being trained now (MLflow run {run_id},"
            f" owner {newest.data.tags.get('owner', '?')}); wait for it or stop it"
        )
    done = member_runs(client, experiment_id, run_id, members)
    if newest.info.status == "FINISHED" and all(
        m in done and done[m].status == "FINISHED" for m in members
    ):
        return None
    return run_id


def aggregate(runs: Iterable[MemberRun]) -> dict[str, Interval]:
    """Mean and t interval of each GROUP_METRICS metric over the finished members that have it
    (a NaN loss of a diverged member cannot be averaged; it is left out)."""
    finished = [run for run in runs if run.status == "FINISHED"]
    intervals = {}
    for name in GROUP_METRICS:
        values = [r.metrics[name] for r in finished if math.isfinite(r.metrics.get(name, math.nan))]
        if values:
            intervals[name] = t_interval(values)
    return intervals


def log_aggregates(
    client: MlflowClient, parent_run_id: str, intervals: dict[str, Interval], members: int
) -> None:
    """The parent's metrics: `members`, and per metric its mean, and with two or more members
    its std and 95% t interval (absent, not zero-width, for one member)."""
    values = {"members": float(members)}
    for name, interval in intervals.items():
        values[f"{name}_mean"] = interval.mean
        if interval.std is not None:
            values[f"{name}_std"] = interval.std
            values[f"{name}_ci95_low"] = interval.low
            values[f"{name}_ci95_high"] = interval.high
    now = int(time.time() * 1000)
    client.log_batch(parent_run_id, metrics=[Metric(k, v, now, 0) for k, v in values.items()])


def mark_stopped_early(client: MlflowClient, parent_run_id: str) -> None:
    client.log_batch(parent_run_id, tags=[RunTag(STOPPED_EARLY_TAG, "early")])
