"""Groups on the tiny synthetic set: each member a short run whose accuracy varies by seed."""

from __future__ import annotations

import contextlib
import io
from pathlib import Path

import pytest
from mlflow.tracking import MlflowClient

from tests.helpers import tiny_train_args


def group_words(data_dir: Path, tmp_path: Path, experiment: str, *extra: str) -> list[str]:
    """`python -m src.train` words for a group of quick members (1 epoch of 2 batches: test
    accuracy differs between seeds, so the intervals have a width)."""
    return [
        *tiny_train_args(data_dir, tmp_path, experiment),
        "--trainer.max_epochs=1",
        "--trainer.limit_train_batches=2",
        "--early_stopping.enabled=false",
        "--mlflow.log_model=false",
        *extra,
    ]


def train_in_process(store: str, words: list[str]) -> str:
    """`python -m src.train words` in this process, tracked in `store`: what it printed."""
    from src.train import main

    printed = io.StringIO()
    with pytest.MonkeyPatch.context() as env, contextlib.redirect_stdout(printed):
        env.setenv("MLFLOW_TRACKING_URI", store)
        assert main(words) == 0
    return printed.getvalue()


def group_runs(store: str, experiment: str, role: str) -> list:
    """The experiment's runs tagged group_role=role (parent, member), oldest first."""
    client = MlflowClient(store)
    experiment_id = client.get_experiment_by_name(experiment).experiment_id
    return client.search_runs(
        [experiment_id], f"tags.group_role = '{role}'", order_by=["attributes.start_time ASC"]
    )
