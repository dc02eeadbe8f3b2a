"""One process trains a run at a time: an advisory lock on `training.lock` in the run's
checkpoint folder.

The operating system drops an flock lock when its process ends, however it ends (Ctrl-C,
SIGKILL, out of memory), so a run whose process died stays resumable, while a run that is still
training cannot be resumed by a second process writing the same checkpoints and MLflow run.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

try:
    import fcntl
except ImportError:  # Windows: no flock; runs are then not guarded against a second trainer
    fcntl = None


def lock_path(run_dir: Path) -> Path:
    return run_dir / "training.lock"


class RunBusy(Exception):
    """The run is being trained by another live process."""


def owner(run_dir: Path) -> str:
    """Who holds (or last held) the run's lock, as its holder wrote it."""
    path = lock_path(run_dir)
    text = path.read_text().strip() if path.is_file() else ""
    return text or "another process"


def is_busy(run_dir: Path) -> bool:
    """Whether a live process holds the run's lock (a leftover lock file from a dead one is not)."""
    path = lock_path(run_dir)
    if fcntl is None or not path.is_file():
        return False
    with path.open("a") as handle:
        try:
            fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            return True
        fcntl.flock(handle, fcntl.LOCK_UN)
    return False


@contextmanager
def hold(run_dir: Path) -> Iterator[None]:
    """Hold the run's lock while training it; RunBusy if a live process already does."""
    if fcntl is None:
        yield
        return
    path = lock_path(run_dir)
    run_dir.mkdir(parents=True, exist_ok=True)
    with path.open("a+") as handle:
        try:
            fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            raise RunBusy(
                f"run {run_dir.name} is still being trained by {owner(run_dir)}"
            ) from None
        handle.truncate(0)
        handle.write(f"process {os.getpid()} on {os.uname().nodename}\n")
        handle.flush()
        try:
            yield
        finally:
            fcntl.flock(handle, fcntl.LOCK_UN)
