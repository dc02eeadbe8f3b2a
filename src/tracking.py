"""MLflow: where the store is, the run's lifecycle, and what goes into a run."""

from __future__ import annotations

import os
import platform
import subprocess
import time
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import mlflow
from lightning.pytorch.loggers.logger import Logger
from lightning.pytorch.utilities import rank_zero_only
from mlflow.entities import Metric, Param, RunTag
from mlflow.tracking import MlflowClient

DEFAULT_TRACKING_URI = "sqlite:///mlruns/mlflow.db"
MAX_PARAMS_PER_BATCH = 100  # MLflow's log_batch limit
MAX_DIGEST_CHARS = 36  # MLflow's limit for a dataset digest

# An unreachable tracking server should fail in seconds, not after MLflow's default minutes of
# retries with exponential backoff. Users can still raise these through the environment.
os.environ.setdefault("MLFLOW_HTTP_REQUEST_MAX_RETRIES", "2")
os.environ.setdefault("MLFLOW_HTTP_REQUEST_BACKOFF_FACTOR", "1")
os.environ.setdefault("MLFLOW_HTTP_REQUEST_TIMEOUT", "10")


class RunInterrupted(BaseException):
    """Stopped by SIGINT/SIGTERM: the run is marked KILLED and the process exits 128 + signal."""

    def __init__(self, signum: int) -> None:
        super().__init__(f"interrupted by signal {signum}")
        self.exit_code = 128 + signum


def resolve_tracking_uri(configured: str | None = None) -> str:
    """`mlflow.tracking_uri` if set, else $MLFLOW_TRACKING_URI, else the project's sqlite store."""
    uri = configured or os.environ.get("MLFLOW_TRACKING_URI") or DEFAULT_TRACKING_URI
    local_db = sqlite_path(uri)
    if local_db is not None:
        local_db.parent.mkdir(parents=True, exist_ok=True)
    return uri


def sqlite_path(uri: str) -> Path | None:
    """The database file of a sqlite:/// URI, None for any other store."""
    prefix = "sqlite:///"
    return Path(uri[len(prefix) :]) if uri.startswith(prefix) else None


def use_store(tracking_uri: str) -> MlflowClient:
    mlflow.set_tracking_uri(tracking_uri)
    return MlflowClient(tracking_uri)


def ensure_experiment(client: MlflowClient, name: str) -> str:
    """The experiment's id, created on first use with its artifacts beside a local sqlite store."""
    experiment = client.get_experiment_by_name(name)
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
    run = mlflow.start_run(
        run_id=run_id, experiment_id=experiment_id, run_name=run_name, nested=nested, tags=tags
    )
    try:
        yield run
    except (RunInterrupted, KeyboardInterrupt):
        mlflow.end_run("KILLED")
        raise
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
    params = [Param(key, str(value)) for key, value in sorted(flatten(config).items())]
    for start in range(0, len(params), MAX_PARAMS_PER_BATCH):
        client.log_batch(run_id, params=params[start : start + MAX_PARAMS_PER_BATCH])


def log_tags(client: MlflowClient, run_id: str, tags: Mapping[str, str]) -> None:
    client.log_batch(run_id, tags=[RunTag(key, str(value)) for key, value in tags.items()])


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


def log_model(net, input_example, name: str = "model", registered_name: str | None = None):
    """Log the network into the active run so that `mlflow.pyfunc.load_model` can predict.

    Requirements are given explicitly: inferring them imports and inspects the environment, which
    takes seconds, more than the rest of a short run's logging.
    """
    import lightning
    import mlflow.pytorch
    import torch
    from mlflow.models import infer_signature

    net = net.to("cpu").eval()
    with torch.no_grad():
        output = net(torch.as_tensor(input_example)).numpy()
    requirements = [
        f"torch=={torch.__version__.split('+')[0]}",
        f"mlflow=={mlflow.__version__}",
        f"lightning=={lightning.__version__}",
    ]
    return mlflow.pytorch.log_model(
        net,
        name=name,
        signature=infer_signature(input_example, output),
        input_example=input_example,
        pip_requirements=requirements,
        serialization_format="pickle",
        registered_model_name=registered_name,
    )
