"""src/runtime/process.py: an entry point imports the libraries with the garbage collector off and
freezes what they created, once per process; the collector is on again after, also when an
import fails."""

from __future__ import annotations

import subprocess
import sys

from tests.helpers import ROOT

SCRIPT = """
import gc
from src.runtime.process import importing_libraries

full_passes = []
gc.callbacks.append(
    lambda phase, info: full_passes.append(1) if phase == "start" and info["generation"] == 2 else 0
)
with importing_libraries():
    off_inside = not gc.isenabled()
    import lightning.pytorch, mlflow, torch
print("first", off_inside, gc.isenabled(), len(full_passes), gc.get_freeze_count() > 100_000)

frozen = gc.get_freeze_count()
with importing_libraries():  # loaded already: nothing is frozen, the collector stays on
    on_inside = gc.isenabled()
    garbage = [[] for _ in range(1000)]
print("again", on_inside, gc.get_freeze_count() == frozen)
"""

FAILING = """
import gc
from src.runtime.process import importing_libraries

try:
    with importing_libraries():
        import no_such_library
except ModuleNotFoundError:
    print("failed", gc.isenabled())
"""


def run(script: str) -> list[str]:
    done = subprocess.run(
        [sys.executable, "-c", script], cwd=ROOT, capture_output=True, text=True, check=True
    )
    return done.stdout.split()


def test_the_first_import_runs_no_full_collection_and_is_frozen_then_nothing_more() -> None:
    # first: off inside, on after, no full pass during the imports, half a million objects frozen
    assert run(SCRIPT) == ["first", "True", "True", "0", "True", "again", "True", "True"]


def test_a_failed_import_leaves_the_collector_on() -> None:
    assert run(FAILING) == ["failed", "True"]
