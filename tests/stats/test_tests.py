"""Welch's and the paired t-test against scipy and a hand computation on fixed numbers;
McNemar's exact test on prediction vectors built with known discordant counts."""

from __future__ import annotations

import numpy as np
import pytest
from scipy import stats

from src.stats.tests import mcnemar, no_test, paired, welch

BASELINE = [0.9810, 0.9822, 0.9801, 0.9815, 0.9830]
CANDIDATE = [0.9825, 0.9831, 0.9809, 0.9829, 0.9838]
OTHER_SEEDS = [0.978, 0.979, 0.981]


def test_paired_t_statistic_by_hand():
    # Differences d = 15, 9, 8, 14, 8 (·1e-4); mean 10.8e-4; deviations 4.2, -1.8, -2.8, 3.2,
    # -2.8 (·1e-4); squares sum to 46.8e-8; s² = 46.8e-8 / 4 = 11.7e-8; s = 3.42053e-4;
    # s/√5 = 1.529706e-4; t = 10.8e-4 / 1.529706e-4 = 7.06017 with 4 degrees of freedom.
    result = paired(CANDIDATE, BASELINE)
    assert result.test == "paired"
    assert result.difference == pytest.approx(10.8e-4)
    assert result.detail["t"] == pytest.approx(7.06017, rel=1e-5)
    assert result.detail["df"] == 4
    assert result.n == 5
    half_width = stats.t.ppf(0.975, 4) * 1.529706e-4
    assert (result.low, result.high) == pytest.approx(
        (10.8e-4 - half_width, 10.8e-4 + half_width), rel=1e-5
    )


def test_paired_agrees_with_scipy_ttest_rel():
    expected = stats.ttest_rel(CANDIDATE, BASELINE)
    result = paired(CANDIDATE, BASELINE)
    assert result.p_value == pytest.approx(expected.pvalue, rel=1e-12)
    assert result.p_value == pytest.approx(stats.t.sf(7.06017, 4) * 2, rel=1e-4)
    assert result.distinguishable
    assert result.verdict() == "distinguishable from noise at 5%"


def test_welch_by_hand_and_against_scipy_ttest_ind():
    # Means 0.982 and 0.979333; variances 2.5e-6 (n = 5) and 2.3333e-6 (n = 3):
    # t = 0.0026667 / sqrt(2.5e-6/5 + 2.3333e-6/3) = 0.0026667 / 0.00113039 = 2.35907.
    candidate = [0.981, 0.982, 0.980, 0.983, 0.984]
    result = welch(candidate, OTHER_SEEDS)
    expected = stats.ttest_ind(candidate, OTHER_SEEDS, equal_var=False)
    interval = expected.confidence_interval(0.95)
    assert result.test == "welch"
    assert result.detail["t"] == pytest.approx(2.35907, rel=1e-5)
    assert result.p_value == pytest.approx(expected.pvalue, rel=1e-12)
    assert (result.low, result.high) == pytest.approx((interval.low, interval.high))
    assert result.difference == pytest.approx(0.982 - 0.979333333)
    assert result.detail["n"] == [5, 3]


def test_a_difference_inside_the_noise_is_not_distinguishable():
    result = welch(CANDIDATE, [0.9840, 0.9790, 0.9850, 0.9780, 0.9830])
    assert result.p_value > 0.05
    assert result.verdict() == "not distinguishable from noise at 5%"


def test_the_t_tests_need_two_values_a_side_and_pairs_of_equal_length():
    with pytest.raises(ValueError, match="at least two values on each side"):
        welch([0.98], OTHER_SEEDS)
    with pytest.raises(ValueError, match="equal-length"):
        paired(CANDIDATE, BASELINE[:4])


def test_no_spread_is_no_test_rather_than_an_infinite_t():
    # 0.98 - 0.97 and 0.99 - 0.98 differ only in the 17th digit: a t of 1e14 from rounding.
    same_step = paired([0.98, 0.97, 0.99], [0.97, 0.96, 0.98])
    assert (same_step.test, same_step.p_value, same_step.low) == ("none", None, None)
    assert same_step.difference == pytest.approx(0.01)
    assert same_step.verdict().startswith("no test possible: no spread")
    assert welch([0.98, 0.98], [0.97, 0.97]).verdict().startswith("no test possible: no spread")


def test_no_test_keeps_the_difference_and_says_why():
    result = no_test([0.99], [0.98, 0.97], "the candidate has n = 1")
    assert result.difference == pytest.approx(0.015)
    assert not result.distinguishable
    assert result.verdict() == "no test possible: the candidate has n = 1"


def predictions(n: int, b: int, c: int, both_wrong: int = 4) -> tuple[np.ndarray, ...]:
    """(candidate, baseline, labels) with b images right only for the candidate, c right only
    for the baseline, `both_wrong` wrong for both, and the rest right for both."""
    labels = np.arange(n) % 10
    wrong = (labels + 3) % 10
    candidate, baseline = labels.copy(), labels.copy()
    candidate[:both_wrong] = baseline[:both_wrong] = wrong[:both_wrong]
    baseline[both_wrong : both_wrong + b] = wrong[both_wrong : both_wrong + b]
    candidate[both_wrong + b : both_wrong + b + c] = wrong[both_wrong + b : both_wrong + b + c]
    return candidate, baseline, labels


def test_mcnemar_exact_p_value_from_the_discordant_counts():
    result = mcnemar(*predictions(100, b=9, c=1))
    assert result.detail == {"candidate_only_right": 9, "baseline_only_right": 1}
    # Two-sided exact binomial: 2 · P(X <= 1), X ~ B(10, 1/2) = 2 · 11/1024.
    assert result.p_value == pytest.approx(2 * stats.binom.cdf(1, 10, 0.5))
    assert result.p_value == pytest.approx(0.021484375)
    assert result.difference == pytest.approx(0.08)
    # Wald interval of (b - c)/N: se = sqrt(b + c - (b - c)²/N) / N = sqrt(9.36) / 100.
    half_width = 1.959964 * np.sqrt(9.36) / 100
    assert (result.low, result.high) == pytest.approx((0.08 - half_width, 0.08 + half_width))
    assert result.n == 100


def test_mcnemar_with_balanced_or_no_discordance_sees_no_difference():
    balanced = mcnemar(*predictions(60, b=3, c=3))
    assert (balanced.difference, balanced.p_value) == (0.0, pytest.approx(1.0))
    identical = mcnemar(*predictions(60, b=0, c=0))
    assert (identical.p_value, identical.low, identical.high) == (1.0, 0.0, 0.0)


def test_mcnemar_swapping_the_classifiers_flips_the_sign_not_the_p_value():
    candidate, baseline, labels = predictions(200, b=12, c=4)
    forward, backward = mcnemar(candidate, baseline, labels), mcnemar(baseline, candidate, labels)
    assert backward.difference == pytest.approx(-forward.difference)
    assert backward.p_value == pytest.approx(forward.p_value)


def test_mcnemar_needs_predictions_of_one_test_set():
    candidate, baseline, labels = predictions(50, b=2, c=1)
    with pytest.raises(ValueError, match="same, non-empty test set"):
        mcnemar(candidate[:-1], baseline, labels)
