"""Where a study's trials live, and how the trials of dead workers are recovered.

- Default: Optuna's journal file `optuna-journal.log` beside the MLflow sqlite store (mlruns/),
  safe for any number of processes on one machine (SQLite is not, for parallel writers).
- A database URL (`postgresql://user:password@host:5432/db`): any number of machines. Heartbeats
  are on; a trial whose worker stops beating for `grace_period` seconds is failed and queued again
  with the same params (RetryHeartbeatStaleTrialCallback, the new name of RetryFailedTrialCallback).
- Journal files have no heartbeat, so a RUNNING trial whose worker process on this host is gone
  (SIGKILL, out of memory) is failed and retried the same way, by checking its PID.
"""

from __future__ import annotations

import os
import socket
import warnings
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from src.errors import UsageError, one_line
from src.runtime.processes import pid_alive
from src.tracking.store import sqlite_path, wait_for_sqlite_locks

if TYPE_CHECKING:
    import optuna

JOURNAL_FILE = "optuna-journal.log"
WORKER_ATTR = "worker"  # trial user attr "<host>:<pid>" of the process running it
MAX_RETRIES = 3


@dataclass(frozen=True)
class StorageLocation:
    kind: str
    """"journal" or "database"."""
    target: str
    """The journal file's path or the database URL."""

    @property
    def display(self) -> str:
        """Safe to print and log: a database password is masked."""
        if self.kind == "journal":
            return self.target
        from sqlalchemy.engine import make_url

        return make_url(self.target).render_as_string(hide_password=True)


def worker_id() -> str:
    return f"{socket.gethostname()}:{os.getpid()}"


def locate(storage: str | None, tracking_uri: str) -> StorageLocation:
    """The study storage named by `storage`, or the default journal beside the MLflow store."""
    if storage is None:
        local_db = sqlite_path(tracking_uri)
        folder = local_db.parent if local_db is not None else Path("mlruns")
        return StorageLocation("journal", str(folder / JOURNAL_FILE))
    if "://" in storage:
        from sqlalchemy.engine import make_url
        from sqlalchemy.exc import ArgumentError, NoSuchModuleError

        try:
            url = make_url(storage)
            url.get_dialect()
        except (ArgumentError, NoSuchModuleError, ValueError) as error:
            raise UsageError(
                f"storage={storage!r} is not a database URL that SQLAlchemy knows "
                f"(e.g. postgresql://user:password@host:5432/db): {one_line(str(error))}"
            ) from None
        if url.drivername == "postgresql":
            url = url.set(drivername=f"postgresql+{_postgres_driver()}")
        return StorageLocation("database", url.render_as_string(hide_password=False))
    if storage.endswith(".log") or Path(storage).is_file():
        return StorageLocation("journal", storage)
    raise UsageError(
        f"storage={storage!r} is neither a database URL (postgresql://user:password@host/db) "
        "nor a journal file (a path ending in .log)"
    )


def _postgres_driver() -> str:
    """SQLAlchemy 2.1 means psycopg (3) by postgresql://; fall back to psycopg2 when only it is
    installed, so the plain URL works with either driver."""
    import importlib.util

    return "psycopg" if importlib.util.find_spec("psycopg") else "psycopg2"


def open_storage(
    location: StorageLocation, heartbeat_interval: int, grace_period: int
) -> optuna.storages.BaseStorage:
    from optuna.exceptions import ExperimentalWarning
    from optuna.storages import JournalStorage, RDBStorage, RetryHeartbeatStaleTrialCallback
    from optuna.storages.journal import JournalFileBackend

    if location.kind == "journal":
        Path(location.target).parent.mkdir(parents=True, exist_ok=True)
        return JournalStorage(JournalFileBackend(location.target))
    from sqlalchemy.exc import SQLAlchemyError

    wait_for_sqlite_locks()  # an sqlite:/// study storage, as MLflow's store
    connect_args = {"connect_timeout": 10} if location.target.startswith("postgres") else {}
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", ExperimentalWarning)
            return RDBStorage(
                location.target,
                engine_kwargs={"pool_pre_ping": True, "connect_args": connect_args},
                heartbeat_interval=heartbeat_interval,
                grace_period=grace_period,
                heartbeat_stale_trial_callback=RetryHeartbeatStaleTrialCallback(MAX_RETRIES),
            )
    except ImportError as error:
        raise UsageError(f"storage {location.display}: database driver missing: {error}") from None
    except SQLAlchemyError as error:
        reason = one_line(str(getattr(error, "orig", None) or error))
        raise ConnectionError(f"cannot open study storage {location.display}: {reason}") from None


def create_or_load_study(
    storage: optuna.storages.BaseStorage,
    study_name: str,
    directions: list[str],
    sampler: optuna.samplers.BaseSampler,
    pruner: optuna.pruners.BasePruner,
) -> optuna.Study:
    """Create the study, or load it to resume; its objectives must match the config's."""
    import optuna

    study = optuna.create_study(
        storage=storage,
        study_name=study_name,
        directions=directions,
        sampler=sampler,
        pruner=pruner,
        load_if_exists=True,
    )
    existing = [d.name.lower() for d in study.directions]
    if existing != directions:
        raise UsageError(
            f"study {study_name!r} already exists with directions {existing}, not {directions}: "
            "choose another study_name"
        )
    return study


def recover_dead_workers_trials(study: optuna.Study, location: StorageLocation) -> list:
    """Fail and re-queue RUNNING trials whose worker is gone (by heartbeat on a database, by a
    dead PID on this host for a journal file); a worker then runs the copy with the same params.
    Returns the trials this call failed (FrozenTrials as they were while RUNNING)."""
    from optuna.exceptions import ExperimentalWarning
    from optuna.storages import RetryHeartbeatStaleTrialCallback, fail_stale_trials
    from optuna.trial import TrialState

    running = study.get_trials(deepcopy=False, states=(TrialState.RUNNING,))
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ExperimentalWarning)
        if location.kind == "database":
            if not running:
                return []
            fail_stale_trials(study)
            now = {t.number: t.state for t in study.get_trials(deepcopy=False)}
            return [t for t in running if now.get(t.number) == TrialState.FAIL]
        retry = RetryHeartbeatStaleTrialCallback(MAX_RETRIES)
        failed = []
        for trial in running:
            host, _, pid = str(trial.user_attrs.get(WORKER_ATTR, "")).rpartition(":")
            if host != socket.gethostname() or not pid.isdigit() or pid_alive(int(pid)):
                continue
            try:
                study.tell(trial.number, state=TrialState.FAIL)
            except (ValueError, RuntimeError):
                continue  # another worker recovered it first
            retry(study, trial)
            failed.append(trial)
        return failed
