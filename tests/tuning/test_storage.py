"""src/tuning/storage.py: where a study's trials live, and how the trials of dead workers come
back. Real Optuna journal files in temporary folders; real processes for dead and live PIDs."""

from __future__ import annotations

import importlib.util
import os
import socket
import subprocess
import time
from pathlib import Path

import optuna
import pytest
from optuna.trial import TrialState

from src.errors import UsageError
from src.tuning.storage import (
    JOURNAL_FILE,
    WORKER_ATTR,
    StorageLocation,
    create_or_load_study,
    locate,
    open_storage,
    recover_dead_workers_trials,
)

DRIVER = "psycopg" if importlib.util.find_spec("psycopg") else "psycopg2"


JOURNAL = StorageLocation("journal", "unused.log")


@pytest.fixture
def storage(tmp_path) -> optuna.storages.BaseStorage:
    location = locate(str(tmp_path / "study.log"), "sqlite:///unused/mlflow.db")
    return open_storage(location, heartbeat_interval=10, grace_period=30)


@pytest.fixture
def study(storage) -> optuna.Study:
    """A single-objective study on a journal file of its own."""
    return optuna.create_study(storage=storage, study_name="recover", direction="maximize")


def reopen(storage: optuna.storages.BaseStorage, directions: list[str]) -> optuna.Study:
    sampler, pruner = optuna.samplers.RandomSampler(), optuna.pruners.NopPruner()
    return create_or_load_study(storage, "recover", directions, sampler, pruner)


def running_trial(study: optuna.Study, worker: str | None) -> int:
    """A trial left RUNNING by `worker` (host:pid), with one sampled param."""
    trial = study.ask()
    trial.suggest_float("x", 0.0, 1.0)
    if worker is not None:
        trial.set_user_attr(WORKER_ATTR, worker)
    return trial.number


def here(pid: int) -> str:
    return f"{socket.gethostname()}:{pid}"


@pytest.fixture
def dead_pid() -> int:
    """The PID of a process that ran on this host and was reaped."""
    process = subprocess.Popen(["true"])
    process.wait()
    return process.pid


def states(study: optuna.Study) -> list[TrialState]:
    return [t.state for t in study.get_trials(deepcopy=False)]


def test_the_default_journal_lives_beside_the_sqlite_store(tmp_path) -> None:
    assert locate(None, f"sqlite:///{tmp_path}/mlflow.db") == StorageLocation(
        "journal", str(tmp_path / JOURNAL_FILE)
    )


def test_with_a_server_store_the_default_journal_is_under_mlruns() -> None:
    location = locate(None, "http://127.0.0.1:5000")
    assert location == StorageLocation("journal", str(Path("mlruns") / JOURNAL_FILE))


def test_a_path_ending_in_log_is_a_journal_file(tmp_path) -> None:
    target = str(tmp_path / "studies" / "wide.log")
    assert locate(target, "sqlite:///mlflow.db") == StorageLocation("journal", target)


def test_an_existing_file_is_a_journal_file_whatever_its_name(tmp_path) -> None:
    (tmp_path / "journal").write_text("")
    target = str(tmp_path / "journal")
    assert locate(target, "sqlite:///mlflow.db") == StorageLocation("journal", target)


def test_a_postgresql_url_gets_the_installed_driver() -> None:
    location = locate("postgresql://user:pw@host:5432/optuna", "sqlite:///mlflow.db")
    assert location == StorageLocation(
        "database", f"postgresql+{DRIVER}://user:pw@host:5432/optuna"
    )


def test_a_url_that_names_its_driver_keeps_it() -> None:
    location = locate("postgresql+psycopg2://user@host/optuna", "sqlite:///mlflow.db")
    assert location.target == "postgresql+psycopg2://user@host/optuna"


def test_a_sqlite_url_is_a_database(tmp_path) -> None:
    url = f"sqlite:///{tmp_path}/optuna.db"
    assert locate(url, "sqlite:///mlflow.db") == StorageLocation("database", url)


def test_a_database_location_displays_without_its_password() -> None:
    location = locate("postgresql://user:hunter22@host/optuna", "sqlite:///mlflow.db")
    assert location.display == f"postgresql+{DRIVER}://user:***@host/optuna"


def test_a_journal_location_displays_its_path() -> None:
    assert StorageLocation("journal", "mlruns/optuna-journal.log").display == (
        "mlruns/optuna-journal.log"
    )


