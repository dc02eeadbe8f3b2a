"""Ctrl-C or a scheduler's SIGTERM in the middle of a group (a real `python -m src.train --seeds 2`
process): the parent and the running member end KILLED, the member that had finished stays
FINISHED."""

from __future__ import annotations

import signal
import time

import pytest
from mlflow.tracking import MlflowClient

from tests.commands.test_signals import finish, start
from tests.groups.conftest import group_words


def wait_for_second_member_training(proc, store: str, experiment: str, checkpoints) -> list:
    """The member runs once the first has FINISHED and the second has saved a last.ckpt."""
    client = MlflowClient(store)
    deadline = time.monotonic() + 240
    while time.monotonic() < deadline:
        found = client.get_experiment_by_name(experiment)
        members = []
        if found is not None:
            members = client.search_runs(
                [found.experiment_id],
                "tags.group_role = 'member'",
                order_by=["attributes.start_time ASC"],
            )
        started = len(members) == 2 and members[0].info.status == "FINISHED"
        if started and (checkpoints / members[1].info.run_id / "last.ckpt").is_file():
            return members
        if proc.poll() is not None:
            pytest.fail(
                f"the group ended before its second member trained: {finish(proc)[1][-2000:]}"
            )
        time.sleep(0.05)
    proc.kill()
    pytest.fail("the second member did not start in 240 s")


@pytest.mark.slow
@pytest.mark.parametrize("signum", [signal.SIGINT, signal.SIGTERM], ids=["SIGINT", "SIGTERM"])
def test_a_signal_mid_group_kills_parent_and_running_member_and_keeps_the_finished_one(
    signum, tiny_data_dir, mlflow_store, tmp_path
) -> None:
    experiment = f"group-{signum.name.lower()}"
    words = group_words(tiny_data_dir, tmp_path, experiment, "--seeds=2", "--trainer.max_epochs=40")
    proc = start(words, mlflow_store)
    checkpoints = tmp_path / "checkpoints" / experiment
    first, second = wait_for_second_member_training(proc, mlflow_store, experiment, checkpoints)
    proc.send_signal(signum)
    code, stderr = finish(proc)

    assert code == 128 + signum, stderr[-2000:]
    assert "Traceback" not in stderr
    last = stderr.strip().splitlines()[-1]
    parent_id = first.data.tags["group_id"]
    assert last.startswith(f"error: interrupted by {signum.name}")
    assert f"group run {parent_id} marked KILLED too; the same command continues the group" in last
    client = MlflowClient(mlflow_store)
    assert client.get_run(parent_id).info.status == "KILLED"
    assert client.get_run(first.info.run_id).info.status == "FINISHED"
    assert client.get_run(second.info.run_id).info.status == "KILLED"
