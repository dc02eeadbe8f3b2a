"""The same group command again resumes the group: finished members are skipped, the others
train (an interrupted one from its last.ckpt, in its own MLflow run); a complete group is not
resumed but followed by a new one."""

from __future__ import annotations

import pytest
from mlflow.tracking import MlflowClient

from tests.groups.conftest import group_runs, group_words, train_in_process


@pytest.mark.slow
def test_rerun_skips_the_finished_member_and_resumes_the_killed_one(
    tiny_data_dir, mlflow_store, tmp_path
) -> None:
    words = group_words(tiny_data_dir, tmp_path, "resume-group", "--seeds=2")
    train_in_process(mlflow_store, words)
    client = MlflowClient(mlflow_store)
    (parent,) = group_runs(mlflow_store, "resume-group", "parent")
    first, second = sorted(
        group_runs(mlflow_store, "resume-group", "member"), key=lambda r: r.data.tags["seed"]
    )
    # As an interrupted command leaves it: the second member and the parent KILLED.
    client.set_terminated(second.info.run_id, "KILLED")
    client.set_terminated(parent.info.run_id, "KILLED")

    printed = train_in_process(mlflow_store, words)

    assert f"resuming group {parent.info.run_id}" in printed
    assert "skipped: seed 42;" in printed and "1 left" in printed
    assert "[1/1] seed 43" in printed and "] seed 42" not in printed
    assert "finished before and skipped: seed 42" in printed
    members = group_runs(mlflow_store, "resume-group", "member")
    assert [m.info.run_id for m in members] == [first.info.run_id, second.info.run_id]
    assert all(m.info.status == "FINISHED" for m in members)
    assert client.get_run(first.info.run_id).info.end_time == first.info.end_time  # untouched
    (again,) = group_runs(mlflow_store, "resume-group", "parent")
    assert again.info.run_id == parent.info.run_id and again.info.status == "FINISHED"
    assert again.data.metrics["members"] == 2

    train_in_process(mlflow_store, words)  # complete now: the same command starts a new group
    assert len(group_runs(mlflow_store, "resume-group", "parent")) == 2
