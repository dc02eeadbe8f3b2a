"""The DataModule: validation split, batches of raw uint8 pixels, a seeded shuffle per epoch."""

from __future__ import annotations

from pathlib import Path
from types import SimpleNamespace
from typing import get_args

import pytest
import torch

from src.config import names
from src.data import datamodule
from src.data.datamodule import MNISTDataModule
from tests.data.idx_files import N_TEST, N_TRAIN


def make_dm(data_dir: Path, **kw: object) -> MNISTDataModule:
    dm = MNISTDataModule(data_dir=str(data_dir), **{"val_size": 20, **kw})
    dm.prepare_data()
    dm.setup("fit")
    return dm


def test_val_split_sizes_and_disjointness(tiny_dir: Path) -> None:
    dm = make_dm(tiny_dir, batch_size=16, eval_batch_size=7)
    assert (dm.train_size, dm.val_size) == (N_TRAIN - 20, 20)
    train_y = torch.cat([y for _, y in dm.train_dataloader()])
    val_x = torch.cat([x for x, _ in dm.val_dataloader()])
    train_x = torch.cat([x for x, _ in dm.train_dataloader()])
    assert (len(train_y), len(val_x)) == (N_TRAIN - 20, 20)
    both = {tuple(r.tolist()) for r in torch.cat([train_x, val_x])}
    assert both == {tuple(r.tolist()) for r in torch.from_numpy(dm.arrays.train_x)}
    assert sum(len(y) for _, y in dm.test_dataloader()) == N_TEST


def test_last_split_holds_out_the_final_images_in_file_order(tiny_dir: Path) -> None:
    dm = make_dm(tiny_dir, split="last", split_seed=123, eval_batch_size=7)
    everything = torch.from_numpy(dm.arrays.train_x)
    val_x = torch.cat([x for x, _ in dm.val_dataloader()])
    assert torch.equal(val_x, everything[-20:])  # in order, the seed is not used
    train_x = torch.cat([x for x, _ in dm.train_dataloader()])
    assert {tuple(r.tolist()) for r in train_x} == {tuple(r.tolist()) for r in everything[:-20]}


def test_random_split_depends_on_split_seed_only(tiny_dir: Path) -> None:
    def val_of(**kw: object) -> torch.Tensor:
        return torch.cat([x for x, _ in make_dm(tiny_dir, **kw).val_dataloader()])

    assert torch.equal(val_of(split_seed=0), val_of(split_seed=0, shuffle_seed=9))
    assert not torch.equal(val_of(split_seed=0), val_of(split_seed=1))
    assert not torch.equal(val_of(split_seed=0), val_of(split="last"))


def test_unknown_split_raises() -> None:
    assert get_args(names.ValSplit) == datamodule.SPLITS  # the CLI and the module accept one list
    with pytest.raises(ValueError, match="data.split must be one of random, last"):
        MNISTDataModule(split="tail")


def test_val_size_zero_means_no_validation(tiny_dir: Path) -> None:
    assert make_dm(tiny_dir, val_size=0).val_dataloader() == []


def test_val_size_too_large_raises(tiny_dir: Path) -> None:
    with pytest.raises(ValueError, match="val_size"):
        MNISTDataModule(val_size=60000)
    with pytest.raises(ValueError, match="val_size"):
        make_dm(tiny_dir, val_size=N_TRAIN)


def test_batches_are_uint8_pixels_and_int64_labels(tiny_dir: Path) -> None:
    x, y = next(iter(make_dm(tiny_dir, batch_size=16).train_dataloader()))
    assert x.dtype == torch.uint8 and x.shape == (16, 784)
    assert y.dtype == torch.int64 and y.shape == (16,)


def test_shuffle_order_depends_on_epoch_and_is_reproducible(tiny_dir: Path) -> None:
    dm = make_dm(tiny_dir, batch_size=8)
    dm.trainer = SimpleNamespace(current_epoch=0, global_rank=0, world_size=1)  # type: ignore[assignment]
    loader = dm.train_dataloader()

    def order() -> list[int]:
        return torch.cat([y for _, y in loader]).tolist()

    epoch0 = order()
    dm.trainer.current_epoch = 1  # read at __iter__ time, like a real trainer's epoch counter
    epoch1 = order()
    dm.trainer.current_epoch = 0
    assert epoch0 != epoch1 and order() == epoch0
    assert sorted(epoch0) == sorted(epoch1)
