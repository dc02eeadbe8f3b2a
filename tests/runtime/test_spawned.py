"""src/runtime/spawned.py: a spawned process unpickles its target, and so imports the target's
module and the libraries, as an entry point imports them: collection off, then frozen."""

from __future__ import annotations

from pathlib import Path

from src.runtime.spawned import run_in_processes
from tests.runtime.spawn_target import record_collector


def test_a_spawned_target_imports_the_libraries_as_an_entry_point_does(tmp_path: Path) -> None:
    seen = tmp_path / "seen"
    assert run_in_processes(record_collector, [(str(seen),)], "spawn-test") == {}
    frozen, enabled = seen.read_text().split()
    assert int(frozen) > 100_000  # torch, Lightning and MLflow's objects, frozen
    assert enabled == "True"
