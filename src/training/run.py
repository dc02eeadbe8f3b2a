"""One training run end to end: config -> Trainer -> fit -> test on the best checkpoint, inside
its own MLflow run, with this process holding the run's lock. Tuning trials take this path too."""

from __future__ import annotations

import contextlib
import dataclasses
import os
import signal
import time
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path

import lightning.pytorch as L
from lightning.pytorch.utilities import rank_zero_only
from mlflow.entities import Metric

from src.config.train import TrainConfig
from src.errors import UsageError
from src.runtime.signals import (
    RunInterrupted,
    raise_if_interrupted,
    signals_stop_between_batches,
    take_received_signal,
)
from src.runtime.threads import configure_threads
from src.tracking.artifacts import log_run_outputs
from src.tracking.logger import MlflowRunLogger
from src.tracking.runs import (
    environment_tags,
    git_tags,
    log_dataset,
    log_params,
    log_tags,
    tracked_run,
)
from src.tracking.store import ensure_experiment, resolve_tracking_uri, use_store
from src.tracking.system_metrics import sampling_interval
from src.training import build, run_lock
from src.training.checkpoints import RUN_ID_ENV, make_checkpoint_root, resolve_resume


@dataclass
class TrainResult:
    run_id: str | None
    experiment_id: str | None
    tracking_uri: str
    test_metrics: dict[str, float] = field(default_factory=dict)
    best_val_acc: float | None = None
    epochs: int = 0
    wall_time_s: float = 0.0
    checkpoint_dir: str = ""
    best_checkpoint: str = ""
    model_uri: str | None = None
    timings: dict[str, float] = field(default_factory=dict)  # seconds per phase of the run


def _check_accelerator(cfg: TrainConfig) -> None:
    """Hardware the machine lacks is a usage error before a run opens, not a FAILED run."""
    import torch

    t = cfg.trainer
    available = {
        "gpu": torch.cuda.device_count(),
        "cuda": torch.cuda.device_count(),
        "mps": int(torch.backends.mps.is_available()),
    }.get(t.accelerator)
    if available == 0:
        raise UsageError(
            f"trainer.accelerator={t.accelerator}: this machine has none; expected auto or cpu"
        )
    if available is not None and isinstance(t.devices, int) and t.devices > available:
        raise UsageError(
            f"trainer.devices={t.devices}: this machine has {available} {t.accelerator} devices;"
            ' expected at most that many, or "auto"'
        )


def _check_run_exists(client, run_id: str, cfg: TrainConfig, uri: str) -> None:
    import mlflow

    try:
        client.get_run(run_id)
    except mlflow.exceptions.MlflowException as error:
        raise UsageError(
            f"ckpt_path={cfg.ckpt_path}: the checkpoint's folder name {run_id!r} is not a run in"
            f" the tracking store {uri}; resume with the store the run was tracked in"
        ) from error


def run_training(
    cfg: TrainConfig,
    extra_callbacks: Sequence = (),
    nested: bool = False,
    run_test: bool = True,
    tags: dict[str, str] | None = None,
    processes_sharing_cpu: int = 1,
) -> TrainResult:
    """Train one config end to end inside its own MLflow run; the path tuning trials take too."""
    started = time.perf_counter()
    configure_threads(processes_sharing_cpu)
    L.seed_everything(cfg.seed, workers=True, verbose=False)
    resume_path, resume_run_id = resolve_resume(cfg)
    _check_accelerator(cfg)
    uri = resolve_tracking_uri(cfg.mlflow.tracking_uri)
    result = TrainResult(run_id=None, experiment_id=None, tracking_uri=uri)
    timings = result.timings
    if rank_zero_only.rank == 0:  # a store that cannot be used fails before data and model
        with _timed(timings, "store"):
            client = use_store(uri)
            experiment_id = ensure_experiment(client, cfg.mlflow.experiment_name)
            if resume_run_id is not None:
                _check_run_exists(client, resume_run_id, cfg, uri)
            make_checkpoint_root(cfg)
    with _timed(timings, "data"):
        datamodule = build.build_datamodule(cfg)
        datamodule.prepare_data()
        module = build.build_model(cfg, datamodule)

    if rank_zero_only.rank != 0:  # a DDP worker: the main process owns the MLflow run
        run_id = os.environ.get(RUN_ID_ENV, "worker")
        checkpoint_dir = Path(cfg.checkpoint_dir) / cfg.mlflow.experiment_name / run_id
        trainer = build.build_trainer(cfg, None, checkpoint_dir, extra_callbacks)
        _fit(trainer, module, datamodule, resume_path)
        if run_test:
            _test(trainer, module, datamodule, "best")
        return result

    opening = time.perf_counter()
    with _training_run(cfg, experiment_id, resume_run_id, nested, tags) as run:
        run_id = run.info.run_id
        os.environ[RUN_ID_ENV] = run_id
        result.run_id, result.experiment_id = run_id, experiment_id
        checkpoint_dir = Path(cfg.checkpoint_dir) / cfg.mlflow.experiment_name / run_id
        logger = MlflowRunLogger(client, run_id)
        trainer = build.build_trainer(cfg, logger, checkpoint_dir, extra_callbacks)
        _log_run_inputs(client, run_id, cfg, trainer, datamodule)
        timings["run_start"] = time.perf_counter() - opening

        with _timed(timings, "fit"):
            _fit(trainer, module, datamodule, resume_path)
        checkpoint = trainer.checkpoint_callback
        result.best_checkpoint = checkpoint.best_model_path if checkpoint else ""
        result.checkpoint_dir = str(checkpoint_dir)
        result.epochs = trainer.current_epoch
        if module.val_acc_best.update_called:
            result.best_val_acc = float(module.val_acc_best.compute())
        if run_test:
            with _timed(timings, "test"):
                _test(trainer, module, datamodule, "best" if result.best_checkpoint else None)
            result.test_metrics = {
                k: float(v) for k, v in trainer.callback_metrics.items() if k.startswith("test/")
            }
        result.wall_time_s = time.perf_counter() - started
        with _timed(timings, "outputs"):
            result.model_uri = log_run_outputs(client, run_id, cfg, module, datamodule, timings)
        now = int(time.time() * 1000)
        seconds = {"wall_time_s": result.wall_time_s}
        seconds |= {f"time/{phase}_s": value for phase, value in timings.items()}
        totals = {**seconds, "epochs": float(result.epochs)}  # what groups average (src/groups)
        client.log_batch(run_id, metrics=[Metric(k, v, now, 0) for k, v in totals.items()])
    return result


