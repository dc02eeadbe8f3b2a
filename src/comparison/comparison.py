"""One comparison: load every named run or group, then test each candidate against the first
(the baseline) on one metric."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from src.comparison.decide import MCNEMAR_METRIC, Candidate, compare_candidates
from src.comparison.predictions import with_predictions
from src.comparison.runs import check_metric, load_candidate
from src.errors import UsageError
from src.stats.tests import Difference

DEFAULT_METRIC = "test/acc"
SHOWN_METRICS = ("test/acc", "val/acc_best")  # every candidate's row shows these, and the metric


@dataclass(frozen=True)
class Comparison:
    metric: str
    candidates: list[Candidate]  # the first is the baseline
    differences: list[Difference]  # candidates[i + 1] - candidates[0] on `metric`

    @property
    def baseline(self) -> Candidate:
        return self.candidates[0]

    @property
    def shown_metrics(self) -> tuple[str, ...]:
        return tuple(dict.fromkeys((*SHOWN_METRICS, self.metric)))


def compare_runs(client, arguments: Sequence[str], metric: str = DEFAULT_METRIC) -> Comparison:
    """Candidates from the store (run ids, group ids, models:/ URIs), each against the first."""
    if len(arguments) < 2:
        raise UsageError(
            f"compare needs a baseline and at least one candidate; got {len(arguments)} run"
        )
    candidates = [load_candidate(client, argument) for argument in arguments]
    for candidate in candidates:
        check_metric(candidate, metric)
    singles = [c for c in candidates if c.kind == "run"]
    if metric == MCNEMAR_METRIC and candidates[0].kind == "run" and len(singles) >= 2:
        # Only then can McNemar's test apply: reading predictions and labels costs a download
        # per run and a dataset load, for nothing in any other case.
        labels: dict = {}
        candidates = [
            with_predictions(client, c, labels) if c.kind == "run" else c for c in candidates
        ]
    baseline = candidates[0]
    differences = [compare_candidates(baseline, c, metric) for c in candidates[1:]]
    return Comparison(metric, candidates, differences)
