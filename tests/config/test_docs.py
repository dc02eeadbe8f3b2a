"""docs/config.md is generated from the config schema and must stay in sync with it."""

from __future__ import annotations

import dataclasses
import typing

from src.config.docs import DOCS_PATH, field_docs, render, type_name
from src.config.model import ModelConfig
from src.config.names import Activation
from src.config.train import TrainConfig


def all_keys(cls: type = TrainConfig, prefix: str = "") -> list[str]:
    hints = typing.get_type_hints(cls)
    keys = []
    for field in dataclasses.fields(cls):
        if dataclasses.is_dataclass(hints[field.name]):
            keys += all_keys(hints[field.name], f"{prefix}{field.name}.")
        else:
            keys.append(f"{prefix}{field.name}")
    return keys


def test_docs_config_md_is_in_sync_with_the_schema() -> None:
    assert DOCS_PATH.read_text() == render(), (
        "docs/config.md is out of date: run `python -m src.config_docs > docs/config.md`"
    )


def test_every_config_key_has_a_row() -> None:
    text = render()
    missing = [key for key in all_keys() if f"| `{key}` |" not in text]
    assert not missing


def test_literal_choices_are_listed_as_quoted_values() -> None:
    assert type_name(Activation).startswith('"relu" | "leaky_relu"')
    assert type_name(int | None) == "int | null"


def test_field_docstrings_are_read_from_the_source() -> None:
    docs = field_docs(ModelConfig)
    assert docs["hidden_dims"].startswith("Widths of the hidden layers")
