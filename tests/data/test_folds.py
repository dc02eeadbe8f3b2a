"""k-fold cross-validation: the folds partition the training set, stratified and seeded, and the
DataModule validates on the chosen one."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from src.data.datamodule import MNISTDataModule
from src.data.folds import fold_of_each_image, fold_split
from tests.helpers import TEST_SIZE, TRAIN_SIZE, synthetic_digits

LABELS = synthetic_digits(TRAIN_SIZE, seed=1)[1]


@pytest.mark.parametrize("folds", [2, 5, 7])
def test_validation_folds_partition_the_training_set_exactly(folds: int) -> None:
    parts = [fold_split(LABELS, folds, k, seed=0) for k in range(folds)]
    validation = np.concatenate([val for val, _ in parts])
    assert sorted(validation.tolist()) == list(range(TRAIN_SIZE))  # each image in one fold
    for val, train in parts:
        assert len(val) + len(train) == TRAIN_SIZE
        assert not set(val.tolist()) & set(train.tolist())
    sizes = [len(val) for val, _ in parts]
    assert max(sizes) - min(sizes) <= 1


@pytest.mark.parametrize("folds", [2, 5, 7])
def test_each_fold_holds_every_class_to_within_one_image(folds: int) -> None:
    assignment = fold_of_each_image(LABELS, folds, seed=3)
    for label in range(10):
        per_fold = np.bincount(assignment[np.equal(LABELS, label)], minlength=folds)
        assert per_fold.max() - per_fold.min() <= 1, (label, per_fold)


def test_the_same_split_seed_gives_the_same_folds_and_another_seed_others() -> None:
    assert np.array_equal(fold_of_each_image(LABELS, 5, 11), fold_of_each_image(LABELS, 5, 11))
    assert not np.array_equal(fold_of_each_image(LABELS, 5, 11), fold_of_each_image(LABELS, 5, 12))


def test_bad_fold_counts_are_refused() -> None:
    with pytest.raises(ValueError, match="data.folds"):
        fold_of_each_image(LABELS, 1, 0)
    with pytest.raises(ValueError, match="data.fold "):
        fold_split(LABELS, 5, 5, 0)


def test_datamodule_validates_on_the_fold_and_tests_on_the_untouched_test_set(
    tiny_data_dir: Path,
) -> None:
    seen = []
    for fold in range(2):
        dm = MNISTDataModule(data_dir=str(tiny_data_dir), folds=2, fold=fold, split_seed=4)
        dm.prepare_data()
        dm.setup("fit")
        val_x = np.concatenate([x.numpy() for x, _ in dm.val_dataloader()])
        train_x = np.concatenate([x.numpy() for x, _ in dm.train_dataloader()])
        test_x = np.concatenate([x.numpy() for x, _ in dm.test_dataloader()])
        assert (len(val_x), dm.val_size, dm.train_size) == (600, 600, 600)
        assert len(train_x) + len(val_x) == TRAIN_SIZE
        assert np.array_equal(test_x, dm.arrays.test_x) and len(test_x) == TEST_SIZE
        expected, _ = fold_split(dm.arrays.train_y, 2, fold, 4)
        assert np.array_equal(val_x, dm.arrays.train_x[expected])
        seen.append(expected)
    assert not set(seen[0].tolist()) & set(seen[1].tolist())


def test_data_config_refuses_one_fold_and_a_fold_outside_the_folds() -> None:
    from src.config.train import DataConfig
    from src.errors import ConfigError

    with pytest.raises(ConfigError, match=r"data\.folds=1 .*expected 0 or an int >= 2"):
        DataConfig(folds=1)
    with pytest.raises(ConfigError, match=r"data\.fold=3 .*\[0, data\.folds=3\)"):
        DataConfig(folds=3, fold=3)
    with pytest.raises(ConfigError, match=r"data\.fold=1 .*0 when data\.folds is 0"):
        DataConfig(fold=1)
    assert DataConfig(folds=2, val_size=0).validates  # a fold validates; val_size is ignored
