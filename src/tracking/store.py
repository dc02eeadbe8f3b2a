"""The MLflow tracking store: which one (config, $MLFLOW_TRACKING_URI, or the project's sqlite
file), checked to answer before a run starts, and the experiment runs go into."""

from __future__ import annotations

import os
import socket
import sqlite3
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from urllib.parse import urlsplit

import mlflow
from mlflow.tracking import MlflowClient

from src.errors import UsageError
from src.tracking.owners import sweep_if_due
from src.tracking.redaction import redact

DEFAULT_TRACKING_URI = "sqlite:///mlruns/mlflow.db"
SERVER_CONNECT_TIMEOUT_S = 5
STORE_SCHEMES = {"", "file", "sqlite", "http", "https", "postgresql", "mysql", "mssql"}
STORE_SCHEMES |= {"databricks", "databricks-uc", "uc"}
# Concurrent writers (parallel trainings, tuning workers) wait this long for sqlite's write lock
# instead of failing with "database is locked". MLflow's own sessions set 20 s; this covers every
# other connection: schema setup and migrations, Optuna's sqlite storage.
SQLITE_BUSY_TIMEOUT_MS = 60_000
# An unreachable tracking server should fail in seconds, not after MLflow's default minutes of
# retries with exponential backoff. Users can still raise these through the environment.
HTTP_DEFAULTS = {
    "MLFLOW_HTTP_REQUEST_MAX_RETRIES": "2",
    "MLFLOW_HTTP_REQUEST_BACKOFF_FACTOR": "1",
    "MLFLOW_HTTP_REQUEST_TIMEOUT": "10",
}


class TrackingError(Exception):
    """The tracking store cannot be used; the message names the URI and where it came from."""


def _wait_for_sqlite_locks(dbapi_connection: object, _record: object) -> None:
    if isinstance(dbapi_connection, sqlite3.Connection):
        dbapi_connection.execute(f"PRAGMA busy_timeout = {SQLITE_BUSY_TIMEOUT_MS}")


def wait_for_sqlite_locks() -> None:
    """Every SQLAlchemy sqlite connection of this process (MLflow's, Optuna's) waits for the write
    lock instead of failing at once; installed by the first store or study storage opened."""
    from sqlalchemy import event
    from sqlalchemy.engine import Engine

    if not event.contains(Engine, "connect", _wait_for_sqlite_locks):
        event.listen(Engine, "connect", _wait_for_sqlite_locks)


def resolve_tracking_uri(configured: str | None = None) -> str:
    """`mlflow.tracking_uri` if set, else $MLFLOW_TRACKING_URI, else the project's sqlite store."""
    uri = configured or os.environ.get("MLFLOW_TRACKING_URI") or DEFAULT_TRACKING_URI
    local_db = sqlite_path(uri)
    if local_db is not None:
        try:
            local_db.parent.mkdir(parents=True, exist_ok=True)
        except OSError as error:
            raise TrackingError(
                f"{describe_uri(uri)}: cannot create the store's folder {local_db.parent}"
                f" ({error.strerror}); point it at a writable folder"
            ) from error
        if not os.access(local_db.parent, os.W_OK):
            raise TrackingError(
                f"{describe_uri(uri)}: the folder {local_db.parent} is not writable;"
                " point it at a writable folder"
            )
    return uri


def describe_uri(uri: str) -> str:
    """A tracking URI and the setting it came from, for error messages."""
    if os.environ.get("MLFLOW_TRACKING_URI") == uri:
        return f"MLFLOW_TRACKING_URI={redact(uri)}"
    if uri == DEFAULT_TRACKING_URI and not os.environ.get("MLFLOW_TRACKING_URI"):
        return f"the default tracking store {uri} (MLFLOW_TRACKING_URI is not set)"
    # The value alone cannot tell the default from the same URI given as mlflow.tracking_uri;
    # with the variable set to another store, only the config can have chosen this one.
    return f"mlflow.tracking_uri={redact(uri)}"


