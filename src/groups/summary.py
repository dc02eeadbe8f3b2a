"""What the user sees at the end of a group: one row per metric with its 95% t interval."""

from __future__ import annotations

from typing import TYPE_CHECKING

from src.groups.members import describe_members
from src.stats.intervals import Interval, format_interval

if TYPE_CHECKING:
    from src.groups.runner import GroupResult

# metric -> (scale, decimals, unit): accuracies in percent, the rest as logged.
_SHOWN = {
    "test/acc": (100.0, 2, " %"),
    "val/acc_best": (100.0, 2, " %"),
    "test/f1": (1.0, 4, ""),
    "test/loss": (1.0, 4, ""),
    "epochs": (1.0, 1, ""),
    "wall_time_s": (1.0, 1, " s"),
}


def interval_row(name: str, interval: Interval) -> tuple[str, str, str, str]:
    """(metric, mean ± half-width, min–max, n) as printed."""
    scale, digits, unit = _SHOWN.get(name, (1.0, 4, ""))
    low, high = interval.minimum * scale, interval.maximum * scale
    return (
        name,
        format_interval(interval, scale, digits) + unit,
        f"{low:.{digits}f}–{high:.{digits}f}{unit}",
        str(interval.n),
    )


def summary_lines(result: GroupResult) -> list[str]:
    """The lines under the table: where the group is and what to do with it."""
    finished = sum(run.status == "FINISHED" for run in result.runs.values())
    lines = [f"group (parent) run id: {result.parent_run_id}"]
    lines.append(f"members finished: {finished} of {len(result.members)}")
    if result.skipped:
        skipped = ", ".join(m.label for m in result.skipped)
        lines.append(f"finished before and skipped: {skipped}")
    if result.stopped_early:
        lines.append("stopped early (group_stopped=early)")
    lines.append(
        f"compare it: python -m src.compare {result.parent_run_id} <another run or group id>"
    )
    return lines


def print_group_summary(result: GroupResult) -> None:
    from rich.console import Console
    from rich.table import Table

    table = Table(title=f"Group summary: {describe_members(result.members)}")
    for column in ("metric", "mean ± half-width (95% t)", "min–max", "n"):
        table.add_column(column, justify="left" if column == "metric" else "right")
    for name, interval in result.intervals.items():
        table.add_row(*interval_row(name, interval))
    console = Console()
    console.print(table)
    for line in summary_lines(result):
        console.print(line, highlight=False, soft_wrap=True)
