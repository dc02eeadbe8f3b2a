"""benchmarks/side_by_side.py: both processes run at once, each pinned to its own vCPU; an epoch
is the time between two epoch lines, and only the raw epochs inside the command's epochs 2..N
count."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest

from benchmarks.side_by_side import side_by_side, two_cpus

CPUS = two_cpus()


def printing(first_s: float, then_s: float, switch_after: int, line: str, cpu_file: Path):
    """A process that writes its vCPUs to cpu_file, then prints `line` every `first_s` seconds
    for `switch_after` lines and every `then_s` seconds after, until its line count runs out."""

    def command(lines: int) -> list[str]:
        code = (
            "import os, time\n"
            f"open({str(cpu_file)!r}, 'w').write(str(sorted(os.sched_getaffinity(0))))\n"
            f"for n in range({lines}):\n"
            f"    time.sleep({first_s} if n < {switch_after} else {then_s})\n"
            f"    print({line!r}.format(n=n + 1), flush=True)\n"
        )
        return [sys.executable, "-c", code]

    return command


@pytest.mark.skipif(CPUS is None, reason="needs two usable vCPUs")
def test_each_side_gets_its_vcpu_and_only_the_raw_epochs_inside_the_commands_count(
    tmp_path: Path,
) -> None:
    assert CPUS is not None
    # The command: its first epoch line after 1 s, then one every 0.4 s. The raw loop: 20
    # epochs of 0.05 s while the command starts, the most of its epochs, which must not count;
    # then 0.1 s each.
    ours = printing(1.0, 0.4, 1, "epoch {n}/4 | train loss 0.1 acc 0.9 | 0.4 s", tmp_path / "a")
    raw = printing(0.05, 0.1, 20, "epoch {n} val loss 0.1 acc 0.9 0.1 s", tmp_path / "b")
    mine, theirs = side_by_side(ours(4), raw, CPUS, Path.cwd(), Path.cwd())
    assert mine == pytest.approx(0.4, abs=0.08)
    assert theirs == pytest.approx(0.1, abs=0.03)
    assert (tmp_path / "a").read_text() == str([CPUS[0]])
    assert (tmp_path / "b").read_text() == str([CPUS[1]])
