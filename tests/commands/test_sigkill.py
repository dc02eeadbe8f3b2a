"""kill -9 leaves nothing RUNNING for long: real processes, real SIGKILL, and the next process
(a new `src.train`, a tuning worker, `src.tracking sweep`) closes what the dead one left."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
from mlflow.tracking import MlflowClient

from src.tracking.owners import CLOSED_TAG, OWNER_TAG
from tests.helpers import ROOT, load_study, run_process, tiny_train_args, write_study

pytestmark = pytest.mark.slow


def start(module: str, words: list[str], store: str) -> subprocess.Popen:
    env = {**os.environ, "MLFLOW_TRACKING_URI": store}
    return subprocess.Popen(
        [sys.executable, "-m", module, *words],
        cwd=ROOT,
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        text=True,
    )


def all_runs(store: str) -> list:
    client = MlflowClient(store)
    experiments = [e.experiment_id for e in client.search_experiments()]
    return client.search_runs(experiments) if experiments else []


def wait_for(condition, proc: subprocess.Popen, what: str, timeout: float = 240):
    """Poll until condition() is truthy (its value is returned) while proc still runs."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        found = condition()
        if found:
            return found
        if proc.poll() is not None:
            pytest.fail(f"the process ended before {what}: {proc.communicate()[1][-2000:]}")
        time.sleep(0.1)
    proc.kill()
    pytest.fail(f"no {what} after {timeout} s")


def running_with_metrics(store: str, role: str | None = None) -> list:
    return [
        r
        for r in all_runs(store)
        if r.info.status == "RUNNING"
        and "train/loss" in r.data.metrics
        and (role is None or r.data.tags.get("role") == role)
    ]


def long_training(data_dir: Path, tmp_path: Path) -> list[str]:
    return [
        *tiny_train_args(data_dir, tmp_path, "sigkill"),
        "--trainer.max_epochs=2000",
        "--early_stopping.enabled=false",
        "--mlflow.log_model=false",
    ]


def kill(proc: subprocess.Popen) -> None:
    proc.send_signal(signal.SIGKILL)
    proc.wait(timeout=30)


def test_a_killed_training_run_is_closed_by_the_next_training(tiny_data_dir, tmp_path) -> None:
    store = f"sqlite:///{tmp_path / 'mlflow.db'}"
    proc = start("src.train", long_training(tiny_data_dir, tmp_path), store)
    (victim,) = wait_for(lambda: running_with_metrics(store), proc, "a training epoch logged")
    kill(proc)
    assert MlflowClient(store).get_run(victim.info.run_id).info.status == "RUNNING"

    words = [*tiny_train_args(tiny_data_dir, tmp_path, "sigkill"), "--trainer.max_epochs=1"]
    done = run_process(
        "src.train", *words, "--mlflow.log_model=false", env={"MLFLOW_TRACKING_URI": store}
    )
    assert done.returncode == 0, done.stderr
    dead = MlflowClient(store).get_run(victim.info.run_id)
    assert dead.info.status == "KILLED"
    owner = victim.data.tags[OWNER_TAG]
    assert owner.split(":")[1] == str(proc.pid)
    assert f"process {owner} is gone; closed by process" in dead.data.tags[CLOSED_TAG]
    last_metric = max(
        m.timestamp
        for m in MlflowClient(store).get_metric_history(victim.info.run_id, "train/loss")
    )
    assert victim.info.start_time <= last_metric <= dead.info.end_time < time.time() * 1000
    assert not [r for r in all_runs(store) if r.info.status == "RUNNING"]


def test_a_live_training_run_of_another_process_is_never_touched(tiny_data_dir, tmp_path) -> None:
    store = f"sqlite:///{tmp_path / 'mlflow.db'}"
    proc = start("src.train", long_training(tiny_data_dir, tmp_path), store)
    try:
        (alive,) = wait_for(lambda: running_with_metrics(store), proc, "a training epoch logged")
        sweep = run_process("src.tracking", "sweep", env={"MLFLOW_TRACKING_URI": store})
        assert sweep.returncode == 0, sweep.stderr
        assert f"left {alive.info.run_id}" in sweep.stdout
        assert "0 closed" in sweep.stdout
        assert MlflowClient(store).get_run(alive.info.run_id).info.status == "RUNNING"
    finally:
        proc.send_signal(signal.SIGTERM)
        assert proc.wait(timeout=120) == 128 + signal.SIGTERM
    assert MlflowClient(store).get_run(alive.info.run_id).info.status == "KILLED"  # by itself


