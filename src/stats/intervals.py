"""Mean with a Student t confidence interval over the members of a group (seeds or folds)."""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass

CONFIDENCE = 0.95


@dataclass(frozen=True)
class Interval:
    """The mean of n values with its two-sided t interval; low/high are None when n < 2, where
    one value says nothing about its spread (an interval of zero width would be a lie)."""

    mean: float
    std: float | None  # sample standard deviation (ddof=1); None when n < 2
    n: int
    low: float | None
    high: float | None
    minimum: float
    maximum: float
    confidence: float = CONFIDENCE

    @property
    def half_width(self) -> float | None:
        return None if self.high is None else (self.high - self.low) / 2


def t_interval(values: Sequence[float], confidence: float = CONFIDENCE) -> Interval:
    """Student t interval for the mean of `values` (independent replicas, e.g. seeds)."""
    from scipy import stats

    data = [float(v) for v in values]
    if not data:
        raise ValueError("t_interval needs at least one value")
    if not all(math.isfinite(v) for v in data):  # one NaN would make every bound NaN, silently
        raise ValueError(f"t_interval needs finite values, got {data}")
    n = len(data)
    mean = math.fsum(data) / n
    if n < 2:
        return Interval(mean, None, n, None, None, data[0], data[0], confidence)
    if min(data) == max(data):  # no spread: scipy would warn and return nan bounds
        return Interval(mean, 0.0, n, mean, mean, data[0], data[0], confidence)
    std = float(stats.tstd(data))
    sem = std / math.sqrt(n)
    low, high = (float(b) for b in stats.t.interval(confidence, n - 1, loc=mean, scale=sem))
    return Interval(mean, std, n, low, high, min(data), max(data), confidence)


def format_interval(interval: Interval, scale: float = 1.0, digits: int = 2) -> str:
    """'98.41 ± 0.07' (or just '98.41' for one value), values multiplied by `scale` first."""
    text = f"{interval.mean * scale:.{digits}f}"
    if interval.half_width is not None:
        text += f" ± {interval.half_width * scale:.{digits}f}"
    return text
