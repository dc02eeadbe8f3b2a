"""t_interval against a hand computation and against scipy.stats.t.interval."""

from __future__ import annotations

import math

import pytest
from scipy import stats

from src.stats.intervals import format_interval, t_interval

# n = 2: mean 0.98; s = sqrt((0.01² + 0.01²) / 1) = 0.0141421; s/√2 = 0.01;
# t_{0.975, 1} = 12.7062047 -> 0.98 ± 0.127062.
TWO = [0.97, 0.99]
# n = 5: mean 0.982; squared deviations (1 + 0 + 4 + 1 + 4)·1e-6 = 1e-5; s² = 1e-5 / 4 = 2.5e-6;
# s = 0.00158114; s/√5 = 0.000707107; t_{0.975, 4} = 2.7764451 -> 0.982 ± 0.001963243.
FIVE = [0.981, 0.982, 0.980, 0.983, 0.984]


@pytest.mark.parametrize(
    ("values", "mean", "std", "half_width"),
    [(TWO, 0.98, 0.0141421356, 0.127062047), (FIVE, 0.982, 0.00158113883, 0.001963243)],
)
def test_interval_is_mean_plus_minus_t_times_the_standard_error(values, mean, std, half_width):
    interval = t_interval(values)
    assert interval.n == len(values)
    assert interval.mean == pytest.approx(mean)
    assert interval.std == pytest.approx(std)
    assert interval.half_width == pytest.approx(half_width, rel=1e-6)
    assert interval.low == pytest.approx(mean - half_width, rel=1e-6)
    assert interval.high == pytest.approx(mean + half_width, rel=1e-6)
    assert (interval.minimum, interval.maximum) == (min(values), max(values))


@pytest.mark.parametrize("values", [TWO, FIVE])
def test_interval_agrees_with_scipy(values):
    n = len(values)
    sem = stats.tstd(values) / math.sqrt(n)
    low, high = stats.t.interval(0.95, n - 1, loc=sum(values) / n, scale=sem)
    interval = t_interval(values)
    assert (interval.low, interval.high) == pytest.approx((low, high), rel=1e-12)


def test_another_confidence_level_gives_its_own_quantile():
    narrow = t_interval(FIVE, confidence=0.5)
    assert narrow.half_width == pytest.approx(stats.t.ppf(0.75, 4) * 0.000707106781, rel=1e-6)
    assert narrow.confidence == 0.5


def test_one_value_has_no_interval_rather_than_one_of_zero_width():
    interval = t_interval([0.9841])
    assert (interval.mean, interval.n) == (0.9841, 1)
    assert (interval.std, interval.low, interval.high, interval.half_width) == (None,) * 4
    assert format_interval(interval, scale=100) == "98.41"


def test_equal_values_have_an_interval_of_zero_width():
    interval = t_interval([0.98, 0.98, 0.98])
    assert (interval.std, interval.low, interval.high) == (0.0, 0.98, 0.98)


@pytest.mark.parametrize("values", [[], [0.98, float("nan")], [float("inf"), 0.5]])
def test_no_values_or_non_finite_ones_are_refused(values):
    with pytest.raises(ValueError, match="t_interval needs"):
        t_interval(values)


def test_format_interval_scales_the_mean_and_the_half_width():
    assert format_interval(t_interval(FIVE), scale=100) == "98.20 ± 0.20"
    assert format_interval(t_interval(TWO), digits=3) == "0.980 ± 0.127"
