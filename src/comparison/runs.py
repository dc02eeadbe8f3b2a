"""Runs and groups from the tracking store, as Candidates: what `python -m src.compare` is given
(a run id, a group's parent run id, or a models:/ URI) turned into per-member values.

A group is a parent run tagged `group_role=parent`; its members are the runs tagged
`group_id=<parent id>`, each with tags `seed` and, with folds, `fold`. Only FINISHED members
count: a member still running or killed has no final test metrics. Any other run is a group of
one.
"""

from __future__ import annotations

import math
from collections import defaultdict

from src.comparison.decide import Candidate, MemberKey
from src.errors import UsageError
from src.tracking.store import describe_uri

PARENT = "parent"  # the tag `group_role` of a group's parent run


def resolve_run_id(client, argument: str) -> str:
    """The run behind a run id, a runs:/ID/... URI or a models:/NAME/VERSION|@ALIAS URI."""
    if argument.startswith("models:/"):
        return _model_version_run(client, argument)
    if argument.startswith("runs:/"):
        return argument.removeprefix("runs:/").split("/", 1)[0]
    return argument


def _model_version_run(client, uri: str) -> str:
    from mlflow.exceptions import MlflowException

    rest = uri.removeprefix("models:/")
    name, at, alias = rest.rpartition("@")
    if not at:
        name, _, alias = rest.rpartition("/")
    if not name or not alias:
        raise UsageError(f"{uri}: expected models:/NAME/VERSION or models:/NAME@ALIAS")
    try:
        if at:
            version = client.get_model_version_by_alias(name, alias)
        else:
            version = client.get_model_version(name, alias)
    except MlflowException as error:
        reason = error.message.splitlines()[0] if error.message else type(error).__name__
        raise UsageError(f"{uri}: no such registered model version ({reason})") from error
    if not version.run_id:
        raise UsageError(f"{uri}: model version {version.version} has no source run to compare")
    return version.run_id


def get_run(client, run_id: str, argument: str):
    """The run, or a one-line UsageError naming the argument."""
    from mlflow.exceptions import MlflowException

    try:
        run = client.get_run(run_id)
    except MlflowException as error:
        where = describe_uri(client.tracking_uri)
        raise UsageError(f"{argument}: no such run in the tracking store {where}") from error
    if run.info.lifecycle_stage == "deleted":
        raise UsageError(f"{argument}: the run is deleted; restore it to compare it")
    return run


def member_key(run) -> MemberKey:
    """(seed, fold) of a member: its tags, else the params of a run trained on its own."""
    tags, params = run.data.tags, run.data.params
    seed = tags.get("seed", params.get("seed"))
    fold = tags.get("fold")
    if fold is None and (_whole_number(params.get("data.folds")) or 0) > 0:
        fold = params.get("data.fold")
    return _whole_number(seed), _whole_number(fold)


def _whole_number(text: str | None) -> int | None:
    # A tag edited by hand in the UI may hold anything; such a member just does not pair.
    try:
        return None if text is None else int(text)
    except ValueError:
        return None


def finished_members(client, parent) -> tuple[dict[MemberKey, object], int]:
    """The FINISHED members of a group by (seed, fold), and how many other members there were.

    Members are found by tag, not by nesting: a resumed group's reruns carry the same group_id.
    Where two finished members share a key (a member trained again), the newest counts.
    """
    runs = client.search_runs(
        [parent.info.experiment_id],
        filter_string=f"tags.group_id = '{parent.info.run_id}'",
        order_by=["attributes.start_time ASC"],
    )
    members: dict[MemberKey, object] = {}
    for run in runs:
        if run.info.status == "FINISHED":
            members[member_key(run)] = run  # a later duplicate replaces the earlier
    return members, len(runs) - len(members)


def load_candidate(client, argument: str) -> Candidate:
    """A group's finished members, or a single FINISHED run as a group of one."""
    run = get_run(client, resolve_run_id(client, argument), argument)
    name = run.info.run_name or run.info.run_id[:8]
    if run.data.tags.get("group_role") == PARENT:
        members, left_out = finished_members(client, run)
        if not members:
            raise UsageError(
                f"{argument}: group {name} has no FINISHED member yet ({left_out} not finished)"
            )
        kind = "group"
    else:
        if run.info.status != "FINISHED":
            raise UsageError(
                f"{argument}: run {name} is {run.info.status}, not FINISHED; compare finished runs"
            )
        members, left_out, kind = {member_key(run): run}, 0, "run"
    values: dict[str, dict[MemberKey, float]] = defaultdict(dict)
    for key, member in members.items():
        for metric, value in member.data.metrics.items():
            if math.isfinite(value):  # a diverged run's NaN loss would poison every mean
                values[metric][key] = value
    return Candidate(
        argument=argument,
        run_id=run.info.run_id,
        name=name,
        kind=kind,
        values=dict(values),
        members={key: member.info.run_id for key, member in members.items()},
        left_out=left_out,
    )


def check_metric(candidate: Candidate, metric: str) -> None:
    """A UsageError naming --metric unless at least one member logged the metric."""
    if candidate.values.get(metric):
        return
    logged = sorted(m for m in candidate.values if "/" in m and not m.startswith("system/"))
    raise UsageError(
        f"--metric {metric}: {candidate.name} ({candidate.argument}) logged no finite {metric};"
        f" it logged: {', '.join(logged) or 'no metrics'}"
    )
