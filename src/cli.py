"""Command-line plumbing shared by the entry points: the config parser, clean errors, signals.

Bad input ends with one line on stderr that names the key or file and what is allowed, exit code
2 (usage) or 1, and no traceback unless `--debug` is given. SIGINT and SIGTERM end with
RunInterrupted: the MLflow run is marked KILLED and the process exits 130 or 143.
"""

from __future__ import annotations

import dataclasses
import difflib
import os
import re
import signal
import sys
import threading
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from jsonargparse import ActionConfigFile, ArgumentParser, Namespace

from src.config import ConfigError, TrainConfig

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


class RunInterrupted(BaseException):
    """Stopped by SIGINT/SIGTERM: the run is marked KILLED and the process exits 128 + signal.

    A BaseException, like KeyboardInterrupt, so that `except Exception` in library code (Optuna's
    trial loop, MLflow's retries) does not swallow it.
    """

    def __init__(self, signum: int) -> None:
        super().__init__(f"interrupted by {signal.Signals(signum).name}")
        self.signum = signum
        self.exit_code = 128 + signum
        self.run_id: str | None = None  # set by tracking.tracked_run when a run was open
        self.hint = ""  # how to continue, set by the entry point that knows

    def __str__(self) -> str:
        text = super().__str__()
        if self.run_id:
            text += f"; MLflow run {self.run_id} marked KILLED"
        return f"{text}; {self.hint}" if self.hint else text


# ---------------------------------------------------------------- signals

_received_signal: int | None = None  # recorded during a Lightning stage, not yet raised
# Set by the first signal, kept after it is raised: later SIGTERMs (a tuning parent stopping its
# workers after their own Ctrl-C) must not cut short marking the run KILLED.
_stopping = False


def _on_sigterm(signum: int, frame: object) -> None:
    """Stop with RunInterrupted, unless a Lightning trainer is running.

    Lightning composes the handler it finds into its own, which sets `trainer.received_sigterm`
    and stops the loop at the next batch boundary (never in the middle of a checkpoint write); so
    when the current handler is not this one, only remember the signal. A second SIGTERM while
    stopping is ignored so that marking the run KILLED is not cut short (SIGKILL still works).
    """
    global _received_signal, _stopping
    if _stopping:
        return
    _stopping = True
    if signal.getsignal(signum) is _on_sigterm:
        raise RunInterrupted(signum)
    _received_signal = signum  # Lightning's loop stops; _stage raises it then


def raise_if_interrupted() -> None:
    """After a Lightning stage returned normally: a signal that arrived meanwhile stops here."""
    signum = take_received_signal()  # consumed: reported once
    if signum is not None:
        raise RunInterrupted(signum)


def take_received_signal() -> int | None:
    """The signal that stopped a Lightning stage, if one was recorded; forgets it."""
    global _received_signal
    signum, _received_signal = _received_signal, None
    return signum


@contextmanager
def sigint_stops_between_batches() -> Iterator[None]:
    """Around a Lightning stage: Ctrl-C stops the loop between batches, as SIGTERM does.

    Lightning turns SIGINT into a KeyboardInterrupt wherever Python happens to be; at epoch end
    that can be inside an MLflow write, whose sqlite transaction then keeps the write lock, and
    marking the run KILLED fails with "database is locked". Lightning's SIGTERM handler, installed
    while its loops run, only sets `trainer.received_sigterm`, which the loops check between
    batches; Ctrl-C goes through it too. Outside the loops, and on a second Ctrl-C, it raises at
    once. A SIGINT that is ignored (a background job) stays ignored.
    """
    global _stopping
    if threading.current_thread() is not threading.main_thread() or (
        signal.getsignal(signal.SIGINT) is signal.SIG_IGN
    ):
        yield
        return
    _stopping = _received_signal is not None  # a new stage: an earlier, reported stop is over
    sigterm_outside_loop = signal.getsignal(signal.SIGTERM)

    def on_sigint(signum: int, frame: object) -> None:
        global _received_signal, _stopping
        lightning_handler = signal.getsignal(signal.SIGTERM)
        if (
            _stopping
            or lightning_handler is sigterm_outside_loop
            or not callable(lightning_handler)
        ):
            raise KeyboardInterrupt
        _stopping, _received_signal = True, signum  # first: _on_sigterm, composed in, then returns
        lightning_handler(signum, frame)

    previous = signal.signal(signal.SIGINT, on_sigint)
    try:
        yield
    finally:
        signal.signal(signal.SIGINT, previous)


def install_signal_handlers() -> object:
    """Route SIGTERM through `_on_sigterm`; returns the handler it replaced."""
    global _received_signal, _stopping
    _received_signal, _stopping = None, False
    return signal.signal(signal.SIGTERM, _on_sigterm) if hasattr(signal, "SIGTERM") else None


def restore_signal_handlers(previous: object) -> None:
    """Undo install_signal_handlers, forgetting any signal it recorded (for in-process callers)."""
    global _received_signal, _stopping
    _received_signal, _stopping = None, False
    if previous is not None:
        signal.signal(signal.SIGTERM, previous)


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
