"""The command line and YAML files -> config dataclasses, with every failure a one-line
UsageError that names the file or key.

One schema, from the type hints of the dataclasses in src/config/train.py and src/config/tune.py:
jsonargparse derives `--config FILE`, dotted overrides (`--model.activation tanh`) and
`--print_config` from them. Tuning trials and checkpoints go through the same path as a dict.
"""

from __future__ import annotations

import dataclasses
import difflib
import functools
import re
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from jsonargparse import ActionConfigFile, ArgumentParser, Namespace

from src.config.train import TrainConfig
from src.config.tune import TuneConfig
from src.errors import ConfigError, UsageError, one_line

DEFAULT_STUDY = Path(__file__).resolve().parents[2] / "configs" / "tune" / "default.yaml"


def add_train_arguments(parser: ArgumentParser, nested_key: str | None = None) -> None:
    """The whole TrainConfig schema, from its type hints."""
    parser.add_class_arguments(TrainConfig, nested_key, fail_untyped=True, sub_configs=True)


def new_parser(prog: str, description: str) -> ArgumentParser:
    # allow_abbrev=False: argparse would take `--model.activatio tanh` for model.activation, so a
    # typo could silently set a key; an unknown key is an error that names the likely one.
    parser = ArgumentParser(
        prog=prog, description=description, exit_on_error=False, allow_abbrev=False
    )
    parser.add_argument("--config", action=ActionConfigFile, help="YAML config file (repeatable)")
    parser.add_argument("--debug", action="store_true", help="show tracebacks on errors")
    return parser


def parse_args(parser: ArgumentParser, words: Sequence[str]) -> Namespace:
    """parser.parse_args with every failure as a one-line UsageError naming the file or key."""
    for path in config_files(words):
        check_config_file(path)
    try:
        return parser.parse_args(list(words))
    except Exception as error:  # jsonargparse reports type errors as ArgumentError/ValueError
        raise UsageError(explain(str(error), parser)) from error


def instantiate_train_config(namespace: Namespace, parser: ArgumentParser) -> TrainConfig:
    """Build the dataclasses; their validation raises ConfigError naming the key."""
    init = parser.instantiate(namespace)
    fields = {f.name: init[f.name] for f in dataclasses.fields(TrainConfig)}
    return TrainConfig(**fields)


@functools.cache
def _dict_parser() -> ArgumentParser:
    """One parser for config dicts: building it costs more than parsing (tuning parses one dict
    per trial and per search-space value); parsing a dict leaves no state in it."""
    parser = new_parser("src.train", "")
    add_train_arguments(parser)
    return parser


def parse_train_config(args: Sequence[str] | dict[str, Any]) -> TrainConfig:
    """A TrainConfig from command-line words or a nested dict (tuning trials use dicts)."""
    if not isinstance(args, dict):
        parser = new_parser("src.train", "")
        add_train_arguments(parser)
        return instantiate_train_config(parse_args(parser, args), parser)
    parser = _dict_parser()
    try:
        namespace = parser.parse_object(args)
    except Exception as error:
        raise UsageError(explain(str(error), parser)) from error
    return instantiate_train_config(namespace, parser)


# python -m src.tune's dashed spellings; the underscore forms (--n_trials) are the schema's own.
ALIASES = {
    "--n-trials": ("n_trials", int),
    "--n-jobs": ("n_jobs", int),
    "--study-name": ("study_name", str),
    "--retrain-best": ("retrain_best", bool),
    "--register-model": ("register_model", str),
}


def parse_tune_config(argv: Sequence[str], description: str = "") -> TuneConfig:
    """A TuneConfig from command-line words; configs/tune/default.yaml unless --config is given.
    `--enqueue FILE` (repeatable) adds a training YAML to the config's `enqueue` list."""
    argv, enqueue_files = split_enqueue_words(argv)
    parser = new_parser("python -m src.tune", description)
    parser.add_class_arguments(TuneConfig, fail_untyped=True, sub_configs=True)
    defaults = {f.name: f.default for f in dataclasses.fields(TuneConfig)}
    for flag, (dest, kind) in ALIASES.items():
        extra = {"nargs": "?", "const": True} if kind is bool else {}
        parser.add_argument(
            flag, dest=dest, type=kind, default=defaults[dest], help=f"same as --{dest}", **extra
        )
    if not any(word == "--config" or word.startswith("--config=") for word in argv):
        argv = ["--config", str(DEFAULT_STUDY), *argv]
    namespace = parse_args(parser, argv)  # names the bad file or key in one line
    try:
        init = parser.instantiate(namespace)
    except ConfigError:
        raise
    except Exception as error:
        raise UsageError(one_line(str(error))) from error
    fields = {f.name: init[f.name] for f in dataclasses.fields(TuneConfig)}
    fields["enqueue"] = [*fields["enqueue"], *enqueue_files]
    return TuneConfig(**fields)


