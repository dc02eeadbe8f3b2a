"""Work split over spawned processes that share the machine, stopped together on Ctrl-C/SIGTERM.

Spawn, not fork: each process starts clean (no copied torch threads or open sqlite handles) and
sets up its own signal handlers, as a `python -m` entry point does.
"""

from __future__ import annotations

import pickle
import signal
import sys
from collections.abc import Callable, Sequence

from src.errors import one_line
from src.runtime.process import configure_process, importing_libraries
from src.runtime.signals import RunInterrupted, install_signal_handlers


def _entry(work: bytes, label: str) -> None:
    """A spawned process: what run_main does for a command, then the pickled `(target, args)`;
    an error ends it with one line on stderr and a non-zero exit code (128 + signal when
    interrupted).

    The work comes pickled by run_in_processes and is unpickled here, not by multiprocessing
    before this function runs: unpickling imports the target's module, and with it torch,
    Lightning and MLflow, which `importing_libraries` imports as an entry point's (1.2-1.4 s less
    of a tuning worker's start on 2 vCPUs, benchmarks/README.md).
    """
    configure_process()
    install_signal_handlers()  # Ctrl-C/SIGTERM end its MLflow run as KILLED, then the process
    try:
        with importing_libraries():
            target, args = pickle.loads(work)
        target(*args)
    except BaseException as error:
        print(f"error: {label}: {one_line(str(error))}", file=sys.stderr)
        sys.exit(getattr(error, "exit_code", 1))


def run_in_processes(target: Callable, jobs: Sequence[tuple], name: str) -> dict[str, int]:
    """`target(*args)` for each args tuple of `jobs`, each in a spawned process, all at once;
    returns {process name: exit code} of those that failed.

    Ctrl-C or SIGTERM in this process: the others get SIGTERM (Lightning stops them at the next
    batch, their runs end KILLED), are waited for, and RunInterrupted is raised here.
    """
    import multiprocessing

    context = multiprocessing.get_context("spawn")
    processes = [
        context.Process(
            target=_entry,
            args=(pickle.dumps((target, args)), f"{name} {index}"),
            name=f"{name}-{index}",
        )
        for index, args in enumerate(jobs)
    ]
    for process in processes:
        process.start()
    try:
        for process in processes:
            process.join()
    except BaseException as stop:
        for process in processes:
            if process.is_alive():
                process.terminate()
        for process in processes:
            process.join()
        if isinstance(stop, KeyboardInterrupt):
            raise RunInterrupted(signal.SIGINT) from None
        raise
    return {p.name: p.exitcode for p in processes if p.exitcode != 0}
