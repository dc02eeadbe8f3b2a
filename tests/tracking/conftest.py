"""Fixtures of the tracking tests: a client of the session's sqlite store, and a fresh experiment
per test, so that no test sees another's runs."""

from __future__ import annotations

import uuid

import pytest
from mlflow.tracking import MlflowClient

from src.tracking.store import ensure_experiment, use_store


@pytest.fixture
def client(mlflow_store: str) -> MlflowClient:
    return use_store(mlflow_store)


@pytest.fixture
def experiment_id(client: MlflowClient) -> str:
    return ensure_experiment(client, f"tracking-{uuid.uuid4().hex[:8]}")
