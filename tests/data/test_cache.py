"""The cache: a second load reads it instead of the files; a corrupt one is reported, kept."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from src.data.cache import cache_path
from src.data.dataset import DataSourceError
from src.data.sources import load_dataset
from tests.data.idx_files import write_tiny_set


def test_cache_round_trip_gives_identical_arrays_and_digest(tmp_path: Path, monkeypatch) -> None:
    raw_dir = tmp_path / "MNIST" / "raw"  # torchvision layout
    write_tiny_set(raw_dir, monkeypatch, gz=False)
    first = load_dataset("mnist", tmp_path, allow_download=False)
    assert str(raw_dir) in first.source
    for p in raw_dir.iterdir():  # the second load must not need them
        p.unlink()
    second = load_dataset("mnist", tmp_path, allow_download=False)
    assert "cached" in second.source and second.digest == first.digest
    for key in ("train_x", "train_y", "test_x", "test_y"):
        np.testing.assert_array_equal(getattr(first, key), getattr(second, key))
    assert second.train_x.dtype == np.uint8 and second.train_y.dtype == np.int64


def test_corrupt_cache_is_reported_not_overwritten(tiny_dir: Path) -> None:
    cache = cache_path("mnist", tiny_dir)
    cache.write_bytes(cache.read_bytes()[:1000])
    with pytest.raises(DataSourceError, match="corrupt.*delete") as err:
        load_dataset("mnist", tiny_dir, allow_download=False)
    assert str(cache) in str(err.value) and cache.stat().st_size == 1000
