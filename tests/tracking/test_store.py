"""src/tracking/store.py: which MLflow store, checked to answer before a run starts, and the
experiment runs go into. Real sqlite stores in temporary folders."""

from __future__ import annotations

import os
import time
import uuid
from pathlib import Path

import mlflow
import pytest
import sqlalchemy
from mlflow.tracking import MlflowClient

from src.errors import UsageError
from src.tracking.store import (
    DEFAULT_TRACKING_URI,
    HTTP_DEFAULTS,
    SERVER_CONNECT_TIMEOUT_S,
    SQLITE_BUSY_TIMEOUT_MS,
    TrackingError,
    describe_uri,
    ensure_experiment,
    resolve_tracking_uri,
    sqlite_path,
    use_store,
)
from tests.helpers import free_port


@pytest.fixture
def no_env_uri(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("MLFLOW_TRACKING_URI", raising=False)


@pytest.fixture
def client(mlflow_store: str) -> MlflowClient:
    """A client of the session's sqlite store (a fresh one costs seconds)."""
    return use_store(mlflow_store)


@pytest.fixture
def experiment_name() -> str:
    return f"store-{uuid.uuid4().hex[:8]}"


def test_the_configured_uri_wins_over_the_environment(tmp_path, monkeypatch) -> None:
    monkeypatch.setenv("MLFLOW_TRACKING_URI", f"sqlite:///{tmp_path}/env/mlflow.db")
    configured = f"sqlite:///{tmp_path}/config/mlflow.db"
    assert resolve_tracking_uri(configured) == configured


def test_the_environment_wins_over_the_default(tmp_path, monkeypatch) -> None:
    monkeypatch.setenv("MLFLOW_TRACKING_URI", f"sqlite:///{tmp_path}/env/mlflow.db")
    assert resolve_tracking_uri(None) == f"sqlite:///{tmp_path}/env/mlflow.db"


def test_without_either_the_default_sqlite_store_under_mlruns(
    tmp_path, monkeypatch, no_env_uri
) -> None:
    monkeypatch.chdir(tmp_path)
    assert resolve_tracking_uri() == DEFAULT_TRACKING_URI == "sqlite:///mlruns/mlflow.db"
    assert (tmp_path / "mlruns").is_dir()


def test_resolving_a_sqlite_uri_creates_its_folder(tmp_path) -> None:
    resolve_tracking_uri(f"sqlite:///{tmp_path}/a/b/mlflow.db")
    assert (tmp_path / "a" / "b").is_dir()


def test_a_server_uri_is_resolved_as_it_is(no_env_uri) -> None:
    assert resolve_tracking_uri("http://127.0.0.1:5000") == "http://127.0.0.1:5000"


def test_a_store_folder_that_cannot_be_created_is_a_tracking_error(tmp_path, no_env_uri) -> None:
    (tmp_path / "file").write_text("")
    uri = f"sqlite:///{tmp_path}/file/store/mlflow.db"
    with pytest.raises(TrackingError) as error:
        resolve_tracking_uri(uri)
    assert str(error.value) == (
        f"mlflow.tracking_uri={uri}: cannot create the store's folder {tmp_path}/file/store"
        " (Not a directory); point it at a writable folder"
    )


@pytest.mark.skipif(os.geteuid() == 0, reason="root may write into any folder")
def test_a_store_folder_that_is_not_writable_is_a_tracking_error(tmp_path, no_env_uri) -> None:
    folder = tmp_path / "readonly"
    folder.mkdir(mode=0o500)
    with pytest.raises(TrackingError, match=f"the folder {folder} is not writable"):
        resolve_tracking_uri(f"sqlite:///{folder}/mlflow.db")


def test_describe_uri_names_the_environment_variable_it_came_from(monkeypatch) -> None:
    monkeypatch.setenv("MLFLOW_TRACKING_URI", "http://user:hunter22@host:5000")
    assert describe_uri("http://user:hunter22@host:5000") == (
        "MLFLOW_TRACKING_URI=http://user:***@host:5000"
    )


def test_describe_uri_says_the_default_is_the_default(no_env_uri) -> None:
    assert describe_uri(DEFAULT_TRACKING_URI) == (
        "the default tracking store sqlite:///mlruns/mlflow.db (MLFLOW_TRACKING_URI is not set)"
    )


def test_describe_uri_never_says_the_variable_is_unset_while_it_is_set(monkeypatch) -> None:
    monkeypatch.setenv("MLFLOW_TRACKING_URI", "http://127.0.0.1:5000")
    assert "MLFLOW_TRACKING_URI is not set" not in describe_uri(DEFAULT_TRACKING_URI)


def test_describe_uri_of_anything_else_names_the_config_key(monkeypatch) -> None:
    monkeypatch.setenv("MLFLOW_TRACKING_URI", "sqlite:///other.db")
    assert describe_uri("http://user:hunter22@host:5000") == (
        "mlflow.tracking_uri=http://user:***@host:5000"
    )


@pytest.mark.parametrize(
    ("uri", "path"),
    [
        ("sqlite:///mlruns/mlflow.db", Path("mlruns/mlflow.db")),
        ("sqlite:////abs/store/mlflow.db", Path("/abs/store/mlflow.db")),
        ("http://host:5000", None),
        ("postgresql://host/db", None),
        ("mlruns", None),
    ],
)
def test_sqlite_path_is_the_database_file_of_a_sqlite_uri_only(uri, path) -> None:
    assert sqlite_path(uri) == path


def test_use_store_creates_a_fresh_sqlite_store_and_points_mlflow_at_it(tmp_path) -> None:
    uri = resolve_tracking_uri(f"sqlite:///{tmp_path}/fresh/mlflow.db")
    client = use_store(uri)
    assert (tmp_path / "fresh" / "mlflow.db").is_file()
    assert [e.name for e in client.search_experiments()] == ["Default"]
    assert (client.tracking_uri, mlflow.get_tracking_uri()) == (uri, uri)


def test_a_file_that_is_not_a_database_is_a_tracking_error(tmp_path, no_env_uri) -> None:
    (tmp_path / "mlflow.db").write_text("not sqlite " * 100)
    with pytest.raises(TrackingError, match=r"cannot open the tracking store \(.*not a database"):
        use_store(f"sqlite:///{tmp_path}/mlflow.db")


@pytest.mark.parametrize("uri", ["ftp://host/store", "s3://bucket/mlruns"])
def test_an_unsupported_scheme_is_a_usage_error(uri, no_env_uri) -> None:
    scheme = uri.partition(":")[0]
    with pytest.raises(
        UsageError, match=f"^mlflow.tracking_uri={uri}: unsupported scheme '{scheme}'"
    ):
        use_store(uri)


@pytest.mark.parametrize(
    ("uri", "reason"), [("http://", "no host"), ("http://host:port", "Port could not be cast")]
)
def test_a_malformed_server_url_is_a_usage_error(uri, reason, no_env_uri) -> None:
    with pytest.raises(UsageError, match=rf"malformed server URL \({reason}"):
        use_store(uri)


def test_a_server_that_does_not_answer_fails_fast_as_a_tracking_error(no_env_uri) -> None:
    port = free_port()
    started = time.monotonic()
    with pytest.raises(TrackingError, match=f"cannot reach an MLflow server at 127.0.0.1:{port}"):
        use_store(f"http://127.0.0.1:{port}")
    assert time.monotonic() - started < SERVER_CONNECT_TIMEOUT_S


def test_use_store_sets_short_http_retries_unless_the_user_chose(mlflow_store, monkeypatch) -> None:
    for name in HTTP_DEFAULTS:  # recorded first, so that monkeypatch restores what was there
        monkeypatch.setenv(name, "placeholder")
        monkeypatch.delenv(name)
    monkeypatch.setenv("MLFLOW_HTTP_REQUEST_MAX_RETRIES", "7")
    use_store(mlflow_store)
    assert os.environ["MLFLOW_HTTP_REQUEST_MAX_RETRIES"] == "7"
    assert os.environ["MLFLOW_HTTP_REQUEST_TIMEOUT"] == HTTP_DEFAULTS["MLFLOW_HTTP_REQUEST_TIMEOUT"]


def test_after_use_store_every_sqlite_connection_waits_for_the_write_lock(client, tmp_path) -> None:
    engine = sqlalchemy.create_engine(f"sqlite:///{tmp_path}/other.db")
    try:
        with engine.connect() as connection:
            timeout = connection.exec_driver_sql("PRAGMA busy_timeout").scalar()
    finally:
        engine.dispose()
    assert timeout == SQLITE_BUSY_TIMEOUT_MS


def test_ensure_experiment_creates_it_once(client, experiment_name) -> None:
    first = ensure_experiment(client, experiment_name)
    assert ensure_experiment(client, experiment_name) == first
    assert client.get_experiment(first).name == experiment_name


def test_a_new_experiment_keeps_its_artifacts_beside_the_sqlite_file(
    client, mlflow_store, experiment_name
) -> None:
    experiment = client.get_experiment(ensure_experiment(client, experiment_name))
    beside = sqlite_path(mlflow_store).parent.resolve() / "artifacts"
    assert experiment.artifact_location == beside.as_uri()


def test_a_deleted_experiment_is_refused_with_how_to_restore_it(client, experiment_name) -> None:
    experiment_id = ensure_experiment(client, experiment_name)
    client.delete_experiment(experiment_id)
    with pytest.raises(TrackingError) as error:
        ensure_experiment(client, experiment_name)
    assert f"mlflow.experiment_name={experiment_name!r}: the experiment is deleted" in str(
        error.value
    )
    assert f"`mlflow experiments restore --experiment-id {experiment_id}`" in str(error.value)
