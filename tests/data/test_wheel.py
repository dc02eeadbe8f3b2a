"""The wheel's pickle is read by a restricted unpickler: numpy arrays yes, any other global no."""

from __future__ import annotations

import io
import os
import pickle
from pathlib import Path

import numpy as np
import pytest

from src.data.wheel import RestrictedUnpickler


def restricted_load(blob: bytes) -> object:
    return RestrictedUnpickler(io.BytesIO(blob), encoding="latin1").load()


def test_restricted_unpickler_loads_numpy_arrays() -> None:
    arrays = (np.linspace(0, 1, 12, dtype=np.float32).reshape(3, 4), np.arange(3))
    # Protocol 4: arrays reduce via _reconstruct (5 would use _frombuffer; 2 pickles bytes via
    # _codecs.encode, which the Python-2 pickle in the wheel never needs).
    loaded = restricted_load(pickle.dumps(arrays, protocol=4))
    np.testing.assert_array_equal(loaded[0], arrays[0])
    np.testing.assert_array_equal(loaded[1], arrays[1])


class _Evil:
    def __init__(self, func: object, arg: str) -> None:
        self.func, self.arg = func, arg

    def __reduce__(self) -> tuple:
        return (self.func, (self.arg,))


@pytest.mark.parametrize("kind", ["os.system", "builtins.eval"])
def test_restricted_unpickler_refuses_other_globals(tmp_path: Path, kind: str) -> None:
    marker = tmp_path / "pwned"
    if kind == "os.system":
        evil = _Evil(os.system, f"touch {marker}")
    else:
        evil = _Evil(eval, f"open({str(marker)!r}, 'w')")
    with pytest.raises(pickle.UnpicklingError, match="refused global"):
        restricted_load(pickle.dumps(evil, protocol=2))
    assert not marker.exists()
