"""End to end: `python -m src.train` on the synthetic set, read back from a real MLflow store."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import mlflow
import numpy as np
import pytest
import yaml
from mlflow.tracking import MlflowClient

from src.config.parsing import parse_train_config
from src.data.cache import cache_path
from src.training.run import run_training
from tests.helpers import synthetic_digits, tiny_train_args

ROOT = Path(__file__).resolve().parents[1]


def train(data_dir: Path, tmp_path: Path, experiment: str, *extra: str):
    cfg = parse_train_config([*tiny_train_args(data_dir, tmp_path, experiment), *extra])
    return run_training(cfg)


def artifact_paths(client: MlflowClient, run_id: str, path: str = "") -> set[str]:
    found = set()
    for item in client.list_artifacts(run_id, path):
        found |= artifact_paths(client, run_id, item.path) if item.is_dir else {item.path}
    return found


def test_fast_dev_run_trains_and_tests_one_batch(tiny_data_dir, tmp_path, tracking_env) -> None:
    result = train(tiny_data_dir, tmp_path, "fast-dev", "--trainer.fast_dev_run=true")
    assert 0.0 <= result.test_metrics["test/acc"] <= 1.0
    assert MlflowClient().get_run(result.run_id).info.status == "FINISHED"


def test_a_run_is_complete_in_mlflow(tiny_data_dir, tmp_path, tracking_env) -> None:
    result = train(tiny_data_dir, tmp_path, "complete-run", "--mlflow.run_name=complete")
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


def test_logged_model_predicts_raw_pixels_through_pyfunc(
    tiny_data_dir, tmp_path, tracking_env
) -> None:
    result = train(tiny_data_dir, tmp_path, "pyfunc")
    model = mlflow.pyfunc.load_model(result.model_uri)
    pixels, labels = synthetic_digits(64, seed=7)
    scores = np.asarray(model.predict(pixels.astype(np.float32)))
    assert scores.shape == (64, 10)
    assert (scores.argmax(1) == labels).mean() > 0.8


def test_same_seed_gives_the_same_metrics(tiny_data_dir, tmp_path, tracking_env) -> None:
    first = train(tiny_data_dir, tmp_path / "a", "seeded", "--model.dropout=0.3")
    second = train(tiny_data_dir, tmp_path / "b", "seeded", "--model.dropout=0.3")
    assert first.val_history == second.val_history
    assert first.test_metrics == second.test_metrics


def test_resume_from_last_checkpoint_continues_the_same_run(
    tiny_data_dir, tmp_path, tracking_env
) -> None:
    first = train(tiny_data_dir, tmp_path, "resume", "--trainer.max_epochs=1")
    assert (Path(first.checkpoint_dir) / "last.ckpt").is_file()
    resumed = train(tiny_data_dir, tmp_path, "resume", "--ckpt_path=last", "--trainer.max_epochs=3")
    assert resumed.run_id == first.run_id
    history = MlflowClient().get_metric_history(first.run_id, "val/acc")
    assert sorted(m.step for m in history) == [0, 1, 2]
    assert MlflowClient().get_run(first.run_id).info.status == "FINISHED"


def run_cli(*args: str, env: dict[str, str] | None = None, timeout: int = 300):
    return subprocess.run(
        [sys.executable, "-m", "src.train", *args],
        cwd=ROOT,
        env={**os.environ, **(env or {})},
        capture_output=True,
        text=True,
        timeout=timeout,
    )


def test_print_config_shows_overrides_and_config_files(tmp_path) -> None:
    first = tmp_path / "a.yaml"
    first.write_text("model:\n  activation: tanh\n  dropout: 0.1\n")
    second = tmp_path / "b.yaml"
    second.write_text("model:\n  dropout: 0.3\n")
    out = run_cli(
        f"--config={first}", f"--config={second}", "--optimizer.lr=0.05", "--print_config"
    )
    assert out.returncode == 0, out.stderr
    printed = yaml.safe_load(out.stdout)
    assert printed["model"]["activation"] == "tanh"  # from the first file
    assert printed["model"]["dropout"] == 0.3  # the later file wins
    assert printed["optimizer"]["lr"] == 0.05  # the command line wins over files


@pytest.mark.parametrize("recipe", sorted((ROOT / "configs" / "experiments").rglob("*.yaml")))
def test_every_recipe_config_is_valid(recipe: Path) -> None:
    if recipe.name.startswith("best-"):
        pytest.skip("generated by src.tune")
    cfg = parse_train_config([f"--config={recipe}"])
    assert cfg.trainer.max_epochs > 0


@pytest.mark.slow
def test_ddp_with_two_cpu_processes(tiny_data_dir, tmp_path, tracking_env) -> None:
    out = run_cli(
        *tiny_train_args(tiny_data_dir, tmp_path, "ddp"),
        "--trainer.strategy=ddp",
        "--trainer.devices=2",
        "--mlflow.log_model=false",
    )
    assert out.returncode == 0, out.stderr[-3000:]
    client = MlflowClient()
    runs = client.search_runs([client.get_experiment_by_name("ddp").experiment_id])
    assert len(runs) == 1  # the worker process logs into the main process's run
    run = runs[0]
    assert run.info.status == "FINISHED"
    assert run.data.tags["devices"] == "2"
    assert run.data.metrics["test/acc"] > 0.8
    assert len(client.get_metric_history(run.info.run_id, "val/acc")) == 2


@pytest.mark.real_data
def test_one_epoch_on_real_mnist_reaches_95_percent(tmp_path, tracking_env) -> None:
    data_dir = ROOT / "data"
    if not cache_path("mnist", data_dir).is_file():
        pytest.skip("real MNIST not fetched (python -m src.data fetch, as .ci/run does)")
    cfg = parse_train_config([
        f"--data.data_dir={data_dir}",
        "--trainer.max_epochs=1",
        "--trainer.enable_progress_bar=false",
        f"--checkpoint_dir={tmp_path}",
        "--mlflow.experiment_name=real-mnist",
        "--mlflow.log_model=false",
    ])  # fmt: skip
    result = run_training(cfg)
    assert result.test_metrics["test/acc"] >= 0.95


def test_ema_average_is_what_is_checkpointed_and_tested(tiny_data_dir, tmp_path, tracking_env):
    import torch

    from src.inference.evaluation import evaluate
    from src.inference.loading import load_model

    result = train(tiny_data_dir, tmp_path, "ema", "--optimizer.ema_decay=0.9")
    checkpoint = torch.load(result.best_checkpoint, map_location="cpu", weights_only=True)
    average, raw = checkpoint["state_dict"], checkpoint["current_model_state"]
    assert any(not torch.equal(average[key], raw[key]) for key in average)
    # The logged test metrics are those of the averaged weights (the ones validation chose).
    found = evaluate(load_model(checkpoint=result.best_checkpoint)).metrics
    for key in ("test/acc", "test/loss"):
        assert found[key] == pytest.approx(result.test_metrics[key], abs=1e-5), key


def test_resume_with_ema_ends_where_an_uninterrupted_run_ends(
    tiny_data_dir, tmp_path, tracking_env
):
    """The checkpoint carries both the raw weights and their average; resuming restores both."""
    ema = ["--optimizer.ema_decay=0.9", "--scheduler.name=none", "--model.dropout=0.3"]
    whole = train(tiny_data_dir, tmp_path / "whole", "ema-whole", *ema, "--trainer.max_epochs=3")
    parts = tmp_path / "parts"
    first = train(tiny_data_dir, parts, "ema-parts", *ema, "--trainer.max_epochs=1")
    resumed = train(
        tiny_data_dir, parts, "ema-parts", *ema, "--ckpt_path=last", "--trainer.max_epochs=3"
    )
    assert resumed.run_id == first.run_id
    for key in ("test/acc", "test/loss"):
        assert resumed.test_metrics[key] == pytest.approx(whole.test_metrics[key], abs=1e-6), key


def test_without_validation_the_last_epoch_is_tested(tiny_data_dir, tmp_path, tracking_env) -> None:
    """A refit on every training image: no val loop; the last epoch's weights are tested."""
    import torch

    result = train(
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
