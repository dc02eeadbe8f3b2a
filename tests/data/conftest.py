"""The data tests run on tiny self-made IDX files: no network, no pip."""

from __future__ import annotations

from pathlib import Path

import pytest

from src.data import sources, wheel
from src.data.sources import load_dataset
from tests.data.idx_files import write_tiny_set


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
