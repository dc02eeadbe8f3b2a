"""Shared fixtures: a small learnable synthetic dataset, a temporary MLflow store, runs trained
once per session for the tests that only read them, and signal handlers put back after a test.

Nothing here touches the network or the real MNIST files.
"""

from __future__ import annotations

import contextlib
import io
from pathlib import Path

import pytest

from src.data.cache import save_cache
from tests.helpers import (
    REGISTERED,
    TEST_SIZE,
    TRAIN_SIZE,
    VAL_SIZE,
    synthetic_digits,
    tiny_train_args,
    write_study,
)

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


@pytest.fixture(scope="session")
def new_study(tmp_path_factory: pytest.TempPathFactory, tiny_data_dir: Path, mlflow_store: str):
    """`new_study(name, **settings)`: tests.helpers.write_study into a fresh folder, on the
    synthetic set and the session's store; returns the config's path (its folder holds the
    study's journal, checkpoints and best config)."""

    def write(name: str, **settings) -> Path:
        folder = tmp_path_factory.mktemp(name)
        return write_study(folder, tiny_data_dir, mlflow_store, name, **settings)

    return write


@pytest.fixture
def tracking_env(mlflow_store: str, monkeypatch: pytest.MonkeyPatch) -> str:
    monkeypatch.setenv("MLFLOW_TRACKING_URI", mlflow_store)
    return mlflow_store


@pytest.fixture
def signal_handlers():
    """run_main's handlers, installed for one test and then put back."""
    from src.runtime.signals import install_signal_handlers, restore_signal_handlers

    previous = install_signal_handlers()
    yield
    restore_signal_handlers(previous)  # a recorded SIGTERM must not stop later tests' runs


@pytest.fixture(scope="session")
def finished_run(tiny_data_dir, mlflow_store, tmp_path_factory):
    """One tiny `python -m src.train` run: (client, run, what it printed)."""
    from mlflow.tracking import MlflowClient

    from src.train import main

    args = tiny_train_args(tiny_data_dir, tmp_path_factory.mktemp("run"), "watching")
    printed = io.StringIO()
    with pytest.MonkeyPatch.context() as env, contextlib.redirect_stdout(printed):
        env.setenv("MLFLOW_TRACKING_URI", mlflow_store)
        assert main(args) == 0
    client = MlflowClient(mlflow_store)
    run = client.search_runs([client.get_experiment_by_name("watching").experiment_id])[0]
    return client, run, printed.getvalue()


@pytest.fixture(scope="session")
def registered_runs(tiny_data_dir, mlflow_store, tmp_path_factory):
    """Two runs registered under REGISTERED: a good one (version 1), then a bad one (version 2)."""
    from mlflow.tracking import MlflowClient

    from src.config.parsing import parse_train_config
    from src.training.run import run_training

    base = tiny_train_args(tiny_data_dir, tmp_path_factory.mktemp("ckpt"), "using")
    base.append(f"--mlflow.register_model={REGISTERED}")
    crippled = ["--trainer.max_epochs=1", "--trainer.limit_train_batches=1", "--optimizer.lr=1e-6"]
    with pytest.MonkeyPatch.context() as env:
        env.setenv("MLFLOW_TRACKING_URI", mlflow_store)
        good = run_training(parse_train_config(base))
        bad = run_training(parse_train_config([*base, *crippled]))
    assert good.test_metrics["test/acc"] > bad.test_metrics["test/acc"]
    return {"good": good, "bad": bad, "client": MlflowClient(mlflow_store)}


@pytest.fixture
def registered(registered_runs, mlflow_store, monkeypatch):
    """registered_runs, with MLFLOW_TRACKING_URI pointing at their store."""
    monkeypatch.setenv("MLFLOW_TRACKING_URI", mlflow_store)
    return registered_runs
