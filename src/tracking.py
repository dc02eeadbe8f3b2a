"""MLflow: where the store is, the run's lifecycle, and what goes into a run."""

from __future__ import annotations

import logging
import os
import platform
import random
import re
import signal
import socket
import sqlite3
import subprocess
import time
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import mlflow
from lightning.pytorch.loggers.logger import Logger
from lightning.pytorch.utilities import rank_zero_only
from mlflow.entities import Metric, Param, RunTag
from mlflow.tracking import MlflowClient
from sqlalchemy import event
from sqlalchemy.engine import Engine

from src.cli import UsageError
from src.interrupts import RunInterrupted

DEFAULT_TRACKING_URI = "sqlite:///mlruns/mlflow.db"
MAX_PARAMS_PER_BATCH = 100  # MLflow's log_batch limit
MAX_DIGEST_CHARS = 36  # MLflow's limit for a dataset digest
SERVER_CONNECT_TIMEOUT_S = 5
STORE_SCHEMES = {"", "file", "sqlite", "http", "https", "postgresql", "mysql", "mssql"}
STORE_SCHEMES |= {"databricks", "databricks-uc", "uc"}
# Concurrent writers (parallel trainings, tuning workers) wait this long for sqlite's write lock
# instead of failing with "database is locked". MLflow's own sessions set 20 s; this covers every
# other connection: schema setup and migrations, Optuna's sqlite storage.
SQLITE_BUSY_TIMEOUT_MS = 60_000
# Environment variables whose values never go into params, tags or artifacts.
SECRET_NAME = re.compile(r"KEY|TOKEN|SECRET|PASSWORD|PASSWD|CREDENTIAL", re.IGNORECASE)
MIN_SECRET_CHARS = 6  # shorter values ("1", "true") would blank out ordinary params
_URL_PASSWORD = re.compile(r"(\b[a-zA-Z][\w+.-]*://[^:@/\s]*):([^@/\s]+)@")

# First-use schema messages would make a one-line error three lines.
logging.getLogger("mlflow.store.db.utils").setLevel(logging.WARNING)
# An unreachable tracking server should fail in seconds, not after MLflow's default minutes of
# retries with exponential backoff. Users can still raise these through the environment.
os.environ.setdefault("MLFLOW_HTTP_REQUEST_MAX_RETRIES", "2")
os.environ.setdefault("MLFLOW_HTTP_REQUEST_BACKOFF_FACTOR", "1")
os.environ.setdefault("MLFLOW_HTTP_REQUEST_TIMEOUT", "10")


class TrackingError(Exception):
    """The tracking store cannot be used; the message names the URI and where it came from."""


@event.listens_for(Engine, "connect")
def _wait_for_sqlite_locks(dbapi_connection: object, _record: object) -> None:
    if isinstance(dbapi_connection, sqlite3.Connection):
        dbapi_connection.execute(f"PRAGMA busy_timeout = {SQLITE_BUSY_TIMEOUT_MS}")


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
    if uri == DEFAULT_TRACKING_URI:
        return f"the default tracking store {uri} (MLFLOW_TRACKING_URI is not set)"
    return f"mlflow.tracking_uri={redact(uri)}"


def sqlite_path(uri: str) -> Path | None:
    """The database file of a sqlite:/// URI, None for any other store."""
    prefix = "sqlite:///"
    return Path(uri[len(prefix) :]) if uri.startswith(prefix) else None


def use_store(tracking_uri: str) -> MlflowClient:
    """A client of a store that answers: a server that does not, or a bad URI, fails in seconds.

    The first query creates a new sqlite store's tables; processes starting together take turns
    (a lock on the store's folder), since MLflow's schema setup is not safe to run concurrently.
    """
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


@contextmanager
def tracked_run(
    experiment_id: str,
    run_name: str | None = None,
    run_id: str | None = None,
    nested: bool = False,
    tags: Mapping[str, str] | None = None,
) -> Iterator[mlflow.ActiveRun]:
    """An MLflow run whose final status is honest: FINISHED, FAILED, or KILLED on a signal."""
    # MLflow draws random run names from Python's `random`, which seed_everything has fixed: every
    # unnamed run with the same seed would get the same name. Fresh entropy for the name only.
    seeded = random.getstate()
    random.seed()
    try:
        run = mlflow.start_run(
            run_id=run_id,
            experiment_id=experiment_id,
            run_name=redact(run_name) if run_name else None,
            nested=nested,
            tags={key: redact(str(value)) for key, value in (tags or {}).items()},
        )
    finally:
        random.setstate(seeded)
    try:
        yield run
    except RunInterrupted as error:
        mlflow.end_run("KILLED")
        error.run_id = error.run_id or run.info.run_id
        raise
    except KeyboardInterrupt as error:  # Ctrl-C outside a Lightning loop
        mlflow.end_run("KILLED")
        interrupted = RunInterrupted(signal.SIGINT)
        interrupted.run_id = run.info.run_id
        raise interrupted from error
    except BaseException:
        mlflow.end_run("FAILED")
        raise
    mlflow.end_run("FINISHED")


def flatten(config: Mapping[str, Any], prefix: str = "") -> dict[str, Any]:
    """{"model": {"dropout": 0.2}} -> {"model.dropout": 0.2}."""
    flat: dict[str, Any] = {}
    for key, value in config.items():
        name = f"{prefix}{key}"
        if isinstance(value, Mapping):
            flat.update(flatten(value, f"{name}."))
        else:
            flat[name] = value
    return flat


