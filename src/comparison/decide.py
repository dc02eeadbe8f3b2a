"""Which test a comparison gets, and its result: pure numbers in, a Difference out (no MLflow).

Same members (seed, fold) on both sides -> the paired t-test, since pairing removes what a seed
or a fold does to both; otherwise Welch's t-test when each side has n >= 2; two single runs
with predictions of one test set -> McNemar's exact test on the images; anything else -> the
difference alone, saying why no test is possible.
"""

from __future__ import annotations

from collections.abc import Hashable, Mapping
from dataclasses import dataclass, field, replace

import numpy as np

from src.stats.tests import Difference, mcnemar, no_test, paired, welch

MemberKey = tuple[int | None, int | None]  # (seed, fold); None where a run has no fold
# McNemar counts images one classifier gets right and the other wrong: it tests accuracy only.
MCNEMAR_METRIC = "test/acc"


@dataclass(frozen=True)
class Candidate:
    """A run or a group as the comparison sees it: per metric, one value per member."""

    argument: str  # as the user named it: a run id or a models:/ URI
    run_id: str
    name: str
    kind: str  # "group" (a parent run) or "run" (a single run: a group of one)
    values: dict[str, dict[MemberKey, float]]  # metric -> member -> value
    members: dict[MemberKey, str] = field(default_factory=dict)  # member -> its run id
    left_out: int = 0  # members that did not finish, so are not counted
    predictions: np.ndarray | None = None  # a single run's predicted label per test image
    labels: np.ndarray | None = None  # the true labels of the test set it was tested on
    test_set: str | None = None  # which test set: dataset name and digest
    no_predictions: str | None = None  # why predictions or labels are missing

    @property
    def n(self) -> int:
        return len(self.members)


def compare_values(
    baseline: Mapping[Hashable, float], candidate: Mapping[Hashable, float]
) -> Difference:
    """Candidate minus baseline over per-member values keyed by (seed, fold): the paired t-test
    when both have the same keys, Welch's t-test when both have n >= 2, else no test."""
    if not baseline or not candidate:
        raise ValueError("a comparison needs at least one value on each side")
    if len(baseline) >= 2 and set(baseline) == set(candidate):
        keys = list(baseline)
        return paired([candidate[k] for k in keys], [baseline[k] for k in keys])
    a, b = list(candidate.values()), list(baseline.values())
    if len(a) >= 2 and len(b) >= 2:
        return welch(a, b)
    if len(a) == len(b) == 1:
        reason = "one run on each side; a t-test needs n >= 2 on each"
    else:
        side = "baseline" if len(b) == 1 else "candidate"
        reason = f"the {side} has n = 1; a t-test needs n >= 2 on each side"
    return no_test(a, b, reason)


def mcnemar_obstacle(baseline: Candidate, candidate: Candidate) -> str | None:
    """Why two single runs cannot be compared image by image; None when they can."""
    for run in (baseline, candidate):
        if run.predictions is None or run.labels is None:
            return f"{run.name}: {run.no_predictions or 'no test predictions'}"
    if baseline.test_set != candidate.test_set or not np.array_equal(
        baseline.labels, candidate.labels
    ):
        return f"tested on different test sets ({baseline.test_set} vs {candidate.test_set})"
    for run in (baseline, candidate):
        if len(run.predictions) != len(run.labels):
            return (
                f"{run.name}: {len(run.predictions)} predictions for {len(run.labels)} test images"
            )
    return None


def compare_candidates(baseline: Candidate, candidate: Candidate, metric: str) -> Difference:
    """The test for this pair on `metric` (see the module's docstring), candidate - baseline."""
    if baseline.kind == candidate.kind == "run" and metric == MCNEMAR_METRIC:
        obstacle = mcnemar_obstacle(baseline, candidate)
        if obstacle is None:
            return mcnemar(candidate.predictions, baseline.predictions, baseline.labels)
        result = compare_values(baseline.values[metric], candidate.values[metric])
        reason = f"{result.detail['reason']}, and McNemar's test is not possible: {obstacle}"
        return replace(result, detail={"reason": reason})
    return compare_values(baseline.values[metric], candidate.values[metric])
