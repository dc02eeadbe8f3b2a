"""Tiny self-made IDX files, accepted as 'mnist' by patching the hash table and the counts."""

from __future__ import annotations

import gzip
import hashlib
import struct
from pathlib import Path

import numpy as np
import pytest

from src.data import idx, sources

N_TRAIN, N_TEST = 100, 30


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
