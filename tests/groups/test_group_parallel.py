"""`--n-jobs 2`: the members of a 2-seed group train in two spawned processes at once, nested
under the parent by tag, each with half of the CPU threads."""

from __future__ import annotations

import pytest
from mlflow.tracking import MlflowClient

from tests.groups.conftest import group_words
from tests.helpers import run_process


@pytest.mark.slow
def test_two_jobs_train_a_two_seed_group_in_two_processes(
    tiny_data_dir, mlflow_store, tmp_path
) -> None:
    words = group_words(tiny_data_dir, tmp_path, "two-jobs", "--seeds=2", "--n-jobs=2")
    done = run_process("src.train", *words, env={"MLFLOW_TRACKING_URI": mlflow_store}, timeout=400)
    assert done.returncode == 0, done.stderr[-3000:]
    client = MlflowClient(mlflow_store)
    experiment_id = client.get_experiment_by_name("two-jobs").experiment_id
    (parent,) = client.search_runs([experiment_id], "tags.group_role = 'parent'")
    members = client.search_runs([experiment_id], "tags.group_role = 'member'")
    assert parent.info.status == "FINISHED" and parent.data.metrics["members"] == 2
    assert sorted(m.data.tags["seed"] for m in members) == ["42", "43"]
    for member in members:
        assert member.info.status == "FINISHED"
        assert member.data.tags["mlflow.parentRunId"] == parent.info.run_id
    owners = {m.data.tags["owner"].split(":")[1] for m in members}
    assert len(owners) == 2 and parent.data.tags["owner"].split(":")[1] not in owners
    threads = {m.data.tags["torch_threads"] for m in members}
    assert threads == {str(max(1, int(members[0].data.tags["usable_cpus"]) // 2))}
    assert "Group summary: seeds 42-43" in done.stdout