def sqlite_path(uri: str) -> Path | None:
    """The database file of a sqlite:/// URI, None for any other store."""
    prefix = "sqlite:///"
    return Path(uri[len(prefix) :]) if uri.startswith(prefix) else None


def use_store(tracking_uri: str, close_dead_runs: bool = True) -> MlflowClient:
    """A client of a store that answers: a server that does not, or a bad URI, fails in seconds.

    The first query creates a new sqlite store's tables; processes starting together take turns
    (a lock on the store's folder), since MLflow's schema setup is not safe to run concurrently.
    Then, once in a while, runs left RUNNING by dead processes are closed (src/tracking/owners.py).
    """
    for name, value in HTTP_DEFAULTS.items():
        os.environ.setdefault(name, value)
    wait_for_sqlite_locks()
    where = describe_uri(tracking_uri)
    scheme = urlsplit(tracking_uri).scheme.partition("+")[0]  # postgresql+psycopg2 -> postgresql
    if scheme not in STORE_SCHEMES:
        raise UsageError(
            f"{where}: unsupported scheme {scheme!r}; expected sqlite:///PATH/mlflow.db,"
            " http(s)://HOST:PORT of an MLflow server, a postgresql/mysql/mssql URL or a folder"
        )
    if scheme in ("http", "https"):
        _check_server_reachable(tracking_uri, where)
    try:
        with _store_setup_lock(sqlite_path(tracking_uri)):
            client = MlflowClient(tracking_uri)
            client.search_experiments(max_results=1)
    except Exception as error:  # MlflowException, SQLAlchemy and OS errors
        reason = " ".join(str(error).split()).split(" [SQL:")[0].split(". ")[0][:200]
        reason = reason or type(error).__name__
        raise TrackingError(
            f"{where}: cannot open the tracking store ({redact(reason)})"
        ) from error
    mlflow.set_tracking_uri(tracking_uri)  # for the fluent API: runs, artifacts, models
    if close_dead_runs:
        sweep_if_due(client)
    return client


def _check_server_reachable(uri: str, where: str) -> None:
    try:
        parts = urlsplit(uri)
        port = parts.port or (443 if parts.scheme == "https" else 80)
        if not parts.hostname:
            raise ValueError("no host")
    except ValueError as error:
        raise UsageError(f"{where}: malformed server URL ({error})") from error
    try:
        socket.create_connection((parts.hostname, port), timeout=SERVER_CONNECT_TIMEOUT_S).close()
    except OSError as error:
        reason = error.strerror or str(error) or type(error).__name__
        raise TrackingError(
            f"{where}: cannot reach an MLflow server at {parts.hostname}:{port} ({reason});"
            f" start it, or unset MLFLOW_TRACKING_URI to use the local {DEFAULT_TRACKING_URI}"
        ) from error


@contextmanager
def _store_setup_lock(db: Path | None) -> Iterator[None]:
    if db is None or os.name != "posix":
        yield
        return
    import fcntl

    folder = os.open(db.parent, os.O_RDONLY)
    try:
        fcntl.flock(folder, fcntl.LOCK_EX)
        yield
    finally:
        os.close(folder)  # releases the lock


def ensure_experiment(client: MlflowClient, name: str) -> str:
    """The experiment's id, created on first use with its artifacts beside a local sqlite store."""
    experiment = client.get_experiment_by_name(name)
    if experiment is not None and experiment.lifecycle_stage == "deleted":
        raise TrackingError(
            f"mlflow.experiment_name={name!r}: the experiment is deleted; restore it"
            f" (`mlflow experiments restore --experiment-id {experiment.experiment_id}`)"
            " or choose another name"
        )
    if experiment is not None:
        return experiment.experiment_id
    local_db = sqlite_path(client.tracking_uri)
    location = None
    if local_db is not None:
        location = (local_db.parent.resolve() / "artifacts").as_uri()
    try:
        return client.create_experiment(name, artifact_location=location)
    except mlflow.exceptions.MlflowException:
        # Another process created it between our lookup and create.
        return client.get_experiment_by_name(name).experiment_id
