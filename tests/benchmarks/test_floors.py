"""The two floors the default command is measured against do the same work: Lightning's own loop
(benchmarks/lightning_loop.py) trains, validates and tests exactly as the raw loop does."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]


def printed(module: str, data_dir: Path) -> list[list[str]]:
    """The words of each line the floor printed for 2 epochs and its test pass, without the
    epochs' seconds."""
    done = subprocess.run(
        [sys.executable, "-m", module, "--epochs=2", f"--data-dir={data_dir}", "--val-size=200"],
        cwd=ROOT, capture_output=True, text=True, timeout=300, check=True,
    )  # fmt: skip
    lines = [line.split() for line in done.stdout.splitlines() if line]
    return [words[:-2] if words[-1] == "s" else words for words in lines]


def number(word: str) -> float | None:
    try:
        return float(word)
    except ValueError:
        return None


@pytest.mark.slow
def test_lightnings_loop_computes_what_the_raw_loop_computes(tiny_data_dir) -> None:
    raw = printed("benchmarks.raw_loop", tiny_data_dir)
    lightning = printed("benchmarks.lightning_loop", tiny_data_dir)
    assert [words[:2] for words in raw] == [["epoch", "1"], ["epoch", "2"], ["test", "loss"]]
    labels = [[w for w in words if number(w) is None] for words in raw]
    assert [[w for w in words if number(w) is None] for words in lightning] == labels
    # Same initial weights, batches, dropout masks and optimizer steps: the same losses and
    # accuracies (summed per batch in one, averaged over the whole set in the other: rounding
    # apart). The losses print 6 significant digits.
    values = [[number(w) for w in words if number(w) is not None] for words in raw]
    assert min(v for line in values for v in line) > 0  # not a loss rounded to nothing
    for theirs, ours in zip(values, lightning, strict=True):
        assert [number(w) for w in ours if number(w) is not None] == pytest.approx(theirs, rel=1e-4)