@contextlib.contextmanager
def _timed(timings: dict[str, float], phase: str) -> Iterator[None]:
    """Adds the seconds spent inside to timings[phase]: where a run's time goes (logged as
    time/<phase>_s; benchmarks/bench_command.py reads them)."""
    started = time.perf_counter()
    try:
        yield
    finally:
        timings[phase] = timings.get(phase, 0.0) + time.perf_counter() - started


@contextlib.contextmanager
def _training_run(cfg: TrainConfig, experiment_id: str, resume_run_id: str | None, nested, tags):
    """The MLflow run, new or reopened, with this process holding the run's lock throughout."""
    root = Path(cfg.checkpoint_dir) / cfg.mlflow.experiment_name
    with contextlib.ExitStack() as held:
        if resume_run_id is not None:  # before reopening: losing a race must leave the run alone
            try:
                held.enter_context(run_lock.hold(root / resume_run_id))
            except run_lock.RunBusy as busy:
                raise UsageError(
                    f"ckpt_path={cfg.ckpt_path}: {busy}; wait for it or stop it"
                ) from busy
        with tracked_run(
            experiment_id,
            cfg.mlflow.run_name,
            run_id=resume_run_id,
            nested=nested,
            tags=tags,
            system_metrics_s=sampling_interval(cfg.mlflow),
        ) as run:
            if resume_run_id is None:
                held.enter_context(run_lock.hold(root / run.info.run_id))
            yield run


def _fit(trainer, module, datamodule, resume_path: Path | None) -> None:
    # weights_only: a checkpoint cannot run code when loaded (torch's safe unpickler).
    _stage(trainer, trainer.fit, module, datamodule=datamodule, ckpt_path=resume_path)


def _test(trainer, module, datamodule, ckpt_path: str | None) -> None:
    _stage(trainer, trainer.test, module, datamodule=datamodule, ckpt_path=ckpt_path, verbose=False)


def _stage(trainer, stage, *args, **kwargs) -> None:
    """A Lightning stage whose Ctrl-C / SIGTERM ends in RunInterrupted, not Lightning's exit(1).

    Lightning stops at a batch boundary on either signal, so the last complete epoch's
    last.ckpt and its logged metrics stay intact.
    """
    raise_if_interrupted()  # one recorded since (signals_deferred): do not start the stage
    try:
        with signals_stop_between_batches():
            stage(*args, weights_only=True, **kwargs)
    except SystemExit:
        if trainer.interrupted:
            fallback = signal.SIGTERM if trainer.received_sigterm else signal.SIGINT
            raise RunInterrupted(take_received_signal() or fallback) from None
        raise
    if trainer.interrupted:  # Lightning swallowed a KeyboardInterrupt (a second Ctrl-C)
        raise RunInterrupted(take_received_signal() or signal.SIGINT)
    raise_if_interrupted()  # a signal that came after the loop's last check


def _log_run_inputs(client, run_id: str, cfg: TrainConfig, trainer, datamodule) -> None:
    log_params(client, run_id, dataclasses.asdict(cfg))
    tags = {
        **git_tags(),
        **environment_tags(
            accelerator=trainer.strategy.root_device.type,
            device_name=build.device_name(trainer),
            precision=str(trainer.precision),
            devices=trainer.num_devices,
        ),
        "dataset": cfg.data.dataset,
    }
    log_tags(client, run_id, tags)
    arrays = datamodule.arrays
    log_dataset(cfg.data.dataset, arrays.source, arrays.digest, arrays.train_x, arrays.train_y)
