"""A target for tests/runtime/test_spawned.py whose module imports torch, Lightning and MLflow at
its top, as the tuning and group workers' modules do."""

from __future__ import annotations

import gc
from pathlib import Path

import lightning.pytorch  # noqa: F401
import mlflow  # noqa: F401
import torch  # noqa: F401


def record_collector(path: str) -> None:
    """Writes how many objects are frozen and whether collection is on, as the target starts."""
    Path(path).write_text(f"{gc.get_freeze_count()} {gc.isenabled()}")
