"""The run lock: one process trains a run at a time."""

from __future__ import annotations

import os

import pytest

from src.training import run_lock


def test_run_lock_is_exclusive_while_held_and_free_after(tmp_path) -> None:
    run_dir = tmp_path / "experiment" / "0123abcd"
    assert not run_lock.is_busy(run_dir)  # never trained: no lock file
    with run_lock.hold(run_dir):
        assert run_lock.is_busy(run_dir)  # another open file description sees it taken
        second = run_lock.hold(run_dir)
        with pytest.raises(run_lock.RunBusy, match=f"process {os.getpid()} on "):
            second.__enter__()
    assert not run_lock.is_busy(run_dir)  # the file stays, the lock does not
    assert run_lock.lock_path(run_dir).is_file()
