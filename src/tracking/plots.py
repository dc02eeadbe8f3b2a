"""Figures logged with every run: learning curves, confusion matrix, per-class accuracy and the
test images the model got most confidently wrong."""

from __future__ import annotations

from collections.abc import Mapping, Sequence

import matplotlib.pyplot as plt
import numpy as np
from matplotlib.figure import Figure


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
        if ax.lines:  # a fast_dev_run logs no epoch metrics
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


def per_class_accuracy(matrix: np.ndarray, class_names: Sequence[str], title: str) -> Figure:
    """Recall of each class (diagonal / row sum of the confusion matrix): weak classes stand out."""
    matrix = np.asarray(matrix)
    totals = matrix.sum(axis=1)
    accuracy = np.divide(np.diag(matrix), totals, out=np.zeros(len(totals)), where=totals > 0)
    overall = np.trace(matrix) / max(1, matrix.sum())
    fig, ax = plt.subplots(figsize=(7, 4.5), constrained_layout=True)
    positions = np.arange(len(class_names))
    bars = ax.barh(positions, accuracy, color="tab:blue")
    ax.bar_label(bars, labels=[f"{a:.1%}" for a in accuracy], padding=3, fontsize=8)
    ax.axvline(overall, color="tab:red", linestyle="--")
    ax.set_yticks(positions, class_names)
    ax.invert_yaxis()  # first class on top
    # Zoom in on the range where the classes differ; a 0-1 axis hides a 97% vs 99% gap.
    low = float(accuracy.min()) if len(accuracy) else 0.0
    ax.set_xlim(max(0.0, low - (1 - low) * 0.5 - 0.01), 1.0)
    ax.set_xlabel("accuracy (share of the class's images predicted correctly)")
    ax.set_title(f"{title} (dashed: overall {overall:.2%})")
    return fig


def most_confident_mistakes(
    probabilities: np.ndarray, labels: np.ndarray, count: int
) -> np.ndarray:
    """Indices of the misclassified samples, highest probability on the wrong class first."""
    predicted = probabilities.argmax(axis=1)
    wrong = np.flatnonzero(predicted != labels)
    confidence = probabilities[wrong, predicted[wrong]]
    return wrong[np.argsort(-confidence, kind="stable")[:count]]


def misclassified_grid(
    images: np.ndarray,
    labels: np.ndarray,
    probabilities: np.ndarray,
    class_names: Sequence[str],
    title: str,
    count: int = 24,
    columns: int = 8,
) -> Figure:
    """The `count` most confidently misclassified images with predicted (and how sure) and true.

    One image of all the digits on one axes, not an axes per digit: 24 axes and tight_layout
    took 0.5 s to draw on 2 vCPUs, this takes 0.1 s (benchmarks/README.md).
    """
    chosen = most_confident_mistakes(probabilities, labels, count)
    rows = max(1, -(-len(chosen) // columns))
    side, gap, caption = 28, 4, 16  # pixels of a digit, between digits, of the two-line caption
    cell_w, cell_h = side + gap, side + caption
    mosaic = np.full((rows * cell_h, columns * cell_w), np.nan)
    width = 1.5 * columns  # inches; the height keeps the digits square, plus the title's 0.6
    fig = plt.figure(figsize=(width, width * rows * cell_h / (columns * cell_w) + 0.6))
    ax = fig.add_axes((0.0, 0.0, 1.0, 1 - 0.6 / fig.get_figheight()))
    for position, index in enumerate(chosen):
        row, col = divmod(position, columns)
        top, left = row * cell_h + caption, col * cell_w + gap // 2
        mosaic[top : top + side, left : left + side] = np.asarray(images[index]).reshape(28, 28)
        predicted = int(probabilities[index].argmax())
        ax.text(
            left + side / 2,
            top - 2,
            f"pred {class_names[predicted]} ({probabilities[index, predicted]:.1%})\n"
            f"true {class_names[int(labels[index])]}",
            ha="center",
            va="bottom",
            fontsize=8,
            color="tab:red",
        )
    cmap = plt.get_cmap("gray").with_extremes(bad="white")  # NaN: the paper between digits
    ax.imshow(mosaic, cmap=cmap, vmin=0, vmax=255, interpolation="nearest", aspect="equal")
    ax.axis("off")
    if len(chosen) == 0:
        ax.text(0.0, 0.5, "no misclassified images", fontsize=12, transform=ax.transAxes)
    wrong = int((probabilities.argmax(axis=1) != labels).sum())
    fig.suptitle(f"{title}: {len(chosen)} most confident of {wrong} mistakes", fontsize=11)
    return fig


def close(fig: Figure) -> None:
    plt.close(fig)
