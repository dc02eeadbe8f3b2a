"""What the progress bar costs an epoch, measured inside one process that runs in a terminal
(`benchmarks/bench_command.py` starts it under `script`, a pseudo-terminal).

Fits of the default config alternate with the bar (`trainer.enable_progress_bar=true`) and
without (`false`, quiet), the order swapped every pair; each epoch is timed start to start
(training, validation, checkpoints; no MLflow run). For the fits with the bar it also counts
what the bar itself spends: the training thread's CPU time inside the bar's hooks while epochs
run (as a share of the fit), the CPU time of Rich's refresh thread (its thread CPU clock), and,
once per fit, the seconds its `setup`/`teardown` take (starting Rich's display and stopping it;
the stop waited out the refresh thread's quarter-second sleep until `WakeOnStop`). Prints one
JSON line.

  script -qec "python -m benchmarks.bar_cost --pairs 4 --epochs 3" /dev/null
"""

from __future__ import annotations

import argparse
import functools
import gc
import json
import statistics
import sys
import tempfile
import threading
import time
from collections.abc import Callable
from pathlib import Path

import lightning.pytorch as L

from src.config.parsing import parse_train_config
from src.data.datamodule import MNISTDataModule
from src.runtime.process import configure_process
from src.runtime.threads import configure_threads
from src.training import build
from src.training.progress import LiveMetricsProgressBar


class EpochStarts(L.Callback):
    """Seconds of each epoch after the first, start to start (the last ends with the fit)."""

    def __init__(self) -> None:
        self.starts: list[float] = []

    def on_train_epoch_start(self, trainer, pl_module) -> None:
        self.starts.append(time.perf_counter())

    def on_fit_end(self, trainer, pl_module) -> None:
        self.starts.append(time.perf_counter())

    def epoch_s(self) -> list[float]:
        return [b - a for a, b in zip(self.starts, self.starts[1:], strict=False)][1:]


ONCE_A_FIT = ("setup", "teardown")


class HookClock:
    """Seconds the calling thread spends inside LiveMetricsProgressBar's hooks (its own and the
    RichProgressBar ones it inherits), by hook, while installed.

    The hooks that run while epochs run are timed by the thread's CPU clock, not the wall clock:
    a hook that waits for the GIL while a checkpoint or metrics writer thread holds it is not
    doing the bar's work. (What did inflate the hooks, to 0.5-2.2% of the fit against 0.4-0.5%,
    once the writes moved to threads, was CPU: full collections landing in a hook; see main.)
    `setup`/`teardown` keep the wall clock: stopping the display waits, off the CPU, for Rich's
    refresh thread to end, and the training thread waits for that.
    """

    def __init__(self) -> None:
        self.seconds: dict[str, float] = {}
        self._saved: dict[str, object] = {}

    def install(self) -> None:
        for name in dir(LiveMetricsProgressBar):
            hook = getattr(LiveMetricsProgressBar, name)
            if name.startswith(("on_", *ONCE_A_FIT)) and callable(hook):
                self._saved[name] = LiveMetricsProgressBar.__dict__.get(name)
                setattr(LiveMetricsProgressBar, name, self._timed(name, hook))

    def _timed(self, name: str, hook):
        clock = time.perf_counter if name in ONCE_A_FIT else time.thread_time

        @functools.wraps(hook)
        def timed(*args, **kwargs):
            started = clock()
            try:
                return hook(*args, **kwargs)
            finally:
                spent = clock() - started
                self.seconds[name] = self.seconds.get(name, 0.0) + spent

        return timed

    def during_epochs(self) -> float:
        return sum(s for name, s in self.seconds.items() if name not in ONCE_A_FIT)

    def once(self) -> float:
        return sum(s for name, s in self.seconds.items() if name in ONCE_A_FIT)

    def uninstall(self) -> None:
        for name, original in self._saved.items():
            if original is None:
                delattr(LiveMetricsProgressBar, name)
            else:
                setattr(LiveMetricsProgressBar, name, original)


