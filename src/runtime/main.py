"""run_main: how every entry point starts and ends.

Bad input ends with one line on stderr that names the key or file and what is allowed, exit code
2 (usage) or 1, and no traceback unless `--debug` is given. SIGINT and SIGTERM end with
RunInterrupted (src/runtime/signals.py): the MLflow run is marked KILLED, exit code 130 or 143.
"""

from __future__ import annotations

import os
import signal
import sys
from collections.abc import Callable, Sequence

from src.errors import EXPECTED_ERRORS, USAGE_ERROR, ConfigError, UsageError, one_line
from src.runtime.process import configure_process
from src.runtime.signals import RunInterrupted, install_signal_handlers


def run_main(main: Callable[[list[str]], int], argv: Sequence[str] | None = None) -> None:
    """Run an entry point; turn known errors into one line on stderr and an exit code."""
    words = list(sys.argv[1:] if argv is None else argv)
    debug = "--debug" in words or os.environ.get("SRC_DEBUG") == "1"
    configure_process()
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
