"""Is a difference distinguishable from noise? The three tests `python -m src.compare` uses.

- two groups with different seeds: Welch's t-test (unequal variances);
- two groups over the same seeds/folds: the paired t-test (each pair shares a seed or a fold);
- two single runs on one test set: McNemar's exact test on the per-image predictions
  (Dietterich 1998, the standard test for two classifiers on one test set).
The difference is always candidate minus baseline.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from src.stats.intervals import CONFIDENCE

ALPHA = 0.05


@dataclass(frozen=True)
class Difference:
    test: str  # "welch", "paired" or "mcnemar"
    difference: float  # candidate - baseline
    low: float
    high: float
    p_value: float
    n: int  # members per side (paired), total of both sides (welch) or test images (mcnemar)
    detail: dict

    @property
    def distinguishable(self) -> bool:
        return self.p_value < ALPHA

    def verdict(self) -> str:
        if not math.isfinite(self.p_value):
            return "cannot tell: no spread to test against"
        if self.distinguishable:
            word = "better" if self.difference > 0 else "worse"
            return f"{word} than the baseline, distinguishable from noise at 5%"
        return "not distinguishable from noise at 5%"


def welch(candidate: Sequence[float], baseline: Sequence[float]) -> Difference:
    """Welch's t-test and the interval of the difference of means (needs n >= 2 on both sides)."""
    from scipy import stats

    a, b = np.asarray(candidate, float), np.asarray(baseline, float)
    if len(a) < 2 or len(b) < 2:
        raise ValueError("Welch's t-test needs at least two values on each side")
    result = stats.ttest_ind(a, b, equal_var=False)
    ci = result.confidence_interval(CONFIDENCE)
    return Difference(
        "welch",
        float(a.mean() - b.mean()),
        float(ci.low),
        float(ci.high),
        float(result.pvalue),
        len(a) + len(b),
        {"t": float(result.statistic), "df": float(result.df)},
    )


def paired(candidate: Sequence[float], baseline: Sequence[float]) -> Difference:
    """The paired t-test: candidate[i] and baseline[i] share a seed or a fold."""
    from scipy import stats

    a, b = np.asarray(candidate, float), np.asarray(baseline, float)
    if len(a) != len(b) or len(a) < 2:
        raise ValueError("the paired t-test needs two equal-length sequences of at least two")
    result = stats.ttest_rel(a, b)
    ci = result.confidence_interval(CONFIDENCE)
    return Difference(
        "paired",
        float((a - b).mean()),
        float(ci.low),
        float(ci.high),
        float(result.pvalue),
        len(a),
        {"t": float(result.statistic), "df": float(result.df)},
    )


def mcnemar(candidate: np.ndarray, baseline: np.ndarray, labels: np.ndarray) -> Difference:
    """McNemar's exact test on two classifiers' predictions of the same test images.

    Only discordant images carry information: b = candidate right and baseline wrong,
    c = the reverse. Under the null hypothesis each discordant image is a fair coin, so the exact
    p-value is a two-sided binomial test of b out of b + c. The interval is the Wald interval of
    the paired difference of accuracies, (b - c) / N.
    """
    from scipy import stats

    candidate, baseline, labels = (np.asarray(x).ravel() for x in (candidate, baseline, labels))
    if not (len(candidate) == len(baseline) == len(labels)) or len(labels) == 0:
        raise ValueError("McNemar's test needs predictions of the same, non-empty test set")
    right_a, right_b = candidate == labels, baseline == labels
    b = int(np.sum(right_a & ~right_b))
    c = int(np.sum(~right_a & right_b))
    n = len(labels)
    p_value = 1.0 if b + c == 0 else float(stats.binomtest(b, b + c, 0.5).pvalue)
    difference = (b - c) / n
    se = math.sqrt(max(b + c - (b - c) ** 2 / n, 0.0)) / n
    z = float(stats.norm.ppf(0.5 + CONFIDENCE / 2))
    return Difference(
        "mcnemar",
        difference,
        difference - z * se,
        difference + z * se,
        p_value,
        n,
        {"candidate_only_right": b, "baseline_only_right": c},
    )


TEST_NAMES = {
    "welch": "Welch's t-test (different seeds)",
    "paired": "paired t-test (same seeds/folds)",
    "mcnemar": "McNemar's exact test (per-image predictions, one test set)",
}
