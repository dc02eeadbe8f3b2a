"""Command-line plumbing shared by the entry points: the config parser and clean errors.

Bad input ends with one line on stderr that names the key or file, exit code 2 (usage) or 1, and
no traceback unless `--debug` is given.
"""

from __future__ import annotations

import dataclasses
import os
import re
import sys
from collections.abc import Callable, Sequence
from typing import Any

from jsonargparse import ActionConfigFile, ArgumentParser, Namespace

from src.config import ConfigError, TrainConfig

USAGE_ERROR = 2
# Errors whose message is already written for users; matched by name so that this module does not
# import torch (the data module) just to catch them.
EXPECTED_ERRORS = {"DataSourceError", "FileNotFoundError", "PermissionError", "MlflowException"}


class UsageError(Exception):
    """Bad input from the user: printed as one line, exit code 2."""


def add_train_arguments(parser: ArgumentParser, nested_key: str | None = None) -> None:
    """The whole TrainConfig schema, from its type hints."""
    parser.add_class_arguments(TrainConfig, nested_key, fail_untyped=True, sub_configs=True)


def new_parser(prog: str, description: str) -> ArgumentParser:
    parser = ArgumentParser(prog=prog, description=description, exit_on_error=False)
    parser.add_argument("--config", action=ActionConfigFile, help="YAML config file (repeatable)")
    parser.add_argument("--debug", action="store_true", help="show tracebacks on errors")
    return parser


def instantiate_train_config(namespace: Namespace, parser: ArgumentParser) -> TrainConfig:
    """Build the dataclasses; their validation raises ConfigError naming the key."""
    init = parser.instantiate(namespace)
    fields = {f.name: init[f.name] for f in dataclasses.fields(TrainConfig)}
    return TrainConfig(**fields)


def parse_train_config(args: Sequence[str] | dict[str, Any]) -> TrainConfig:
    """A TrainConfig from command-line words or a nested dict (tuning trials use dicts)."""
    parser = new_parser("src.train", "")
    add_train_arguments(parser)
    try:
        if isinstance(args, dict):
            namespace = parser.parse_object(args)
        else:
            namespace = parser.parse_args(list(args))
        return instantiate_train_config(namespace, parser)
    except ConfigError:
        raise
    except Exception as error:  # jsonargparse reports type errors as ArgumentError/ValueError
        raise UsageError(one_line(str(error))) from error


def one_line(message: str) -> str:
    """jsonargparse's multi-line messages folded into one line, without the type repr noise."""
    text = " ".join(part.strip() for part in message.splitlines() if part.strip())
    text = text.replace("typing.Literal", "one of").replace('Parser key "', '"')
    return re.sub(r"\s+", " ", text)


def run_main(main: Callable[[list[str]], int], argv: Sequence[str] | None = None) -> None:
    """Run an entry point; turn known errors into one line on stderr and an exit code."""
    words = list(sys.argv[1:] if argv is None else argv)
    debug = "--debug" in words or os.environ.get("SRC_DEBUG") == "1"
    try:
        code = main(words)
    except (UsageError, ConfigError) as error:
        _fail(error, USAGE_ERROR, debug)
    except Exception as error:
        known = type(error).__name__ in EXPECTED_ERRORS
        _fail(error, 1, debug, prefix="" if known else f"{type(error).__name__}: ")
    except BaseException as error:
        exit_code = getattr(error, "exit_code", None)  # RunInterrupted: 130 for SIGINT, 143 SIGTERM
        if exit_code is None:
            raise
        print(f"error: {error}; last checkpoint saved, MLflow run marked KILLED", file=sys.stderr)
        sys.exit(exit_code)
    else:
        sys.exit(code)


def _fail(error: BaseException, code: int, debug: bool, prefix: str = "") -> None:
    if debug:
        import traceback

        traceback.print_exception(error)
    print(f"error: {prefix}{one_line(str(error))}", file=sys.stderr)
    sys.exit(code)
