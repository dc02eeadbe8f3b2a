"""Runs left RUNNING by dead processes are closed by the next process; live runs never are."""

from __future__ import annotations

import socket
import subprocess
import sys
import time

import pytest
from mlflow.tracking import MlflowClient

from src.runtime.processes import this_process
from src.tracking import owners
from src.tracking.store import ensure_experiment, use_store


@pytest.fixture
def client(tmp_path) -> MlflowClient:
    return use_store(f"sqlite:///{tmp_path / 'mlflow.db'}")


def dead_owner() -> str:
    proc = subprocess.Popen([sys.executable, "-c", "pass"])
    proc.wait()
    return f"{socket.gethostname()}:{proc.pid}:1"


def running_run(client: MlflowClient, tags: dict[str, str]) -> str:
    experiment = ensure_experiment(client, "owners")
    return client.create_run(experiment, tags=tags).info.run_id


def status(client: MlflowClient, run_id: str) -> str:
    return client.get_run(run_id).info.status


def test_a_run_whose_owner_died_is_closed_killed_at_its_last_sign_of_life(client) -> None:
    run_id = running_run(client, {owners.OWNER_TAG: dead_owner()})
    beat = client.get_run(run_id).info.start_time + 1_000
    client.set_tag(run_id, owners.HEARTBEAT_TAG, str(beat))
    client.log_metric(run_id, "train/loss", 0.5, timestamp=beat + 5_000, step=0)
    closed = owners.close_dead_runs(client)
    assert [run.run_id for run in closed] == [run_id]
    run = client.get_run(run_id)
    assert run.info.status == "KILLED"
    assert run.info.end_time == beat + 5_000  # the metric came after the last heartbeat
    found = run.data.tags[owners.CLOSED_TAG]
    assert "is gone" in found
    assert f"closed by process {this_process()}" in found


def test_a_run_of_a_live_process_is_never_touched(client) -> None:
    run_id = running_run(client, owners.owner_tags())
    assert owners.close_dead_runs(client) == []
    assert status(client, run_id) == "RUNNING"


def test_another_hosts_run_is_closed_only_after_the_grace_period(client) -> None:
    elsewhere = "another-host:4242:1"
    stale = owners.now_ms() - 400_000
    old = running_run(client, {owners.OWNER_TAG: elsewhere, owners.HEARTBEAT_TAG: str(stale)})
    fresh = running_run(client, {owners.OWNER_TAG: elsewhere, owners.HEARTBEAT_TAG: "0"})
    client.set_tag(fresh, owners.HEARTBEAT_TAG, str(owners.now_ms()))
    closed = owners.close_dead_runs(client, grace_s=300)
    assert [run.run_id for run in closed] == [old]
    assert "no heartbeat from another-host:4242:1" in closed[0].reason
    assert (status(client, old), status(client, fresh)) == ("KILLED", "RUNNING")


def test_a_run_without_a_recorded_owner_is_left_alone(client) -> None:
    run_id = running_run(client, {})
    assert owners.close_dead_runs(client) == []
    assert status(client, run_id) == "RUNNING"


def test_dry_run_lists_and_closes_nothing(client) -> None:
    run_id = running_run(client, {owners.OWNER_TAG: dead_owner()})
    assert [run.run_id for run in owners.close_dead_runs(client, dry_run=True)] == [run_id]
    assert status(client, run_id) == "RUNNING"


def test_a_run_reopened_by_a_new_owner_since_the_search_is_not_closed(client, monkeypatch) -> None:
    run_id = running_run(client, {owners.OWNER_TAG: dead_owner()})
    found = owners.find_dead_runs(client)

    def resumed_meanwhile(*args, **kwargs):
        client.set_tag(run_id, owners.OWNER_TAG, this_process())  # as a resume does
        return found

    monkeypatch.setattr(owners, "find_dead_runs", resumed_meanwhile)
    assert owners.close_dead_runs(client) == []
    assert status(client, run_id) == "RUNNING"


def test_the_heartbeat_refreshes_the_runs_this_process_owns(client, monkeypatch) -> None:
    monkeypatch.setattr(owners, "HEARTBEAT_S", 0.05)
    run_id = running_run(client, {owners.HEARTBEAT_TAG: "0"})
    with owners.keep_alive(client, run_id):
        deadline = time.monotonic() + 10
        while client.get_run(run_id).data.tags[owners.HEARTBEAT_TAG] == "0":
            assert time.monotonic() < deadline, "no heartbeat within 10 s"
            time.sleep(0.05)
    assert int(client.get_run(run_id).data.tags[owners.HEARTBEAT_TAG]) > owners.now_ms() - 10_000


def test_opening_the_store_closes_dead_runs_once_in_a_while(tmp_path) -> None:
    uri = f"sqlite:///{tmp_path / 'mlflow.db'}"
    client = MlflowClient(uri)
    ensure_experiment(client, "owners")
    run_id = running_run(client, {owners.OWNER_TAG: dead_owner()})
    use_store(uri)
    assert status(client, run_id) == "KILLED"
