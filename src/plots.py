"""Figures logged with every run: learning curves and the confusion matrix."""

from __future__ import annotations

from collections.abc import Mapping, Sequence

import matplotlib

matplotlib.use("Agg")  # files only; never needs a display
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
from matplotlib.figure import Figure  # noqa: E402


def learning_curves(history: Mapping[str, Sequence[tuple[int, float]]]) -> Figure:
    """Loss and accuracy per epoch, train vs val; `history` maps metric -> [(epoch, value)]."""
    fig, axes = plt.subplots(1, 2, figsize=(10, 4), constrained_layout=True)
    for ax, quantity in zip(axes, ("loss", "acc"), strict=True):
        for stage, style in (("train", "-o"), ("val", "-s")):
            points = history.get(f"{stage}/{quantity}", [])
            if points:
                epochs, values = zip(*sorted(points), strict=True)
                ax.plot(np.asarray(epochs) + 1, values, style, label=stage, markersize=3)
        ax.set_xlabel("epoch")
        ax.set_ylabel("accuracy" if quantity == "acc" else "loss")
        ax.grid(alpha=0.3)
        ax.legend()
    axes[0].set_title("Loss")
    axes[1].set_title("Accuracy")
    return fig


def confusion_matrix(matrix: np.ndarray, class_names: Sequence[str], title: str) -> Figure:
    """Counts, with rows = true class and the diagonal's share in the title."""
    matrix = np.asarray(matrix)
    fig, ax = plt.subplots(figsize=(7, 6), constrained_layout=True)
    image = ax.imshow(np.log1p(matrix), cmap="Blues")
    ticks = np.arange(len(class_names))
    ax.set_xticks(ticks, class_names, rotation=45, ha="right")
    ax.set_yticks(ticks, class_names)
    ax.set_xlabel("predicted")
    ax.set_ylabel("true")
    threshold = np.log1p(matrix).max() / 2
    for (row, col), count in np.ndenumerate(matrix):
        color = "white" if np.log1p(count) > threshold else "black"
        ax.text(col, row, str(count), ha="center", va="center", fontsize=7, color=color)
    accuracy = np.trace(matrix) / max(1, matrix.sum())
    ax.set_title(f"{title} (accuracy {accuracy:.2%}, {matrix.sum()} images)")
    fig.colorbar(image, ax=ax, label="log(1 + count)")
    return fig


def close(fig: Figure) -> None:
    plt.close(fig)
