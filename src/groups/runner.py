"""Training a group: one MLflow parent run, each member an ordinary training run nested under
it, here one after another or in `n_jobs` processes; a rerun of the same command resumes it."""

from __future__ import annotations

import dataclasses
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path

from src.config.train import TrainConfig
from src.errors import UsageError
from src.groups import records
from src.groups.members import Member, config_hash, describe_members, member_config, member_tags
from src.groups.records import MemberRun
from src.runtime.signals import RunInterrupted, raise_if_interrupted, signals_deferred
from src.stats.intervals import Interval
from src.training.run import TrainResult, run_training


@dataclass
class GroupResult:
    parent_run_id: str
    experiment_id: str
    tracking_uri: str
    members: list[Member]
    runs: dict[Member, MemberRun]  # as the store has them at the end
    intervals: dict[str, Interval]  # records.GROUP_METRICS over the finished members
    trained: dict[Member, TrainResult] = field(default_factory=dict)  # in this process
    skipped: list[Member] = field(default_factory=list)  # finished before this call
    stopped_early: bool = False


def _run_name(cfg: TrainConfig, member: Member) -> str:
    base = cfg.mlflow.run_name or cfg.mlflow.experiment_name
    return f"{base}-{member.label.replace(', ', '-').replace(' ', '')}"  # "x-seed3-fold2"


def _member_job(cfg: TrainConfig, member: Member, earlier: MemberRun | None) -> TrainConfig:
    """The member's config, resuming its interrupted run from last.ckpt when there is one."""
    mcfg = member_config(cfg, member)
    mcfg = dataclasses.replace(
        mcfg, mlflow=dataclasses.replace(mcfg.mlflow, run_name=_run_name(cfg, member))
    )
    if earlier is not None:
        last = Path(cfg.checkpoint_dir) / cfg.mlflow.experiment_name / earlier.run_id / "last.ckpt"
        if last.is_file():
            mcfg = dataclasses.replace(mcfg, ckpt_path=str(last))
    return mcfg


def run_group(
    cfg: TrainConfig,
    members: list[Member],
    *,
    nested: bool = False,
    run_test: bool = True,
    tags: dict[str, str] | None = None,
    n_jobs: int = 1,
    run_name: str | None = None,
    after_member: Callable[[Member, TrainResult], bool] | None = None,
    member_callbacks: Callable[[Member], Sequence] | None = None,
    processes_sharing_cpu: int = 1,
) -> GroupResult:
    """Train every member of the group under one parent run and log the aggregates on it.

    nested: the parent is nested under the active MLflow run (a tuning trial). after_member
    returning False ends the group early (parent FINISHED, tagged group_stopped=early).
    member_callbacks: extra Lightning callbacks per member. Both need n_jobs=1.
    processes_sharing_cpu (n_jobs=1): how many processes (tuning workers) share the CPU with this
    one; its members train with their share of the threads.
    """
    import mlflow

    from src.tracking.runs import log_params, tracked_run
    from src.tracking.store import ensure_experiment, resolve_tracking_uri, use_store

    if not members:
        raise UsageError("a group needs at least one member")
    if n_jobs < 1:
        raise UsageError(f"--n-jobs {n_jobs}: expected an int >= 1")
    if n_jobs > 1 and (after_member is not None or member_callbacks is not None):
        raise UsageError(
            f"n_jobs={n_jobs}: after_member and member_callbacks need n_jobs=1 (members trained"
            " in other processes cannot call back into this one)"
        )
    uri = resolve_tracking_uri(cfg.mlflow.tracking_uri)
    client = use_store(uri)
    experiment_id = ensure_experiment(client, cfg.mlflow.experiment_name)
    hashed, described = config_hash(cfg), describe_members(members)
    active = mlflow.active_run()
    # The run this group is nested under: given as a tag by callers in spawned processes, where
    # no parent run is active; a rerun resumes only a group under the same one.
    within = (tags or {}).get(records.PARENT_RUN_TAG)
    if within is None and nested and active is not None:
        within = active.info.run_id
    previous = records.resumable_parent(client, experiment_id, hashed, described, members, within)
    parent_tags = {"group_role": "parent", "config_hash": hashed, "group_members": described}
    # The config hash in the name tells groups of different configs apart where only names show
    # (the MLflow UI's run list, src.compare's table); a rerun of the same config shares it.
    base = cfg.mlflow.run_name or cfg.mlflow.experiment_name
    name = run_name or f"{base}-group-{hashed[:6]}"
    with tracked_run(
        experiment_id, name, run_id=previous, nested=nested, tags={**parent_tags, **(tags or {})}
    ) as parent:
        parent_id = parent.info.run_id
        result = GroupResult(parent_id, experiment_id, uri, members, {}, {})
        earlier = records.member_runs(client, experiment_id, parent_id, members) if previous else {}
        result.skipped = [m for m in members if m in earlier and earlier[m].status == "FINISHED"]
        _announce(result, previous, described)
        group_config = {k: v for k, v in dataclasses.asdict(cfg).items() if k != "seed"}
        group_config["data"].pop("fold")  # the members' seeds and folds differ: not the group's
        log_params(client, parent_id, group_config)
        jobs = [
            (m, _member_job(cfg, m, earlier.get(m))) for m in members if m not in result.skipped
        ]
        try:
            if n_jobs == 1:
                callbacks = (after_member, member_callbacks)
                _train_here(result, jobs, cfg, run_test, callbacks, processes_sharing_cpu)
            else:
                _train_in_processes(jobs, cfg, parent_id, run_test, n_jobs)
        except RunInterrupted as stop:
            # Between members the run interrupted is the parent itself: name it once.
            also = "" if stop.run_id == parent_id else f"group run {parent_id} marked KILLED too; "
            stop.hint = stop.hint or f"{also}the same command continues the group"
            raise
        result.runs = records.member_runs(client, experiment_id, parent_id, members)
        result.intervals = records.aggregate(result.runs.values())
        finished = sum(run.status == "FINISHED" for run in result.runs.values())
        records.log_aggregates(client, parent_id, result.intervals, finished)
        if result.stopped_early:
            records.mark_stopped_early(client, parent_id)
    return result


