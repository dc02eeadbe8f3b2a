"""A single run's per-image test predictions and the true labels they are scored against, for
McNemar's test.

Runs log only their predictions (`test_predictions.npy`, one uint8 label per official test image
in test-set order); the labels come from the dataset itself, loaded as training loaded it (the
run's params `data.dataset` and `data.data_dir`, never downloading). Where the run logged its
dataset's digest, the data found must have that digest: labels of other data would make the
test count the wrong images.
"""

from __future__ import annotations

import os
import tempfile
from dataclasses import replace
from pathlib import Path

import numpy as np

from src.comparison.decide import Candidate
from src.tracking.artifacts import TEST_PREDICTIONS

DIGEST_CHARS = 36  # what MLflow keeps of a dataset digest (src/tracking/runs.py)


def logged_digest(run, dataset: str) -> str | None:
    """The digest of the dataset the run trained on, from its MLflow inputs."""
    for dataset_input in run.inputs.dataset_inputs if run.inputs else ():
        if dataset_input.dataset.name == dataset:
            return dataset_input.dataset.digest
    return None


def _test_labels(dataset: str, data_dir: str, digest: str | None, cache: dict):
    """(labels, None) or (None, why not); loaded once per (dataset, data_dir)."""
    from src.data.dataset import DataNotFoundError, DataSourceError
    from src.data.sources import load_dataset

    if (dataset, data_dir) not in cache:
        try:
            cache[dataset, data_dir] = load_dataset(dataset, data_dir, allow_download=False)
        except (DataNotFoundError, DataSourceError):
            cache[dataset, data_dir] = None
    arrays = cache[dataset, data_dir]
    if arrays is None:
        return None, f"its test labels are not here: no {dataset} data in {data_dir}"
    if digest is not None and arrays.digest[:DIGEST_CHARS] != digest[:DIGEST_CHARS]:
        return None, f"the {dataset} data in {data_dir} is not the data it was tested on"
    return arrays.test_y, None


def with_predictions(client, candidate: Candidate, label_cache: dict) -> Candidate:
    """The candidate with its predictions and test labels, or with the reason they are missing."""
    # MLflow draws a progress bar per download on stderr: noise around the table or the JSON.
    os.environ.setdefault("MLFLOW_ENABLE_ARTIFACTS_PROGRESS_BAR", "false")
    run = client.get_run(candidate.run_id)
    logged = {info.path for info in client.list_artifacts(candidate.run_id)}
    if TEST_PREDICTIONS not in logged:
        return replace(candidate, no_predictions=f"the run logged no {TEST_PREDICTIONS}")
    dataset = run.data.params.get("data.dataset", "mnist")
    data_dir = run.data.params.get("data.data_dir", "data")
    digest = logged_digest(run, dataset)
    labels, missing = _test_labels(dataset, data_dir, digest, label_cache)
    if labels is None:
        return replace(candidate, no_predictions=missing)
    with tempfile.TemporaryDirectory() as folder:
        path = client.download_artifacts(candidate.run_id, TEST_PREDICTIONS, folder)
        predictions = np.load(Path(path), allow_pickle=False)
    labels = np.asarray(labels)
    return replace(candidate, predictions=predictions, labels=labels, test_set=dataset)
