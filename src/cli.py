"""Command-line plumbing shared by the entry points: the config parser and clean errors.

Bad input ends with one line on stderr that names the key or file and what is allowed, exit code
2 (usage) or 1, and no traceback unless `--debug` is given. SIGINT and SIGTERM end with
RunInterrupted (src/interrupts.py): the MLflow run is marked KILLED, exit code 130 or 143.
"""

from __future__ import annotations

import dataclasses
import difflib
import os
import re
import signal
import sys
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

from jsonargparse import ActionConfigFile, ArgumentParser, Namespace

from src.config import ConfigError, TrainConfig
from src.interrupts import RunInterrupted, install_signal_handlers

USAGE_ERROR = 2
# Errors whose message is already written for users; matched by name so that this module does not
# import torch or mlflow just to catch them.
EXPECTED_ERRORS = {
    "DataSourceError",
    "DataNotFoundError",
    "TrackingError",
    "CheckpointDirError",
    "FileNotFoundError",
    "PermissionError",
    "MlflowException",
}


class UsageError(Exception):
    """Bad input from the user: printed as one line, exit code 2."""


# ---------------------------------------------------------------- parsing


def add_train_arguments(parser: ArgumentParser, nested_key: str | None = None) -> None:
    """The whole TrainConfig schema, from its type hints."""
    parser.add_class_arguments(TrainConfig, nested_key, fail_untyped=True, sub_configs=True)


def new_parser(prog: str, description: str) -> ArgumentParser:
    parser = ArgumentParser(prog=prog, description=description, exit_on_error=False)
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


def parse_train_config(args: Sequence[str] | dict[str, Any]) -> TrainConfig:
    """A TrainConfig from command-line words or a nested dict (tuning trials use dicts)."""
    parser = new_parser("src.train", "")
    add_train_arguments(parser)
    if not isinstance(args, dict):
        return instantiate_train_config(parse_args(parser, args), parser)
    try:
        namespace = parser.parse_object(args)
    except Exception as error:
        raise UsageError(explain(str(error), parser)) from error
    return instantiate_train_config(namespace, parser)


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


def one_line(message: str) -> str:
    """jsonargparse's multi-line messages folded into one line, without the type repr noise."""
    text = " ".join(part.strip() for part in message.splitlines() if part.strip())
    text = text.replace('Parser key "', '"')
    text = re.sub(r"Expected a typing\.Literal\[([^\]]*)\]", r"expected one of [\1]", text)
    text = text.replace("Expected a one of[", "expected one of [")
    union = re.search(
        r"Does not validate against any of the Union subtypes Subtypes: \[(.*?)\]", text
    )
    if union:
        subtypes = re.findall(r"<class '(\w+)'>|(\w+\[[^\]]*\])", union.group(1))
        names = [a or b for a, b in subtypes]
        given = re.search(r"Given value: (.*)$", text)
        expected = " or ".join("null" if n == "NoneType" else n for n in names)
        text = text[: union.start()] + f"expected {expected}"
        text += f". Got value: {given.group(1)}" if given else ""
    text = re.sub(r"Expected a <class '(\w+)'>", r"expected \1", text)
    return re.sub(r"\s+", " ", text).strip()


# ---------------------------------------------------------------- entry points


def run_main(main: Callable[[list[str]], int], argv: Sequence[str] | None = None) -> None:
    """Run an entry point; turn known errors into one line on stderr and an exit code."""
    words = list(sys.argv[1:] if argv is None else argv)
    debug = "--debug" in words or os.environ.get("SRC_DEBUG") == "1"
    install_signal_handlers()
    try:
        code = main(words)
    except (UsageError, ConfigError) as error:
        _fail(error, USAGE_ERROR, debug)
    except RunInterrupted as error:
        _fail(error, error.exit_code, debug)
    except KeyboardInterrupt as error:  # Ctrl-C outside a Lightning loop
        _fail(RunInterrupted(signal.SIGINT), 128 + signal.SIGINT, debug, cause=error)
    except Exception as error:
        known = type(error).__name__ in EXPECTED_ERRORS
        _fail(error, 1, debug, prefix="" if known else f"{type(error).__name__}: ")
    else:
        sys.exit(code)


def _fail(
    error: BaseException,
    code: int,
    debug: bool,
    prefix: str = "",
    cause: BaseException | None = None,
) -> None:
    if debug:
        import traceback

        traceback.print_exception(cause or error)
    print(f"error: {prefix}{one_line(str(error))}", file=sys.stderr)
    sys.exit(code)