def _announce(result: GroupResult, previous: str | None, described: str) -> None:
    if previous is None:
        print(f"group {result.parent_run_id}: {described}, {len(result.members)} runs")
        return
    skipped = ", ".join(m.label for m in result.skipped) or "none"
    left = len(result.members) - len(result.skipped)
    print(
        f"resuming group {previous}: {described}; finished before, skipped: {skipped}; {left} left"
    )


def _train_here(result, jobs, cfg, run_test, callbacks, sharing: int) -> None:
    """One member after another in this process. A signal outside a Lightning loop (between
    members, in MLflow's bookkeeping) is held until the next safe point."""
    after_member, member_callbacks = callbacks
    with signals_deferred():
        for index, (member, mcfg) in enumerate(jobs):
            raise_if_interrupted()
            print(f"[{index + 1}/{len(jobs)}] {member.label}")
            trained = run_training(
                mcfg,
                extra_callbacks=member_callbacks(member) if member_callbacks else (),
                nested=True,
                run_test=run_test,
                tags=member_tags(result.parent_run_id, cfg, member),
                processes_sharing_cpu=sharing,
            )
            result.trained[member] = trained
            if after_member is not None and after_member(member, trained) is False:
                result.stopped_early = True
                break
        raise_if_interrupted()


def _train_in_processes(jobs, cfg, parent_id: str, run_test: bool, n_jobs: int) -> None:
    """Members dealt round-robin to n_jobs spawned processes, each with its share of the CPU
    threads. Their runs are nested by tag: the parent's active run lives in this process."""
    from src.runtime.spawned import run_in_processes

    tagged = [
        (mcfg, {**member_tags(parent_id, cfg, member), records.PARENT_RUN_TAG: parent_id})
        for member, mcfg in jobs
    ]
    workers = min(n_jobs, len(tagged))
    shares = [(tagged[i::workers], run_test, workers) for i in range(workers)]
    failed = run_in_processes(train_members, shares, "group-worker")
    if failed:
        raise RuntimeError(f"group members failed (exit codes {failed}); see their errors above")


def train_members(jobs: list[tuple[TrainConfig, dict]], run_test: bool, sharing: int) -> None:
    """A spawned worker's share of the members, one after another."""
    for mcfg, tags in jobs:
        raise_if_interrupted()
        run_training(mcfg, run_test=run_test, tags=tags, processes_sharing_cpu=sharing)
