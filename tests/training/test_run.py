"""run_training end to end on the synthetic set, read back from a real MLflow store."""

from __future__ import annotations

from pathlib import Path

import mlflow
import pytest
import yaml
from mlflow.tracking import MlflowClient

from src.config.parsing import parse_train_config
from src.training.run import run_training
from tests.helpers import real_mnist_words, train_tiny


def artifact_paths(client: MlflowClient, run_id: str, path: str = "") -> set[str]:
    found = set()
    for item in client.list_artifacts(run_id, path):
        found |= artifact_paths(client, run_id, item.path) if item.is_dir else {item.path}
    return found


def test_fast_dev_run_trains_and_tests_one_batch(tiny_data_dir, tmp_path, tracking_env) -> None:
    result = train_tiny(tiny_data_dir, tmp_path, "fast-dev", "--trainer.fast_dev_run=true")
    assert 0.0 <= result.test_metrics["test/acc"] <= 1.0
    assert MlflowClient().get_run(result.run_id).info.status == "FINISHED"


def test_a_run_is_complete_in_mlflow(tiny_data_dir, tmp_path, tracking_env) -> None:
    result = train_tiny(tiny_data_dir, tmp_path, "complete-run", "--mlflow.run_name=complete")
    client = MlflowClient()
    run = client.get_run(result.run_id)

    assert run.info.status == "FINISHED"
    assert run.info.run_name == "complete"
    params = run.data.params
    assert params["model.hidden_dims"] == "[32]"
    assert params["optimizer.name"] == "adam" and params["data.batch_size"] == "100"
    assert params["seed"] == "42"
    for tag in ("git_commit", "git_dirty", "accelerator", "device_name", "precision"):
        assert tag in run.data.tags
    for tag in ("torch_version", "lightning_version", "cuda_version"):
        assert run.data.tags[tag]
    assert 1 <= int(run.data.tags["usable_cpus"]) <= int(run.data.tags["host_cpu_count"])

    val_acc = client.get_metric_history(result.run_id, "val/acc")
    assert [m.step for m in val_acc] == [0, 1]  # one point per epoch, stepped by epoch
    for key in ("train/loss", "train/acc", "val/loss", "train/lr", "val/acc_best"):
        assert len(client.get_metric_history(result.run_id, key)) == 2, key
    assert run.data.metrics["test/acc"] > 0.8  # the synthetic classes are easy
    assert {"test/loss", "test/f1"} <= run.data.metrics.keys()

    artifacts = artifact_paths(client, result.run_id)
    assert {"config.yaml", "plots/learning_curves.png"} <= artifacts
    assert any(p.startswith("plots/confusion_matrix") for p in artifacts)
    config = yaml.safe_load(Path(mlflow.artifacts.download_artifacts(
        run_id=result.run_id, artifact_path="config.yaml"
    )).read_text())  # fmt: skip
    assert config["model"]["hidden_dims"] == [32]

    inputs = run.inputs.dataset_inputs
    assert inputs and inputs[0].dataset.name == "mnist" and inputs[0].dataset.digest


def test_same_seed_gives_the_same_metrics(tiny_data_dir, tmp_path, tracking_env) -> None:
    first = train_tiny(tiny_data_dir, tmp_path / "a", "seeded", "--model.dropout=0.3")
    second = train_tiny(tiny_data_dir, tmp_path / "b", "seeded", "--model.dropout=0.3")
    assert logged_val_acc(first.run_id) == logged_val_acc(second.run_id)
    assert first.test_metrics == second.test_metrics


def logged_val_acc(run_id: str) -> list[float]:
    history = MlflowClient().get_metric_history(run_id, "val/acc")
    return [m.value for m in sorted(history, key=lambda m: m.step)]


@pytest.mark.real_data
def test_one_epoch_on_real_mnist_reaches_95_percent(tmp_path, tracking_env) -> None:
    cfg = parse_train_config(real_mnist_words(tmp_path, "real-mnist", epochs=1))
    result = run_training(cfg)
    assert result.test_metrics["test/acc"] >= 0.95


def test_without_validation_the_last_epoch_is_tested(tiny_data_dir, tmp_path, tracking_env) -> None:
    """A refit on every training image: no val loop; the last epoch's weights are tested."""
    import torch

    result = train_tiny(
        tiny_data_dir, tmp_path, "refit",
        "--data.val_size=0", "--early_stopping.enabled=false",
        "--trainer.max_epochs=3", "--scheduler.epochs=10",
    )  # fmt: skip
    client = MlflowClient()
    assert client.get_metric_history(result.run_id, "val/acc") == []
    lrs = [m.value for m in client.get_metric_history(result.run_id, "train/lr")]
    assert len(lrs) == 3 and lrs[-1] > 0.5e-3  # still high: 3 epochs of a 10-epoch cosine
    best = torch.load(result.best_checkpoint, weights_only=False)
    assert best["epoch"] == 2
    assert result.test_metrics["test/acc"] > 0.8