def threads_cpu_s(chosen: Callable[[threading.Thread], bool]) -> float:
    """CPU seconds so far of the live threads `chosen` picks, read from their thread CPU clocks.
    (Also bench_system_metrics' clock; this file stays free of other benchmark modules because
    bench_command runs it against another checkout's code.)"""
    return sum(
        time.clock_gettime(time.pthread_getcpuclockid(t.ident))
        for t in threading.enumerate()
        if t.ident is not None and chosen(t)
    )


class RefreshThreadClock(L.Callback):
    """CPU seconds of the threads other than this one that run during the fit (Rich's refresh
    thread, with the bar), read from their thread CPU clocks when the fit ends."""

    def __init__(self) -> None:
        self.cpu_s = 0.0

    def on_fit_end(self, trainer, pl_module) -> None:
        mine = threading.get_ident()
        # Rich's refresh thread is a plain "Thread-N" (not "ThreadPoolExecutor-*", the writers)
        self.cpu_s = threads_cpu_s(lambda t: t.ident != mine and t.name.startswith("Thread-"))


def fit(datamodule, bar: bool, epochs: int, seed: int) -> dict:
    cfg = parse_train_config([
        f"--seed={seed}", f"--trainer.max_epochs={epochs}", "--trainer.accelerator=cpu",
        f"--trainer.enable_progress_bar={str(bar).lower()}", "--early_stopping.enabled=false",
    ])  # fmt: skip
    L.seed_everything(seed, verbose=False)
    module = build.build_model(cfg, datamodule)
    epochs_clock, threads_clock, hooks = EpochStarts(), RefreshThreadClock(), HookClock()
    if bar:
        hooks.install()
    try:
        with tempfile.TemporaryDirectory() as folder:
            trainer = build.build_trainer(cfg, None, Path(folder), [epochs_clock, threads_clock])
            started = time.perf_counter()
            trainer.fit(module, datamodule=datamodule)
            wall_s = time.perf_counter() - started
    finally:
        hooks.uninstall()
    return {
        "epoch_s": epochs_clock.epoch_s(),
        "fit_s": wall_s,
        "hooks_s": hooks.during_epochs(),
        "setup_teardown_s": hooks.once(),
        "refresh_cpu_s": threads_clock.cpu_s,
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--pairs", type=int, default=4)
    parser.add_argument("--epochs", type=int, default=3, help="per fit; the first is not timed")
    args = parser.parse_args()
    if not sys.stdout.isatty():
        raise SystemExit("run me in a terminal (script -qec '...' /dev/null): the bar needs one")
    configure_process()
    configure_threads(1)
    datamodule = MNISTDataModule()
    datamodule.prepare_data()
    datamodule.setup("fit")
    # As the commands do after their imports (runtime.process.importing_libraries): otherwise a
    # full collection over the libraries' half a million objects (0.2 s) that falls inside one
    # of the bar's hooks is charged to the bar. Here by hand: --code may be an older checkout.
    gc.freeze()
    on, off = [], []
    for pair in range(args.pairs):
        order = [(True, on), (False, off)]
        for bar, fits in order if pair % 2 else order[::-1]:
            fits.append(fit(datamodule, bar, args.epochs, seed=pair))
    ratios = [
        statistics.median(a["epoch_s"]) / statistics.median(b["epoch_s"])
        for a, b in zip(on, off, strict=True)
    ]
    fit_s = sum(f["fit_s"] for f in on)
    result = {
        "epoch_on_s": statistics.median(s for f in on for s in f["epoch_s"]),
        "epoch_off_s": statistics.median(s for f in off for s in f["epoch_s"]),
        "ratio_median": statistics.median(ratios),
        "ratio_range": [min(ratios), max(ratios)],
        "hooks_share": sum(f["hooks_s"] for f in on) / fit_s,
        "refresh_thread_share": sum(f["refresh_cpu_s"] for f in on) / fit_s,
        "setup_teardown_s": statistics.median(f["setup_teardown_s"] for f in on),
    }
    print("BAR_COST " + json.dumps(result), flush=True)


if __name__ == "__main__":
    main()
