"""k-fold cross-validation of the training set: a seeded partition, stratified by label.

NumPy only, so the partition is the same on every device and torch version. The test set never
enters: these are indices into the training arrays.
"""

from __future__ import annotations

import numpy as np


def fold_of_each_image(labels: np.ndarray, folds: int, seed: int) -> np.ndarray:
    """The fold (0..folds-1) of every training image.

    The images are shuffled (seeded), ordered by label with the shuffle kept inside each class,
    and dealt out 0, 1, ..., folds-1, 0, 1, ...: every fold gets each class's images to within
    one, and the folds' sizes differ by at most one.
    """
    if folds < 2:
        raise ValueError(f"data.folds must be >= 2 to make folds, got {folds}")
    labels = np.asarray(labels)
    if folds > len(labels):
        raise ValueError(f"data.folds={folds} is more than the {len(labels)} training images")
    shuffled = np.random.default_rng(seed).permutation(len(labels))
    dealt = shuffled[np.argsort(labels[shuffled], kind="stable")]
    assignment = np.empty(len(labels), dtype=np.int64)
    assignment[dealt] = np.arange(len(labels)) % folds
    return assignment


def fold_split(
    labels: np.ndarray, folds: int, fold: int, seed: int
) -> tuple[np.ndarray, np.ndarray]:
    """(validation, training) indices, each ascending: fold `fold` validates, the rest train."""
    if not 0 <= fold < folds:
        raise ValueError(f"data.fold must be in [0, data.folds={folds}), got {fold}")
    assignment = fold_of_each_image(labels, folds, seed)
    return np.flatnonzero(assignment == fold), np.flatnonzero(assignment != fold)