def log_params(client: MlflowClient, run_id: str, config: Mapping[str, Any]) -> None:
    """The flattened config as params. MLflow params are immutable, so on a resumed run values
    that changed (say trainer.max_epochs) are recorded as `override.<key>` tags instead."""
    logged = client.get_run(run_id).data.params
    values = {key: redact(str(value)) for key, value in flatten(config).items()}
    changed = {k: v for k, v in values.items() if k in logged and logged[k] != v}
    if changed:
        log_tags(client, run_id, {f"override.{k}": v for k, v in changed.items()})
    params = [Param(k, v) for k, v in sorted(values.items()) if k not in logged]
    for start in range(0, len(params), MAX_PARAMS_PER_BATCH):
        client.log_batch(run_id, params=params[start : start + MAX_PARAMS_PER_BATCH])


def log_tags(client: MlflowClient, run_id: str, tags: Mapping[str, str]) -> None:
    batch = [RunTag(key, redact(str(value))) for key, value in tags.items()]
    client.log_batch(run_id, tags=batch)


def redact(text: str) -> str:
    """Text safe to log: URL passwords and the values of secret environment variables masked.

    Secret variables are those whose names contain KEY, TOKEN, SECRET, PASSWORD, PASSWD or
    CREDENTIAL; their values (6 characters or more) are replaced by *** wherever they appear.
    """
    text = _URL_PASSWORD.sub(r"\1:***@", text)
    secrets = {
        value
        for name, value in os.environ.items()
        if SECRET_NAME.search(name) and len(value) >= MIN_SECRET_CHARS
    }
    for value in sorted(secrets, key=len, reverse=True):
        text = text.replace(value, "***")
    return text


def redact_config(config: Any) -> Any:
    """A config dict (or list, or value) with every string passed through `redact`."""
    if isinstance(config, Mapping):
        return {key: redact_config(value) for key, value in config.items()}
    if isinstance(config, list | tuple):
        return [redact_config(value) for value in config]
    return redact(config) if isinstance(config, str) else config


def git_tags(cwd: str | Path = ".") -> dict[str, str]:
    """The commit the code came from and whether the work tree had uncommitted changes."""

    def git(*args: str) -> str | None:
        try:
            out = subprocess.run(
                ["git", *args], cwd=cwd, capture_output=True, text=True, timeout=10, check=True
            )
        except (OSError, subprocess.SubprocessError):
            return None
        return out.stdout.strip()

    commit = git("rev-parse", "HEAD")
    if commit is None:
        return {"git_commit": "unknown", "git_dirty": "unknown"}
    status = git("status", "--porcelain", "--untracked-files=no")
    return {"git_commit": commit, "git_dirty": str(bool(status))}


def environment_tags(
    accelerator: str, device_name: str, precision: str, devices: int
) -> dict[str, str]:
    """What makes runs comparable across machines."""
    import lightning
    import torch

    from src.build import usable_cpus

    return {
        "accelerator": accelerator,
        "device_name": device_name,
        "devices": str(devices),
        "precision": precision,
        "torch_version": torch.__version__,
        "lightning_version": lightning.__version__,
        "cuda_version": str(torch.version.cuda),
        "python_version": platform.python_version(),
        "host_cpu_count": str(os.cpu_count()),
        "usable_cpus": str(usable_cpus()),  # the affinity mask: taskset or a container's cpuset
        "torch_threads": str(torch.get_num_threads()),
    }


class MlflowRunLogger(Logger):
    """Lightning logger writing into a run this process already owns.

    Lightning's MLFlowLogger creates and terminates runs itself (FINISHED right after fit, before
    testing); owning the run in `tracked_run` keeps its status honest. Each epoch's metrics go in
    one `log_batch` call.
    """

    def __init__(self, client: MlflowClient, run_id: str) -> None:
        super().__init__()
        self._client = client
        self._run_id = run_id

    @property
    def name(self) -> str:
        return "mlflow"

    @property
    def version(self) -> str:
        return self._run_id

    @property
    def experiment(self) -> MlflowClient:
        return self._client

    @rank_zero_only
    def log_hyperparams(self, params: Any, *args: Any, **kwargs: Any) -> None:
        """Parameters come from the resolved config (`log_params`), not from Lightning."""

    @rank_zero_only
    def log_metrics(self, metrics: Mapping[str, float], step: int | None = None) -> None:
        values = {key: float(value) for key, value in metrics.items()}
        epoch = int(values.pop("epoch", step or 0))
        if not values:
            return
        timestamp = int(time.time() * 1000)
        batch = [Metric(key, value, timestamp, epoch) for key, value in values.items()]
        self._client.log_batch(self._run_id, metrics=batch)


def log_dataset(name: str, source: str, digest: str, features, targets) -> None:
    """The training data as a run input (name, source, digest) into the active run."""
    import mlflow.data
    from mlflow.data.code_dataset_source import CodeDatasetSource

    dataset = mlflow.data.from_numpy(
        features=features,
        targets=targets,
        source=CodeDatasetSource({"description": source}),
        name=name,
        digest=digest[:MAX_DIGEST_CHARS],
    )
    mlflow.log_input(dataset, context="training")
