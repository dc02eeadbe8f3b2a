"""The configuration reference docs/config.md, generated from the training schema
(src/config/train.py and src/config/model.py: types, defaults, and the docstring under each
field). `python -m src.config_docs` writes it; `--check` says whether it is up to date."""

from __future__ import annotations

import ast
import dataclasses
import inspect
import json
import types
import typing
from pathlib import Path

from src.config.train import TrainConfig

DOCS_PATH = Path(__file__).resolve().parents[2] / "docs" / "config.md"
HEADER = """\
<!-- Generated from src/config/ by `python -m src.config_docs > docs/config.md`. Do not edit:
     change the docstrings in src/config/ and regenerate (tests/config/test_docs.py checks). -->
# Configuration reference

Every key below can be set three ways, later ones winning:

1. the defaults shown here;
2. YAML files, `python -m src.train --config configs/experiments/keras_tutorial.yaml` (repeatable;
   a file holds only what differs from the defaults, nested as in the section names);
3. the command line, `--section.key value`, e.g. `--model.hidden_dims [256,128]
   --optimizer.lr 3e-4`.

`python -m src.train --print_config` prints the resolved configuration as YAML, ready to save and
edit. Values are validated before anything starts: a bad one stops with a single line that names
the key, e.g. `error: model.dropout=1.5 is not allowed: expected a number in [0, 1)`.
"""


def field_docs(cls: type) -> dict[str, str]:
    """The string literal written under each field of a dataclass (attribute docstrings)."""
    tree = ast.parse(inspect.getsource(cls))
    body = tree.body[0].body
    docs = {}
    for node, following in zip(body, body[1:], strict=False):
        is_doc = isinstance(following, ast.Expr) and isinstance(following.value, ast.Constant)
        if isinstance(node, ast.AnnAssign) and is_doc and isinstance(following.value.value, str):
            docs[node.target.id] = inspect.cleandoc(following.value.value)
    return docs


def type_name(hint: object) -> str:
    """Type hints as a user reads them: Literal choices quoted, None as null."""
    origin = typing.get_origin(hint)
    args = typing.get_args(hint)
    if origin is typing.Literal:
        return " | ".join(json.dumps(a) for a in args)
    if origin in (typing.Union, types.UnionType):
        return " | ".join(type_name(a) for a in args)
    if hint is type(None):
        return "null"
    if origin is not None:
        return f"{origin.__name__}[{', '.join(type_name(a) for a in args)}]"
    return getattr(hint, "__name__", str(hint))


def default_value(field: dataclasses.Field) -> object:
    if field.default is not dataclasses.MISSING:
        return field.default
    return field.default_factory()


def yaml_value(value: object) -> str:
    return json.dumps(list(value) if isinstance(value, tuple) else value)


def describe(doc: str) -> str:
    """A docstring as one table cell: <name> would otherwise vanish as an unknown HTML tag."""
    return doc.replace("\n", " ").replace("<", "&lt;").replace(">", "&gt;")


def table(cls: type, prefix: str) -> list[str]:
    hints = typing.get_type_hints(cls)
    docs = field_docs(cls)
    lines = ["| key | type | default | what it does |", "| --- | --- | --- | --- |"]
    for field in dataclasses.fields(cls):
        if dataclasses.is_dataclass(hints[field.name]):
            continue  # a section of its own
        cells = [
            f"`{prefix}{field.name}`",
            f"`{type_name(hints[field.name])}`",
            f"`{yaml_value(default_value(field))}`",
            describe(docs.get(field.name, "")),
        ]
        lines.append("| " + " | ".join(cell.replace("|", "\\|") for cell in cells) + " |")
    return lines


def render() -> str:
    """The whole reference page as Markdown."""
    hints = typing.get_type_hints(TrainConfig)
    top_docs = field_docs(TrainConfig)
    parts = [HEADER, "## Top level", "", *table(TrainConfig, ""), ""]
    for field in dataclasses.fields(TrainConfig):
        section = hints[field.name]
        if not dataclasses.is_dataclass(section):
            continue
        parts += [f"## `{field.name}`", ""]
        about = top_docs.get(field.name) or inspect.getdoc(section)
        if about and not about.startswith(section.__name__ + "("):  # skip dataclass's repr doc
            parts += [about, ""]
        parts += [*table(section, f"{field.name}."), ""]
    return "\n".join(parts)
