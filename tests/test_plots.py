"""What a user watches: the live progress bar, the plots logged with each run, the summary table."""

from __future__ import annotations

import contextlib
import io
import logging
from pathlib import Path
from types import SimpleNamespace

import numpy as np
import pytest
import torch

from src.models.classifier import MLPClassifier
from src.models.metrics import StageMetrics
from src.tracking import plots
from src.training.progress import LiveMetricsProgressBar, progress_callbacks, running_train_metrics
from tests.helpers import tiny_train_args

# ---------------------------------------------------------------- plots


def test_most_confident_mistakes_come_first_and_exclude_correct_predictions() -> None:
    probabilities = np.array(
        [
            [0.9, 0.1, 0.0],  # predicted 0, true 0: correct, never shown
            [0.6, 0.4, 0.0],  # predicted 0, true 1: wrong with 0.6
            [0.0, 0.05, 0.95],  # predicted 2, true 0: wrong with 0.95
            [0.2, 0.7, 0.1],  # predicted 1, true 2: wrong with 0.7
        ]
    )
    labels = np.array([0, 1, 0, 2])
    assert plots.most_confident_mistakes(probabilities, labels, 10).tolist() == [2, 3, 1]
    assert plots.most_confident_mistakes(probabilities, labels, 2).tolist() == [2, 3]


def test_misclassified_grid_titles_say_predicted_and_true_labels() -> None:
    images = np.zeros((3, 784), np.uint8)
    probabilities = np.array([[0.1, 0.9], [0.8, 0.2], [0.3, 0.7]])
    fig = plots.misclassified_grid(images, np.array([0, 0, 1]), probabilities, ("a", "b"), "test")
    titles = [ax.get_title() for ax in fig.axes if ax.get_title()]
    assert titles == ["pred b (90.0%)\ntrue a"]
    assert "1 most confident of 1 mistakes" in fig._suptitle.get_text()
    plots.close(fig)


def test_misclassified_grid_without_mistakes_says_so() -> None:
    fig = plots.misclassified_grid(
        np.zeros((2, 784), np.uint8), np.array([0, 1]), np.eye(2), ("a", "b"), "test"
    )
    assert any(text.get_text() == "no misclassified images" for text in fig.axes[0].texts)
    plots.close(fig)


def test_per_class_accuracy_bars_are_the_confusion_matrix_recall() -> None:
    matrix = np.array([[8, 2, 0], [0, 5, 0], [1, 1, 2]])
    fig = plots.per_class_accuracy(matrix, ("0", "1", "2"), "test")
    widths = [bar.get_width() for bar in fig.axes[0].patches]
    assert widths == pytest.approx([0.8, 1.0, 0.5])
    plots.close(fig)


@pytest.fixture(scope="module")
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


def test_a_training_run_logs_the_four_plots(finished_run) -> None:
    client, run, _ = finished_run
    logged = {f.path for f in client.list_artifacts(run.info.run_id, "plots")}
    assert logged == {
        "plots/learning_curves.png",
        "plots/confusion_matrix_test.png",
        "plots/per_class_accuracy_test.png",
        "plots/misclassified_test.png",
    }
    local = Path(client.download_artifacts(run.info.run_id, "plots/misclassified_test.png"))
    assert local.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"


# ---------------------------------------------------------------- progress bar


def module_with_train_metrics() -> MLPClassifier:
    from src.models.mlp import MLP

    module = MLPClassifier(MLP(hidden_dims=[4]), num_classes=3)
    module.train_metrics = StageMetrics(3)
    module.train_metrics.update(torch.tensor(1.0), torch.tensor([0, 1]), torch.tensor([0, 2]))
    module.train_metrics.update(torch.tensor(4.0), torch.tensor([2, 2]), torch.tensor([2, 2]))
    return module


def test_running_train_metrics_equal_the_epoch_metrics_so_far() -> None:
    module = module_with_train_metrics()
    expected = module.train_metrics.compute()
    assert running_train_metrics(module) == pytest.approx(
        {"loss": float(expected["loss"]), "acc": float(expected["acc"])}
    )
    assert running_train_metrics(module) == pytest.approx({"loss": 2.5, "acc": 0.75})


def test_progress_bar_reads_the_device_only_every_n_steps(monkeypatch) -> None:
    reads = []
    monkeypatch.setattr(
        "src.training.progress.running_train_metrics",
        lambda module: reads.append(1) or {"loss": 1.0},
    )
    bar = LiveMetricsProgressBar(metrics_every_n_steps=20)
    trainer = SimpleNamespace(global_step=0, training=True, callback_metrics={})
    for step in range(100):
        trainer.global_step = step
        assert bar.get_metrics(trainer, None) == {"loss": 1.0}
    assert len(reads) == 5
    trainer.callback_metrics = {"val/acc": torch.tensor(0.5)}
    trainer.training = False  # after validation: always fresh, with the new val values
    assert bar.get_metrics(trainer, None) == {"loss": 1.0, "val_acc": 0.5}


def test_quiet_mode_has_no_bar_and_silences_lightning_info(monkeypatch) -> None:
    for name in ("lightning.pytorch", "mlflow"):
        monkeypatch.setattr(logging.getLogger(name), "level", logging.INFO)
    assert progress_callbacks(enabled=False) == []
    assert logging.getLogger("lightning.pytorch").getEffectiveLevel() == logging.WARNING
    assert logging.getLogger("mlflow").getEffectiveLevel() == logging.WARNING
    assert isinstance(progress_callbacks(enabled=True)[0], LiveMetricsProgressBar)


def test_quiet_mode_holds_after_mlflow_pytorch_imported_standalone_pytorch_lightning(
    monkeypatch, caplog
) -> None:
    import lightning_utilities.core.rank_zero as shared
    import mlflow.pytorch  # noqa: F401  (imports pytorch_lightning, as logging a model does)
    from lightning.pytorch.utilities.rank_zero import rank_zero_info

    for name in ("lightning.pytorch", "pytorch_lightning"):
        monkeypatch.setattr(logging.getLogger(name), "level", logging.INFO)
    progress_callbacks(enabled=False)
    with caplog.at_level(logging.DEBUG):
        rank_zero_info("GPU available: probe")  # how our Trainer reports, via the shared logger
    assert shared.log.name.split(".")[0] in ("lightning", "pytorch_lightning")
    assert "probe" not in caplog.text


def test_progress_bar_shows_live_loss_and_accuracy(
    tiny_data_dir, tmp_path, tracking_env, monkeypatch
) -> None:
    from rich.console import Console

    from src.config.parsing import parse_train_config
    from src.training.run import run_training

    console = Console(record=True, width=200, force_terminal=False)
    monkeypatch.setattr(
        "lightning.pytorch.callbacks.progress.rich_progress.get_console", lambda: console
    )
    words = [
        w
        for w in tiny_train_args(tiny_data_dir, tmp_path, "progress")
        if "enable_progress_bar" not in w
    ]
    run_training(parse_train_config([*words, "--mlflow.log_model=false"]))
    text = console.export_text()
    assert "loss:" in text and "acc:" in text and "val_acc:" in text


# ---------------------------------------------------------------- summary


def test_summary_shows_metrics_run_id_and_where_the_artifacts_are(finished_run) -> None:
    _, run, printed = finished_run
    for label in ("test/acc", "epochs", "wall time", "artifacts", "model URI", "invoke ui"):
        assert label in printed
    assert run.info.run_id in printed.replace("\n", "").replace("│", "").replace(" ", "")
