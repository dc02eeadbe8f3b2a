"""IDX files: read plain or gzipped, checked against their sha256, refused when broken."""

from __future__ import annotations

import struct
from pathlib import Path

import numpy as np
import pytest

from src.data.dataset import DataSourceError
from src.data.idx import read_idx
from tests.data.idx_files import idx_bytes, write_idx


@pytest.mark.parametrize("suffix", ["", ".gz"])
def test_read_idx_round_trips_images_and_labels(tmp_path: Path, suffix: str) -> None:
    images = np.arange(3 * 28 * 28, dtype=np.uint32).reshape(3, 28, 28).astype(np.uint8)
    labels = np.array([7, 0, 9], dtype=np.uint8)
    img_hash = write_idx(tmp_path / f"img{suffix}", images)
    lab_hash = write_idx(tmp_path / f"lab{suffix}", labels)
    np.testing.assert_array_equal(read_idx(tmp_path / f"img{suffix}", img_hash), images)
    np.testing.assert_array_equal(read_idx(tmp_path / f"lab{suffix}", lab_hash), labels)


def test_checksum_mismatch_names_file_and_both_hashes(tmp_path: Path) -> None:
    path = tmp_path / "train-labels-idx1-ubyte.gz"
    actual = write_idx(path, np.arange(5, dtype=np.uint8))
    with pytest.raises(DataSourceError) as err:
        read_idx(path, "0" * 64)
    msg = str(err.value)
    assert str(path) in msg and "0" * 64 in msg and actual in msg


def test_truncated_idx_file_is_rejected(tmp_path: Path) -> None:
    path = tmp_path / "t10k-images-idx3-ubyte"
    path.write_bytes(idx_bytes(np.zeros((4, 28, 28), np.uint8))[:-10])
    with pytest.raises(DataSourceError, match="truncated") as err:
        read_idx(path)
    assert str(path) in str(err.value)


def test_bad_magic_is_rejected(tmp_path: Path) -> None:
    path = tmp_path / "t10k-labels-idx1-ubyte"
    path.write_bytes(struct.pack(">ii", 1234, 2) + b"\x01\x02")
    with pytest.raises(DataSourceError, match="magic 1234") as err:
        read_idx(path)
    assert str(path) in str(err.value)
