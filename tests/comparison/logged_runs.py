"""Runs logged as training and the group runner log them (the run contract in
docs/comparing.md), without training: real MLflow runs in the session's temporary store."""

from __future__ import annotations

import tempfile
import uuid
from pathlib import Path

import numpy as np
from mlflow.entities import Dataset, DatasetInput, InputTag

from src.data.sources import load_dataset

MemberValues = dict[tuple[int, int | None], dict[str, float]]


def new_experiment(client) -> str:
    return client.create_experiment(f"compare-{uuid.uuid4().hex[:8]}")


def log_run(
    client,
    experiment_id: str,
    name: str,
    metrics: dict[str, float],
    tags: dict[str, str] | None = None,
    data_dir: Path | None = None,
    predictions: np.ndarray | None = None,
    status: str = "FINISHED",
) -> str:
    """One training run: metrics, the data params, and test_predictions.npy when given."""
    run_id = client.create_run(experiment_id, run_name=name, tags=tags or {}).info.run_id
    for key, value in metrics.items():
        client.log_metric(run_id, key, value)
    if data_dir is not None:
        client.log_param(run_id, "data.dataset", "mnist")
        client.log_param(run_id, "data.data_dir", str(data_dir))
        digest = load_dataset("mnist", data_dir, allow_download=False).digest[:36]
        dataset = Dataset("mnist", digest, "code", "{}")
        context = InputTag("mlflow.data.context", "training")
        client.log_inputs(run_id, [DatasetInput(dataset, [context])])
    if predictions is not None:
        with tempfile.TemporaryDirectory() as folder:
            path = Path(folder) / "test_predictions.npy"
            np.save(path, predictions.astype(np.uint8))
            client.log_artifact(run_id, str(path))
    client.set_terminated(run_id, status)
    return run_id


def log_group(
    client, experiment_id: str, name: str, members: MemberValues, statuses: dict | None = None
) -> str:
    """A parent run (group_role=parent) and one nested member run per (seed, fold)."""
    config_hash = uuid.uuid4().hex[:12]
    parent = client.create_run(
        experiment_id, run_name=name, tags={"group_role": "parent", "config_hash": config_hash}
    ).info.run_id
    client.log_metric(parent, "members", len(members))
    for (seed, fold), metrics in members.items():
        tags = {
            "mlflow.parentRunId": parent,
            "group_role": "member",
            "group_id": parent,
            "config_hash": config_hash,
            "seed": str(seed),
        }
        if fold is not None:
            tags["fold"] = str(fold)
        status = (statuses or {}).get((seed, fold), "FINISHED")
        log_run(client, experiment_id, f"{name}-s{seed}", metrics, tags, status=status)
    client.set_terminated(parent, "FINISHED")
    return parent


def accuracies(values: list[float], seeds: list[int]) -> MemberValues:
    """Members (seed, no fold) with these test accuracies, val/acc_best 1 point below."""
    return {
        (seed, None): {"test/acc": v, "val/acc_best": v - 0.01, "test/loss": 1 - v}
        for seed, v in zip(seeds, values, strict=True)
    }
