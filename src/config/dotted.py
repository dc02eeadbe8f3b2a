"""Nested config dicts and their dotted keys: {"model": {"dropout": 0.2}} <-> "model.dropout"."""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import Any


def flatten(config: Mapping[str, Any], prefix: str = "") -> dict[str, Any]:
    """{"model": {"dropout": 0.2}} -> {"model.dropout": 0.2}."""
    flat: dict[str, Any] = {}
    for key, value in config.items():
        name = f"{prefix}{key}"
        if isinstance(value, Mapping):
            flat.update(flatten(value, f"{name}."))
        else:
            flat[name] = value
    return flat


def with_values(config: Mapping[str, Any], values: Mapping[str, Any]) -> dict[str, Any]:
    """A copy of a nested config dict with dotted keys set: {"model.dropout": 0.1}."""
    result = json.loads(json.dumps(config))  # deep copy; configs are plain JSON-able data
    for key, value in values.items():
        *sections, leaf = key.split(".")
        node = result
        for section in sections:
            node = node.setdefault(section, {})
        node[leaf] = value
    return result