@pytest.mark.parametrize(
    "storage", ["nosuchdb://host/db", "postgresql://user@host:port/db"], ids=["dialect", "port"]
)
def test_a_url_sqlalchemy_does_not_know_is_a_usage_error(storage) -> None:
    with pytest.raises(UsageError, match=f"^storage={storage!r} is not a database URL"):
        locate(storage, "sqlite:///mlflow.db")


def test_a_name_that_is_neither_url_nor_journal_is_a_usage_error() -> None:
    with pytest.raises(UsageError, match="is neither a database URL .* nor a journal file"):
        locate("just-a-name", "sqlite:///mlflow.db")


def test_opening_a_journal_creates_its_folder(tmp_path) -> None:
    location = StorageLocation("journal", str(tmp_path / "new" / "folder" / "study.log"))
    storage = open_storage(location, heartbeat_interval=10, grace_period=30)
    assert isinstance(storage, optuna.storages.JournalStorage)
    assert (tmp_path / "new" / "folder").is_dir()


def test_create_or_load_study_creates_a_study_with_the_directions(storage) -> None:
    study = reopen(storage, ["maximize", "minimize"])
    assert [d.name for d in study.directions] == ["MAXIMIZE", "MINIMIZE"]


def test_create_or_load_study_loads_an_existing_study_to_resume_it(storage, study) -> None:
    study.optimize(lambda trial: trial.suggest_float("x", 0, 1), n_trials=2)
    assert len(reopen(storage, ["maximize"]).trials) == 2


def test_a_study_with_other_directions_is_refused(storage, study) -> None:
    with pytest.raises(UsageError) as error:
        reopen(storage, ["maximize", "minimize"])
    assert str(error.value) == (
        "study 'recover' already exists with directions ['maximize'], not ['maximize', "
        "'minimize']: choose another study_name"
    )


def test_a_running_trial_of_a_dead_worker_is_failed(study, dead_pid) -> None:
    number = running_trial(study, here(dead_pid))
    recover_dead_workers_trials(study, JOURNAL)
    assert study.trials[number].state == TrialState.FAIL


def test_a_dead_workers_trial_is_queued_again_with_the_same_params(study, dead_pid) -> None:
    number = running_trial(study, here(dead_pid))
    recover_dead_workers_trials(study, JOURNAL)
    failed, retry = study.trials
    assert (retry.state, retry.params) == (TrialState.WAITING, failed.params)
    assert retry.system_attrs["failed_trial"] == number


def test_a_worker_then_runs_the_copy_with_the_same_params(study, dead_pid) -> None:
    running_trial(study, here(dead_pid))
    recover_dead_workers_trials(study, JOURNAL)
    study.optimize(lambda trial: trial.suggest_float("x", 0, 1), n_trials=1)
    failed, retry = study.trials
    assert (retry.state, retry.params) == (TrialState.COMPLETE, failed.params)


def test_a_running_trial_of_a_live_worker_is_left_alone(study) -> None:
    running_trial(study, here(os.getpid()))
    recover_dead_workers_trials(study, JOURNAL)
    assert states(study) == [TrialState.RUNNING]


def test_a_killed_worker_its_parent_has_not_reaped_yet_is_dead(study) -> None:
    process = subprocess.Popen(["true"])
    try:
        stat = Path(f"/proc/{process.pid}/stat")
        deadline = time.monotonic() + 10
        while stat.read_text().rsplit(")", 1)[1].split()[0] != "Z":  # exited, not reaped
            assert time.monotonic() < deadline, "the child never exited"
            time.sleep(0.01)
        running_trial(study, here(process.pid))
        recover_dead_workers_trials(study, JOURNAL)
    finally:
        process.wait()
    assert states(study) == [TrialState.FAIL, TrialState.WAITING]


@pytest.mark.parametrize(
    "worker",
    [None, "another-host:1", f"{socket.gethostname()}:not-a-pid"],
    ids=["no-worker", "another-host", "no-pid"],
)
def test_a_trial_whose_worker_this_host_cannot_judge_is_left_alone(study, worker) -> None:
    running_trial(study, worker)
    recover_dead_workers_trials(study, JOURNAL)
    assert states(study) == [TrialState.RUNNING]


def test_finished_trials_are_left_alone(study, dead_pid) -> None:
    trial = study.ask()
    trial.set_user_attr(WORKER_ATTR, here(dead_pid))
    study.tell(trial, 0.5)
    recover_dead_workers_trials(study, JOURNAL)
    assert states(study) == [TrialState.COMPLETE]
