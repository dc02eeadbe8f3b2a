"""Two `python -m src.tune` workers on one PostgreSQL study; one is SIGKILLed mid-trial.

Needs a server: TEST_POSTGRES_URL=postgresql://user:password@host:port/db (.ci/run starts a
local one and sets it); skipped otherwise.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
import uuid

import optuna
import pytest
from mlflow.tracking import MlflowClient
from optuna.storages import RetryHeartbeatStaleTrialCallback
from optuna.trial import TrialState

from src.tracking.owners import CLOSED_TAG
from src.tuning.storage import locate
from tests.helpers import write_study

POSTGRES_URL = os.environ.get("TEST_POSTGRES_URL")
pytestmark = [
    pytest.mark.slow,
    pytest.mark.filterwarnings("ignore::optuna.exceptions.ExperimentalWarning"),
    pytest.mark.skipif(
        not POSTGRES_URL,
        reason="TEST_POSTGRES_URL is not set (.ci/run starts a local PostgreSQL and sets it)",
    ),
]
N_TRIALS = 4
# Trials long enough (40 epochs: 1.5-2.9 s here) that the survivor cannot finish the whole study
# while the victim is still starting, and that a poll every 0.1 s finds the victim mid-trial. With
# 2-epoch trials (0.3-0.6 s) the survivor once finished all four first, in CI.
EPOCHS = 40


def database_url() -> str:
    """TEST_POSTGRES_URL with the installed driver, as src.tune opens it."""
    return locate(POSTGRES_URL, "").target


def start_worker(config) -> subprocess.Popen:
    return subprocess.Popen(
        [sys.executable, "-m", "src.tune", "--config", str(config)],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        text=True,
    )


def kill_when_training(worker: subprocess.Popen, study_name: str, timeout: float = 120) -> int:
    """SIGKILL the worker once one of its trials is mid-fit; the number of that trial."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        assert worker.poll() is None, "the worker ended before it could be killed mid-trial"
        try:
            study = optuna.load_study(study_name=study_name, storage=database_url())
        except KeyError:  # not created yet
            study = None
        for trial in study.get_trials(states=(TrialState.RUNNING,)) if study else []:
            mine = trial.user_attrs.get("worker", "").endswith(f":{worker.pid}")
            if mine and trial.user_attrs.get("mlflow_run_id"):
                worker.send_signal(signal.SIGKILL)
                worker.wait()
                return trial.number
        time.sleep(0.1)
    raise AssertionError("no trial of the worker started training in time")


def test_a_killed_workers_trial_is_retried_and_the_study_ends_exact(
    tmp_path, tiny_data_dir, mlflow_store
):
    name = f"pg-{uuid.uuid4().hex[:8]}"
    config = write_study(
        tmp_path,
        tiny_data_dir,
        mlflow_store,
        name,
        epochs=EPOCHS,
        early_stopping=False,
        storage=POSTGRES_URL,
        heartbeat_interval=1,
        grace_period=3,
        n_trials=N_TRIALS,
        search_space={"optimizer.lr": {"low": 1.0e-3, "high": 1.0e-1, "log": True}},
    )
    survivor, victim = start_worker(config), start_worker(config)
    killed = kill_when_training(victim, name)
    _, errors = survivor.communicate(timeout=300)
    assert survivor.returncode == 0, errors

    trials = optuna.load_study(study_name=name, storage=database_url()).trials
    finished = [t for t in trials if t.state in (TrialState.COMPLETE, TrialState.PRUNED)]
    assert len(finished) == N_TRIALS
    assert trials[killed].state == TrialState.FAIL
    (retry,) = [
        t for t in trials if RetryHeartbeatStaleTrialCallback.retried_trial_number(t) == killed
    ]
    assert retry.state == TrialState.COMPLETE and retry.params == trials[killed].params
    assert len({t.params["optimizer.lr"] for t in finished}) == N_TRIALS
    # The dead worker's MLflow runs are closed by the survivor: its trial's run in the step that
    # failed the trial, its invocation's parent run by the owner rule; nothing stays RUNNING.
    client = MlflowClient(mlflow_store)
    dead_run = client.get_run(trials[killed].user_attrs["mlflow_run_id"])
    assert dead_run.info.status == "KILLED"
    assert dead_run.data.tags["trial_state"] == "FAIL"
    assert CLOSED_TAG in dead_run.data.tags
    dead_parent = client.get_run(trials[killed].user_attrs["mlflow_parent_run_id"])
    assert dead_parent.info.status == "KILLED" and CLOSED_TAG in dead_parent.data.tags
    experiment = client.get_experiment_by_name(f"tune-{name}").experiment_id
    assert "RUNNING" not in [r.info.status for r in client.search_runs([experiment])]
