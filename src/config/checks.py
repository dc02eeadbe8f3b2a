"""The one way a config section says no: ConfigError naming the key, the value and what is
allowed."""

from __future__ import annotations

import math

from src.errors import ConfigError


def check(condition: bool, key: str, allowed: str, value: object) -> None:
    if not condition:
        raise ConfigError(f"{key}={value!r} is not allowed: expected {allowed}")


def finite(value: float) -> bool:
    return isinstance(value, int | float) and math.isfinite(value)
