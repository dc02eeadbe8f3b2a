"""src/runtime/main.py and src/errors.py: how an entry point ends, with a toy main run
in-process: one line on stderr, an exit code, a traceback only with --debug."""

from __future__ import annotations

import os
import signal
import sys
import time
from collections.abc import Callable

import pytest

from src.errors import EXPECTED_ERRORS, ConfigError, UsageError, one_line
from src.runtime.main import run_main
from src.runtime.signals import RunInterrupted, restore_signal_handlers


@pytest.fixture(autouse=True)
def handlers_put_back(monkeypatch: pytest.MonkeyPatch):
    """run_main installs its SIGINT/SIGTERM handlers; later tests get the ones from before."""
    monkeypatch.delenv("SRC_DEBUG", raising=False)
    previous = (signal.getsignal(signal.SIGTERM), signal.getsignal(signal.SIGINT))
    yield
    restore_signal_handlers(previous)


def raising(error: BaseException) -> Callable[[list[str]], int]:
    def main(words: list[str]) -> int:
        raise error

    return main


def exit_of(main: Callable[[list[str]], int], argv: list[str], capsys) -> tuple[int, str]:
    """run_main's exit code and what it wrote on stderr."""
    with pytest.raises(SystemExit) as stop:
        run_main(main, argv)
    return stop.value.code, capsys.readouterr().err


@pytest.mark.parametrize("code", [0, 3])
def test_the_exit_code_is_what_main_returned(code, capsys) -> None:
    assert exit_of(lambda words: code, [], capsys) == (code, "")


def test_main_gets_the_command_line_words() -> None:
    seen = []
    with pytest.raises(SystemExit):
        run_main(lambda words: seen.append(words) or 0, ["--seed", "1"])
    assert seen == [["--seed", "1"]]


def test_without_argv_main_gets_sys_argv_after_the_program_name(monkeypatch) -> None:
    monkeypatch.setattr(sys, "argv", ["python -m src.train", "--seed", "7"])
    seen = []
    with pytest.raises(SystemExit):
        run_main(lambda words: seen.append(words) or 0)
    assert seen == [["--seed", "7"]]


@pytest.mark.parametrize("error_type", [UsageError, ConfigError])
def test_usage_and_config_errors_exit_2_with_their_message_alone(error_type, capsys) -> None:
    code, err = exit_of(raising(error_type("data.batch_size=0 is not allowed")), [], capsys)
    assert (code, err) == (2, "error: data.batch_size=0 is not allowed\n")


def test_an_unexpected_error_exits_1_with_its_class_name(capsys) -> None:
    code, err = exit_of(raising(RuntimeError("boom")), [], capsys)
    assert (code, err) == (1, "error: RuntimeError: boom\n")


@pytest.mark.parametrize("name", sorted(EXPECTED_ERRORS))
def test_an_expected_error_exits_1_without_its_class_name(name, capsys) -> None:
    error = type(name, (Exception,), {})("the store at x cannot be opened")
    code, err = exit_of(raising(error), [], capsys)
    assert (code, err) == (1, "error: the store at x cannot be opened\n")


def test_a_multi_line_message_is_printed_as_one_line(capsys) -> None:
    _, err = exit_of(raising(UsageError('Parser key "seed":\n  bad\n')), [], capsys)
    assert err == 'error: "seed": bad\n'


def test_ctrl_c_outside_a_training_loop_exits_130(capsys) -> None:
    code, err = exit_of(raising(KeyboardInterrupt()), [], capsys)
    assert (code, err) == (130, "error: interrupted by SIGINT\n")


def test_a_run_interrupted_by_sigterm_exits_143_naming_its_killed_run(capsys) -> None:
    stop = RunInterrupted(signal.SIGTERM)
    stop.run_id = "abc123"
    code, err = exit_of(raising(stop), [], capsys)
    assert (code, err) == (143, "error: interrupted by SIGTERM; MLflow run abc123 marked KILLED\n")


def test_sigterm_during_main_ends_it_through_the_installed_handler(capsys) -> None:
    def main(words: list[str]) -> int:
        os.kill(os.getpid(), signal.SIGTERM)
        time.sleep(5)  # the handler raises in here
        return 0

    assert exit_of(main, [], capsys) == (143, "error: interrupted by SIGTERM\n")


def test_no_traceback_without_debug(capsys) -> None:
    _, err = exit_of(raising(RuntimeError("boom")), [], capsys)
    assert "Traceback" not in err


def test_debug_flag_shows_the_traceback_before_the_one_line(capsys) -> None:
    _, err = exit_of(raising(RuntimeError("boom")), ["--debug"], capsys)
    assert "Traceback (most recent call last)" in err and "in main" in err
    assert err.endswith("error: RuntimeError: boom\n")


def test_src_debug_1_shows_the_traceback(monkeypatch, capsys) -> None:
    monkeypatch.setenv("SRC_DEBUG", "1")
    _, err = exit_of(raising(UsageError("bad")), [], capsys)
    assert "Traceback (most recent call last)" in err


def test_debug_on_ctrl_c_shows_where_the_keyboard_interrupt_was_raised(capsys) -> None:
    _, err = exit_of(raising(KeyboardInterrupt()), ["--debug"], capsys)
    assert "KeyboardInterrupt" in err and "in main" in err


UNION_MESSAGE = """Parser key "trainer.min_epochs":
  Does not validate against any of the Union subtypes
  Subtypes: [<class 'int'>, <class 'NoneType'>]
  Errors:
    - Expected a <class 'int'>
    - Expected a <class 'NoneType'>
  Given value type: <class 'str'>
  Given value: x"""


@pytest.mark.parametrize(
    ("message", "line"),
    [
        ("first line\n    second line\n\n", "first line second line"),
        ("too   many\t spaces ", "too many spaces"),
        (
            "Parser key \"model.dropout\":\n  Expected a <class 'float'>. Got value: abc",
            '"model.dropout": expected float. Got value: abc',
        ),
        (
            "Parser key \"model.loss\":\n  Expected a typing.Literal['mse', 'nll']. Got value: l1",
            "\"model.loss\": expected one of ['mse', 'nll']. Got value: l1",
        ),
        ("Expected a one of[relu, tanh]", "expected one of [relu, tanh]"),
        (UNION_MESSAGE, '"trainer.min_epochs": expected int or null. Got value: x'),
    ],
    ids=["lines", "spaces", "type", "literal", "one-of", "union"],
)
def test_one_line_folds_jsonargparse_messages(message, line) -> None:
    assert one_line(message) == line
