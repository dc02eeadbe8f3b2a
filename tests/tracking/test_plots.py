"""The plots logged with each run: which mistakes are shown, their titles, per-class bars."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from src.tracking import plots


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
    (ax,) = fig.axes  # one image of all the digits, captioned
    assert [text.get_text() for text in ax.texts] == ["pred b (90.0%)\ntrue a"]
    assert ax.images[0].get_array().shape == (44, 8 * 32)  # one row of 8 cells
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


def test_a_run_with_log_plots_false_logs_its_config_and_predictions_but_no_figures(
    tiny_data_dir, tmp_path, tracking_env
) -> None:
    from mlflow.tracking import MlflowClient

    from tests.helpers import train_tiny

    result = train_tiny(tiny_data_dir, tmp_path, "no-plots", "--mlflow.log_plots=false")
    logged = {f.path for f in MlflowClient().list_artifacts(result.run_id)}
    assert {"config.yaml", "test_predictions.npy"} <= logged
    assert not any(path.startswith("plots") for path in logged)