def long_study(tmp_path: Path, data_dir: Path, store: str, n_trials: int) -> Path:
    space = {"optimizer.lr": {"low": 1e-3, "high": 1e-2, "log": True}}
    return write_study(tmp_path, data_dir, store, "sigkill", search_space=space, n_trials=n_trials)


def tune_words(study: Path, epochs: int = 2000) -> list[str]:
    return ["--config", str(study), f"--train.trainer.max_epochs={epochs}",
            "--train.early_stopping.enabled=false"]  # fmt: skip


def trial_states(study: Path) -> dict[str, int]:
    counts: dict[str, int] = {}
    for trial in load_study(study).trials:
        counts[trial.state.name] = counts.get(trial.state.name, 0) + 1
    return counts


def test_a_killed_tuning_worker_leaves_its_trial_and_study_runs_to_the_next_worker(
    tiny_data_dir, tmp_path
) -> None:
    store = f"sqlite:///{tmp_path / 'mlflow.db'}"
    study = long_study(tmp_path, tiny_data_dir, store, n_trials=2)
    proc = start("src.tune", tune_words(study), store)
    (trial_run,) = wait_for(
        lambda: running_with_metrics(store, "trial"), proc, "a trial's epoch logged"
    )
    kill(proc)
    parent_id = trial_run.data.tags["mlflow.parentRunId"]
    assert MlflowClient(store).get_run(parent_id).info.status == "RUNNING"

    done = run_process(
        "src.tune",
        *tune_words(study),
        "--train.trainer.max_epochs=1",
        env={"MLFLOW_TRACKING_URI": store},
    )
    assert done.returncode == 0, done.stderr
    client = MlflowClient(store)
    for run_id in (trial_run.info.run_id, parent_id):
        dead = client.get_run(run_id)
        assert dead.info.status == "KILLED"
        assert "closed by process" in dead.data.tags[CLOSED_TAG]
    assert client.get_run(trial_run.info.run_id).data.tags["trial_state"] == "FAIL"
    assert not [r for r in all_runs(store) if r.info.status == "RUNNING"]
    assert trial_states(study) == {"FAIL": 1, "COMPLETE": 2}


def test_three_workers_with_repeated_kills_end_with_no_running_run(tiny_data_dir, tmp_path) -> None:
    store = f"sqlite:///{tmp_path / 'mlflow.db'}"
    study = long_study(tmp_path, tiny_data_dir, store, n_trials=6)
    words = tune_words(study, epochs=20)
    workers = [start("src.tune", words, store) for _ in range(3)]

    def a_worker_mid_trial() -> int | None:
        pids = {str(w.pid): slot for slot, w in enumerate(workers) if w.poll() is None}
        for r in all_runs(store):
            pid = r.data.tags.get(OWNER_TAG, "::").split(":")[1]
            if r.info.status == "RUNNING" and r.data.tags.get("role") == "trial" and pid in pids:
                return pids[pid] + 1  # (slot + 1: a truthy value for wait_for)
        return None

    for _ in range(3):  # SIGKILL a worker in the middle of a trial, start it again
        slot = wait_for(a_worker_mid_trial, workers[0], "a worker in a trial") - 1
        kill(workers[slot])
        workers[slot] = start("src.tune", words, store)
    for worker in workers:
        _, stderr = worker.communicate(timeout=600)
        assert worker.returncode == 0, stderr[-2000:]
    statuses = [r.info.status for r in all_runs(store)]
    assert "RUNNING" not in statuses
    states = trial_states(study)
    assert states.get("COMPLETE", 0) + states.get("PRUNED", 0) == 6
    assert states.get("RUNNING", 0) == 0
    assert states.get("FAIL", 0) == 3  # the three killed trials, each retried
