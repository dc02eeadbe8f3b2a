"""A Comparison as people read it (a markdown table, printed and logged as comparison.md) and as
machines do (one JSON document: `--json`, and comparison.json)."""

from __future__ import annotations

import dataclasses

from src.comparison.comparison import Comparison
from src.comparison.decide import Candidate
from src.stats.intervals import CONFIDENCE, Interval, format_interval, t_interval
from src.stats.tests import ALPHA, TEST_NAMES, Difference


def scale_of(metric: str) -> tuple[float, int, str]:
    """(factor, digits, unit) to print a metric: accuracies and F1 in percentage points."""
    leaf = metric.rsplit("/", 1)[-1]
    if leaf.split("_")[0] in ("acc", "f1"):
        return 100.0, 2, "points"
    return 1.0, 4, ""


def interval_of(candidate: Candidate, metric: str) -> Interval | None:
    values = candidate.values.get(metric)
    return t_interval(list(values.values())) if values else None


def describe_test(difference: Difference) -> str:
    name = TEST_NAMES[difference.test]
    if difference.test == "paired":
        return f"{name}, {difference.n} pairs"
    if difference.test == "welch":
        n_candidate, n_baseline = difference.detail["n"]
        return f"{name}, n = {n_candidate} vs {n_baseline}"
    if difference.test == "mcnemar":
        b, c = difference.detail["candidate_only_right"], difference.detail["baseline_only_right"]
        return f"{name}, {difference.n} images, right in one only: {b} candidate, {c} baseline"
    return name


def _signed(value: float, factor: float, digits: int) -> str:
    return f"{value * factor:+.{digits}f}"


def notes(comparison: Comparison) -> list[str]:
    lines = []
    for candidate in comparison.candidates:
        if candidate.left_out:
            lines.append(f"{candidate.name}: {candidate.left_out} member(s) not FINISHED, left out")
        missing = candidate.n - len(candidate.values.get(comparison.metric, {}))
        if missing:
            lines.append(
                f"{candidate.name}: {missing} member(s) logged no finite {comparison.metric}"
            )
    if any(c.n == 1 for c in comparison.candidates):
        lines.append("n = 1: a single value has no interval")
    return lines


def to_markdown(comparison: Comparison) -> str:
    metric = comparison.metric
    factor, digits, unit = scale_of(metric)
    shown = comparison.shown_metrics
    lines = [
        f"Comparison on {metric}: mean ± half-width of the {CONFIDENCE:.0%} Student t interval;"
        f" differences are candidate − baseline{unit and ', in ' + unit}.",
        "",
        "| | run | id | kind | n | " + " | ".join(shown) + " |",
        "|---|---|---|---|---:|" + "---:|" * len(shown),
    ]
    for index, candidate in enumerate(comparison.candidates):
        cells = []
        for name in shown:
            interval = interval_of(candidate, name)
            f, d, _ = scale_of(name)
            cells.append("-" if interval is None else format_interval(interval, f, d))
        role = "baseline" if index == 0 else str(index)
        row = [role, candidate.name, candidate.run_id[:8], candidate.kind, str(candidate.n)]
        lines.append("| " + " | ".join(row + cells) + " |")
    lines += [
        "",
        f"| candidate | difference{unit and f' ({unit})'} | {CONFIDENCE:.0%} CI | p-value | test"
        " | verdict |",
        "|---|---:|---|---:|---|---|",
    ]
    baseline = comparison.baseline
    for candidate, difference in zip(
        comparison.candidates[1:], comparison.differences, strict=True
    ):
        interval = "-"
        if difference.low is not None:
            low, high = (_signed(v, factor, digits) for v in (difference.low, difference.high))
            interval = f"[{low}, {high}]"
        p_value = "-" if difference.p_value is None else f"{difference.p_value:.3g}"
        row = [
            f"{candidate.name} − {baseline.name}",
            _signed(difference.difference, factor, digits),
            interval,
            p_value,
            describe_test(difference),
            difference.verdict(),
        ]
        lines.append("| " + " | ".join(row) + " |")
    extra = notes(comparison)
    if extra:
        lines += ["", *(f"- {line}" for line in extra)]
    return "\n".join(lines) + "\n"


def _interval_document(interval: Interval | None) -> dict | None:
    if interval is None:
        return None
    return {**dataclasses.asdict(interval), "half_width": interval.half_width}


def _candidate_document(candidate: Candidate, shown: tuple[str, ...]) -> dict:
    members = []
    for key, run_id in candidate.members.items():
        seed, fold = key
        values = {m: candidate.values.get(m, {}).get(key) for m in shown}
        members.append({"run_id": run_id, "seed": seed, "fold": fold, "metrics": values})
    return {
        "argument": candidate.argument,
        "run_id": candidate.run_id,
        "name": candidate.name,
        "kind": candidate.kind,
        "n": candidate.n,
        "left_out": candidate.left_out,
        "metrics": {m: _interval_document(interval_of(candidate, m)) for m in shown},
        "members": members,
    }


def to_document(comparison: Comparison) -> dict:
    """Everything the table says, as plain JSON values (None where there is no number)."""
    shown = comparison.shown_metrics
    baseline = comparison.baseline
    comparisons = []
    for candidate, difference in zip(
        comparison.candidates[1:], comparison.differences, strict=True
    ):
        comparisons.append(
            {
                "baseline": baseline.run_id,
                "candidate": candidate.run_id,
                "metric": comparison.metric,
                "test": difference.test,
                "test_name": TEST_NAMES[difference.test],
                "difference": difference.difference,
                "ci95_low": difference.low,
                "ci95_high": difference.high,
                "p_value": difference.p_value,
                "n": difference.n,
                "distinguishable": difference.distinguishable,
                "verdict": difference.verdict(),
                "detail": difference.detail,
            }
        )
    return {
        "metric": comparison.metric,
        "confidence": CONFIDENCE,
        "alpha": ALPHA,
        "candidates": [_candidate_document(c, shown) for c in comparison.candidates],
        "comparisons": comparisons,
        "tests": TEST_NAMES,
        "notes": notes(comparison),
    }
