"""A training run's life in MLflow: opened and closed with an honest status, its params, tags
(code version, machine) and dataset."""

from __future__ import annotations

import os
import platform
import random
import signal
import subprocess
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import mlflow
from mlflow.entities import Param, RunTag
from mlflow.tracking import MlflowClient

from src.config.dotted import flatten
from src.runtime.signals import RunInterrupted
from src.runtime.threads import usable_cpus
from src.tracking.owners import keep_alive, owner_tags
from src.tracking.redaction import redact
from src.tracking.system_metrics import system_metrics

MAX_PARAMS_PER_BATCH = 100  # MLflow's log_batch limit
MAX_DIGEST_CHARS = 36  # MLflow's limit for a dataset digest


@contextmanager
def tracked_run(
    experiment_id: str,
    run_name: str | None = None,
    run_id: str | None = None,
    nested: bool = False,
    tags: Mapping[str, str] | None = None,
    system_metrics_s: float | None = None,
) -> Iterator[mlflow.ActiveRun]:
    """An MLflow run whose final status is honest: FINISHED, FAILED, or KILLED on a signal; and
    if this process dies without a word (SIGKILL), its owner tag and heartbeat let the next
    process close it (src/tracking/owners.py). With `system_metrics_s`, MLflow's system metrics
    are sampled that often while it is open (src/tracking/system_metrics.py)."""
    # MLflow draws random run names from Python's `random`, which seed_everything has fixed: every
    # unnamed run with the same seed would get the same name. Fresh entropy for the name only.
    seeded = random.getstate()
    random.seed()
    tags = {key: redact(str(value)) for key, value in (tags or {}).items()}
    try:  # a resumed run gets the tags too: its owner is this process now
        run = mlflow.start_run(
            run_id=run_id,
            experiment_id=experiment_id,
            run_name=redact(run_name) if run_name else None,
            nested=nested,
            tags={**tags, **owner_tags()},
            log_system_metrics=False,  # ours below, whatever MLFLOW_ENABLE_SYSTEM_METRICS_LOGGING
        )
    finally:
        random.setstate(seeded)
    try:
        with (
            keep_alive(MlflowClient(), run.info.run_id),
            system_metrics(run.info.run_id, system_metrics_s, resumed=run_id is not None),
        ):  # left before the run is closed: its last sample goes into a run still RUNNING
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
        "usable_cpus": str(usable_cpus()),  # the affinity mask: taskset or a container's cpuset
        "torch_threads": str(torch.get_num_threads()),
    }


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
