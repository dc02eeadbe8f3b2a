"""Is a difference distinguishable from noise? The three tests `python -m src.compare` uses.

- two groups with different seeds: Welch's t-test (unequal variances);
- two groups over the same seeds/folds: the paired t-test (each pair shares a seed or a fold);
- two single runs on one test set: McNemar's exact test on the per-image predictions
  (Dietterich 1998, the standard test for two classifiers on one test set).
The difference is always candidate minus baseline. Where no test applies (one value on a side),
`no_test` still gives the difference, with no interval and no p-value.
"""

from __future__ import annotations

import contextlib
import math
import warnings
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field

import numpy as np

from src.stats.intervals import CONFIDENCE

ALPHA = 0.05
NO_SPREAD = "no spread to test against: every value is the same"


@dataclass(frozen=True)
class Difference:
    test: str  # a key of TEST_NAMES
    difference: float  # candidate - baseline
    low: float | None  # None when no test was possible
    high: float | None
    p_value: float | None
    n: int  # pairs (paired), values of both sides (welch, none) or test images (mcnemar)
    detail: dict = field(default_factory=dict)  # the statistic, df, counts, or why no test

    @property
    def distinguishable(self) -> bool:
        return self.p_value is not None and self.p_value < ALPHA

    def verdict(self) -> str:
        if self.p_value is None:
            return f"no test possible: {self.detail.get('reason', 'not enough values')}"
        if self.distinguishable:
            return "distinguishable from noise at 5%"
        return "not distinguishable from noise at 5%"


def _values(candidate: Sequence[float], baseline: Sequence[float]) -> tuple[np.ndarray, ...]:
    a, b = np.asarray(candidate, float), np.asarray(baseline, float)
    if not (np.isfinite(a).all() and np.isfinite(b).all()):
        raise ValueError("the tests need finite values")
    return a, b


def _no_spread(values: np.ndarray) -> bool:
    # Equal up to rounding: 0.98 - 0.97 and 0.99 - 0.98 differ in the 17th digit, which would
    # give a t of 1e14 and a "significant" difference made of floating-point noise.
    return bool(np.allclose(values, values[0], rtol=1e-9, atol=1e-12))


@contextlib.contextmanager
def _quiet_precision() -> Iterator[None]:
    # scipy warns of precision loss when one side's values are (nearly) all equal; the result
    # stands, and a warning on stderr would spoil the commands' output.
    with warnings.catch_warnings():
        warnings.filterwarnings("ignore", "Precision loss occurred", RuntimeWarning)
        yield


def no_test(candidate: Sequence[float], baseline: Sequence[float], reason: str) -> Difference:
    """The difference of means alone, saying why it could not be tested."""
    a, b = _values(candidate, baseline)
    if len(a) == 0 or len(b) == 0:
        raise ValueError("a difference needs at least one value on each side")
    return Difference(
        "none", float(a.mean() - b.mean()), None, None, None, len(a) + len(b), {"reason": reason}
    )


def welch(candidate: Sequence[float], baseline: Sequence[float]) -> Difference:
    """Welch's t-test and the interval of the difference of means (needs n >= 2 on both sides)."""
    from scipy import stats

    a, b = _values(candidate, baseline)
    if len(a) < 2 or len(b) < 2:
        raise ValueError("Welch's t-test needs at least two values on each side")
    if _no_spread(a) and _no_spread(b):  # scipy would divide 0 by 0
        return no_test(a, b, NO_SPREAD)
    with _quiet_precision():
        result = stats.ttest_ind(a, b, equal_var=False)
    ci = result.confidence_interval(CONFIDENCE)
    return Difference(
        "welch",
        float(a.mean() - b.mean()),
        float(ci.low),
        float(ci.high),
        float(result.pvalue),
        len(a) + len(b),
        {"t": float(result.statistic), "df": float(result.df), "n": [len(a), len(b)]},
    )


def paired(candidate: Sequence[float], baseline: Sequence[float]) -> Difference:
    """The paired t-test: candidate[i] and baseline[i] share a seed or a fold."""
    from scipy import stats

    a, b = _values(candidate, baseline)
    if len(a) != len(b) or len(a) < 2:
        raise ValueError("the paired t-test needs two equal-length sequences of at least two")
    differences = a - b
    if _no_spread(differences):  # t would be 0/0, or infinite from rounding noise alone
        return Difference(
            "none",
            float(differences.mean()),
            None,
            None,
            None,
            len(a),
            {"reason": "no spread to test against: every pair differs by the same amount"},
        )
    with _quiet_precision():
        result = stats.ttest_rel(a, b)
    ci = result.confidence_interval(CONFIDENCE)
    return Difference(
        "paired",
        float(differences.mean()),
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
    "none": "no test",
}
