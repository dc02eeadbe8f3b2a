"""src/runtime/process.py: while an entry point imports the libraries the garbage collector is off,
and what the imports created is frozen afterwards, also when an import fails."""

from __future__ import annotations

import gc

import pytest

from src.runtime.process import importing_libraries


@pytest.fixture
def unfrozen():
    """The test process's collector as it was: on, nothing frozen."""
    gc.unfreeze()
    yield
    gc.unfreeze()
    gc.enable()


class Cycle:
    def __init__(self) -> None:
        self.me = self


def test_no_collection_while_importing_then_the_objects_are_frozen(unfrozen) -> None:
    before = gc.get_freeze_count()
    with importing_libraries():
        assert not gc.isenabled()
        made = [Cycle() for _ in range(1000)]
    assert gc.isenabled()
    assert gc.get_freeze_count() >= before + len(made)
    # Frozen: tracked, yet in none of the generations the collector's passes walk.
    assert gc.is_tracked(made[0]) and not any(made[0] is o for o in gc.get_objects())


def test_a_failed_import_leaves_the_collector_on(unfrozen) -> None:
    with pytest.raises(ModuleNotFoundError), importing_libraries():
        import no_such_library  # noqa: F401
    assert gc.isenabled()


def test_a_collector_that_was_off_stays_off(unfrozen) -> None:
    gc.disable()
    with importing_libraries():
        pass
    assert not gc.isenabled()
