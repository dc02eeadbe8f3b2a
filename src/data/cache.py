"""The compact uint8 cache every later load reads first (one .npz per dataset), with a digest
that doubles as the MLflow dataset digest."""

from __future__ import annotations

import hashlib
import os
import uuid
import zipfile
from collections.abc import Callable
from pathlib import Path
from typing import BinaryIO

import numpy as np

from src.data.dataset import NUM_FEATURES, DatasetArrays, DataSourceError, check_name

_ARRAY_KEYS = ("train_x", "train_y", "test_x", "test_y")


def _digest(arrays: tuple[np.ndarray, ...]) -> str:
    # Dtype and shape go in too, so equal bytes with a different layout get a different digest.
    h = hashlib.sha256()
    for key, a in zip(_ARRAY_KEYS, arrays, strict=True):
        h.update(f"{key}:{a.dtype.str}:{a.shape};".encode())
        h.update(np.ascontiguousarray(a).data)
    return h.hexdigest()


def make(arrays: tuple[np.ndarray, ...], source: str) -> DatasetArrays:
    return DatasetArrays(*arrays, source=source, digest=_digest(arrays))


def cache_path(name: str, data_dir: str | Path) -> Path:
    return Path(data_dir) / name / f"{name}-uint8.npz"


def atomic_write(path: Path, write: Callable[[BinaryIO], object]) -> None:
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


def save_arrays(path: Path, data: DatasetArrays) -> None:
    arrays = {k: getattr(data, k) for k in _ARRAY_KEYS}
    meta = {"source": np.array(data.source), "digest": np.array(data.digest)}
    atomic_write(path, lambda f: np.savez(f, **arrays, **meta))


# The cache as last read by this process, by file identity: a tuning worker's trials (and a
# group's members) would otherwise read and verify the same 55 MB once each (~0.5 s a trial).
_read: dict[tuple[str, int, int], DatasetArrays] = {}


def load_cache(path: Path) -> DatasetArrays:
    """The cached arrays, verified against their digest; read once per process while the file
    stays the same (same path, size and modification time)."""
    stat = path.stat()
    key = (str(path.resolve()), stat.st_size, stat.st_mtime_ns)
    if key not in _read:
        _read.clear()  # one dataset at a time is what a process uses
        _read[key] = _read_cache(path)
    return _read[key]


def _read_cache(path: Path) -> DatasetArrays:
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


def save_cache(
    name: str,
    data_dir: str | Path,
    arrays: tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray],
    source: str,
) -> DatasetArrays:
    """Write (train_x, train_y, test_x, test_y) as the cache `load_dataset` reads first.

    For data prepared elsewhere (and for tests, which build small synthetic sets).
    """
    check_name(name)
    data = make(tuple(arrays), source)
    save_arrays(cache_path(name, data_dir), data)
    return data
