"""MLflow's system metrics (CPU, memory, disk, network; NVIDIA GPUs through nvidia-ml-py) for a
run this process owns: MLflow's own SystemMetricsMonitor, attached to the run id and stopped,
with its last sample written, before the run is closed.

`mlflow.start_run(log_system_metrics=True)` would start the same monitor, but its loop takes the
first sample at once, when psutil (which keeps one CPU baseline per thread id) has nothing to
compare with, so a run's first CPU point is 0 (or spans a dead thread's interval); and it drops
the samples taken since the last write when the run ends, so a run shorter than one interval has
no system metrics at all. The loop below sets its baseline, waits first and writes a last sample
on the way out; the rest (monitors, aggregation, names, steps, the batched writes) is MLflow's.
"""

from __future__ import annotations

import contextlib
import logging
from collections.abc import Iterator

import mlflow
import psutil
from mlflow.system_metrics.system_metrics_monitor import SystemMetricsMonitor

from src.config.tracking import MlflowConfig

_logger = logging.getLogger(__name__)
THREAD_NAME = "SystemMetricsMonitor"  # MLflow's name for the sampling thread


def sampling_interval(cfg: MlflowConfig) -> float | None:
    """Seconds between samples for runs under this config; None when system metrics are off."""
    return cfg.system_metrics_interval_s if cfg.system_metrics else None


class RunMonitor(SystemMetricsMonitor):
    """MLflow's monitor with the sampling loop described above."""

    def monitor(self) -> None:
        psutil.cpu_percent()  # this thread's baseline: the first sample then measures
        collected = 0
        while True:
            stopping = self._shutdown_event.wait(self.sampling_interval)
            try:
                self.collect_metrics()
                collected += 1
                if stopping or collected >= self.samples_before_logging:
                    self.publish_metrics(self.aggregate_metrics())
                    collected = 0
            except Exception as error:  # never fatal to training, as in MLflow's own loop
                _logger.warning("system metrics stopped: %s", error)
                return
            if stopping:
                return


@contextlib.contextmanager
def system_metrics(run_id: str, interval_s: float | None, resumed: bool) -> Iterator[None]:
    """While inside, a thread samples every `interval_s` seconds into run `run_id` (nothing when
    None); on the way out, however it is left, the thread takes a last sample, writes what it
    holds and is joined. A resumed run continues its system metrics' steps."""
    monitor = None if interval_s is None else _start(run_id, interval_s, resumed)
    try:
        yield
    finally:
        if monitor is not None:  # MLflow's finish: sets the stop event, joins, flushes the batch
            monitor.finish()


def _start(run_id: str, interval_s: float, resumed: bool) -> RunMonitor | None:
    try:
        monitor = RunMonitor(
            run_id,
            sampling_interval=interval_s,
            resume_logging=resumed,
            tracking_uri=mlflow.get_tracking_uri(),
        )
    except Exception as error:  # a run without system metrics beats no run
        _logger.warning("system metrics are off for this run: %s", error)
        return None
    monitor.start()
    return monitor
