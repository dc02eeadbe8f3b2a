"""Process-wide settings every entry point applies once, before any work (run_main does it):
filters for library warnings and log lines that say nothing to this project's users."""

from __future__ import annotations

import atexit
import contextlib
import gc
import logging
import os
import sys
import warnings
from collections.abc import Iterator

# Where Lightning's rank-zero messages go. Importing mlflow.pytorch imports the standalone
# pytorch_lightning package too, which re-points lightning_utilities' one shared rank-zero logger
# at its own names: from then on our lightning.pytorch Trainer speaks through those.
RANK_ZERO_LOGGERS = (
    "lightning.pytorch",
    "lightning.fabric",
    "pytorch_lightning",
    "lightning_fabric",
)
# What importing_libraries is for: loaded once, they stay for the process's life.
LIBRARIES = {"torch", "lightning", "mlflow"}
IGNORED_WARNINGS = (
    # Lightning's advice for DataLoaders does not apply to in-memory tensor batches.
    ".*does not have many workers.*",
    # Lightning 2.6.6 calls a pytree API that torch 2.13 deprecates (nothing to do on our side).
    ".*`isinstance.*treespec.*",
    # Each run has its own checkpoint folder: it is non-empty only when resuming (or for its lock).
    "Checkpoint directory .* exists and is not empty",
    # Under DDP Lightning advises sync_dist=True for epoch-level logs; the logged values come from
    # torchmetrics' compute(), already reduced across ranks (models/classifier.py).
    r".*self\.log\('.*', \.\.\., sync_dist=True\)",
)


def rank_zero_loggers() -> list[logging.Logger]:
    """The loggers of rank_zero_info / rank_zero_warn in each copy of Lightning."""
    return [logging.getLogger(f"{name}.utilities.rank_zero") for name in RANK_ZERO_LOGGERS]


def _not_an_advert(record: logging.LogRecord) -> bool:
    return "litlogger" not in record.getMessage()  # Lightning prints one on every run


def configure_process() -> None:
    """Apply the filters and the quick exit; safe to call more than once (tests and spawned
    workers do)."""
    # At exit, the garbage collector's passes over the half a million objects that torch,
    # Lightning and MLflow hold took 1.6 s of a bare `import torch, lightning.pytorch, mlflow`
    # and 2.3 s of a training command's exit on 2 vCPUs (benchmarks/README.md), between the
    # last line printed and the prompt. Frozen objects are skipped by those passes; shutdown
    # itself (atexit handlers before this one, flushing and closing files, clearing modules)
    # still runs. Registered before the heavy imports, so it runs after their atexit handlers.
    atexit.unregister(gc.freeze)
    atexit.register(gc.freeze)
    # Figures are only ever written to files: no display needed, and none is looked for.
    os.environ.setdefault("MPLBACKEND", "Agg")
    for message in IGNORED_WARNINGS:
        warnings.filterwarnings("ignore", message=message)
    for rank_zero in rank_zero_loggers():
        if _not_an_advert not in rank_zero.filters:
            rank_zero.addFilter(_not_an_advert)
    # First-use schema messages would make a one-line error three lines.
    logging.getLogger("mlflow.store.db.utils").setLevel(logging.WARNING)
    # Every run's system metrics would add "Started monitoring" / "Skip logging GPU metrics".
    logging.getLogger("mlflow.system_metrics").setLevel(logging.WARNING)


@contextlib.contextmanager
def importing_libraries() -> Iterator[None]:
    """Around an entry point's first import of torch, Lightning and MLflow.

    While they load, the garbage collector's full passes walk a heap that grows to half a million
    objects, each pass longer than the last: 8 passes, 1.0 s of a training command's start on
    2 vCPUs (benchmarks/README.md). Collection is off while they import, and what they created is
    frozen after: later full passes skip it too. Those objects live as long as the process.
    Once they are loaded (an entry point run again in the same process, as tests do), it does
    nothing: freezing then would only keep the caller's garbage forever.
    """
    if LIBRARIES.issubset(sys.modules):
        yield
        return
    enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        gc.freeze()
        if enabled:
            gc.enable()