def split_enqueue_words(words: Sequence[str]) -> tuple[list[str], list[str]]:
    """`--enqueue FILE` (repeatable) out of the command line: (the other words, the files). A
    value that is YAML/JSON (`--enqueue '[{...}]'`) stays for the schema's own `--enqueue`."""
    rest, files = [], []
    words = list(words)
    i = 0
    while i < len(words):
        word = words[i]
        value = None
        if word == "--enqueue" and i + 1 < len(words):
            value, i = words[i + 1], i + 2
        elif word.startswith("--enqueue="):
            value, i = word.removeprefix("--enqueue="), i + 1
        else:
            rest.append(word)
            i += 1
            continue
        if value.lstrip().startswith(("[", "{")):
            rest.extend(["--enqueue", value])
        else:
            files.append(value)
    return rest, files


def config_files(words: Sequence[str]) -> list[str]:
    """The values of every `--config FILE` / `--config=FILE` among the words."""
    found = []
    for i, word in enumerate(words):
        if word == "--config" and i + 1 < len(words):
            found.append(words[i + 1])
        elif word.startswith("--config="):
            found.append(word.removeprefix("--config="))
    return found


def check_config_file(value: str) -> None:
    """A --config file that exists, is readable, and holds a YAML mapping; else UsageError.

    jsonargparse's own messages for these cases do not name the file. A value that is not a path
    but inline YAML (`--config '{seed: 1}'`) is left to jsonargparse.
    """
    import yaml

    path = Path(value)
    if value.lstrip().startswith("{") or "\n" in value:
        return
    if not path.exists():
        raise UsageError(f"--config {value}: no such file; expected a YAML config file")
    try:
        text = path.read_text()
    except (OSError, UnicodeDecodeError) as error:
        reason = error.strerror if isinstance(error, OSError) else "not UTF-8 text"
        raise UsageError(f"--config {value}: cannot read it ({reason})") from error
    try:
        content = yaml.safe_load(text)
    except yaml.YAMLError as error:
        mark = getattr(error, "problem_mark", None)
        where = f" at line {mark.line + 1}, column {mark.column + 1}" if mark else ""
        problem = getattr(error, "problem", None) or str(error)
        context, start = getattr(error, "context", None), getattr(error, "context_mark", None)
        if context and start:
            problem += f" ({context} started at line {start.line + 1})"
        raise UsageError(f"--config {value}: invalid YAML{where}: {one_line(problem)}") from error
    if content is not None and not isinstance(content, dict):
        raise UsageError(
            f"--config {value}: expected a mapping of keys (like `model: {{dropout: 0.1}}`),"
            f" got a {type(content).__name__}"
        )


def known_keys(parser: ArgumentParser) -> list[str]:
    return [key for key in parser.get_defaults().keys() if key not in ("config", "debug")]  # noqa: SIM118


def explain(message: str, parser: ArgumentParser | None = None) -> str:
    """jsonargparse's message in one line; an unknown key gets the allowed keys and a guess."""
    text = one_line(message)
    unknown = re.search(r"Group '([^']+)' does not accept option '([^']+)'", text)
    unknown = unknown or re.search(r"Option '([^']+)' is not accepted", text)
    unknown = unknown or re.search(r"unrecognized arguments: --([^\s=]+)", text)
    if unknown is None or parser is None:
        return text
    key = ".".join(unknown.groups())
    group = key.rpartition(".")[0]
    keys = known_keys(parser)
    siblings = [k for k in keys if k.rpartition(".")[0] == group]
    if not group or not siblings:  # top level or an unknown section: name the sections
        key = group or key
        keys = siblings = list(dict.fromkeys(k.partition(".")[0] for k in keys))
    guess = difflib.get_close_matches(key, keys, n=1)
    hint = f" (did you mean {guess[0]}?)" if guess else ""
    return f"unknown key {key}{hint}; allowed: {', '.join(siblings)}"


def add_model_arguments(parser) -> None:
    """Where the model comes from: shared by src.evaluate and src.predict."""
    parser.add_argument("--run-id", help="MLflow run id: loads runs:/<id>/model")
    parser.add_argument("--model-uri", help="models:/NAME@champion, models:/NAME/3, runs:/ID/model")
    parser.add_argument("--checkpoint", help="a .ckpt written by src.train")
    parser.add_argument("--tracking-uri", help="default: $MLFLOW_TRACKING_URI or mlruns/")
