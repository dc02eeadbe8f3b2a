"""Shared fixtures: a small learnable synthetic dataset and a temporary MLflow store.

Nothing here touches the network or the real MNIST files.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from src.data import save_cache

TRAIN_SIZE, TEST_SIZE, VAL_SIZE = 1200, 300, 200


def synthetic_digits(n: int, seed: int) -> tuple[np.ndarray, np.ndarray]:
    """Ten classes, each a fixed random 28x28 template plus noise: learnable in a few steps."""
    templates = np.random.default_rng(1234).integers(0, 256, size=(10, 784))
    rng = np.random.default_rng(seed)
    labels = rng.integers(0, 10, size=n)
    noise = rng.normal(0, 40, size=(n, 784))
    pixels = np.clip(templates[labels] + noise, 0, 255).astype(np.uint8)
    return pixels, labels.astype(np.int64)


@pytest.fixture(scope="session")
def tiny_data_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A data_dir whose mnist cache holds the synthetic set (train 1200, test 300)."""
    data_dir = tmp_path_factory.mktemp("data")
    train = synthetic_digits(TRAIN_SIZE, seed=1)
    test = synthetic_digits(TEST_SIZE, seed=2)
    save_cache("mnist", data_dir, (*train, *test), source="synthetic test digits")
    return data_dir


@pytest.fixture(scope="session")
def mlflow_store(tmp_path_factory: pytest.TempPathFactory) -> str:
    """One sqlite tracking store for the session (creating its tables takes seconds)."""
    return f"sqlite:///{tmp_path_factory.mktemp('mlruns') / 'mlflow.db'}"


@pytest.fixture
def tracking_env(mlflow_store: str, monkeypatch: pytest.MonkeyPatch) -> str:
    monkeypatch.setenv("MLFLOW_TRACKING_URI", mlflow_store)
    return mlflow_store


def tiny_train_args(data_dir: Path, tmp_path: Path, experiment: str) -> list[str]:
    """Command-line words for a fast CPU run on the synthetic set."""
    return [
        f"--data.data_dir={data_dir}",
        f"--data.val_size={VAL_SIZE}",
        "--data.batch_size=100",
        "--model.hidden_dims=[32]",
        "--trainer.max_epochs=2",
        "--trainer.accelerator=cpu",
        "--trainer.enable_progress_bar=false",
        f"--checkpoint_dir={tmp_path / 'checkpoints'}",
        f"--mlflow.experiment_name={experiment}",
    ]
