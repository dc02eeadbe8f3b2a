"""Shared fixtures: a small learnable synthetic dataset and a temporary MLflow store.

Nothing here touches the network or the real MNIST files.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from src.data.cache import save_cache
from tests.helpers import TEST_SIZE, TRAIN_SIZE, VAL_SIZE, synthetic_digits, tiny_train_args

__all__ = ["VAL_SIZE", "synthetic_digits", "tiny_train_args"]


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
