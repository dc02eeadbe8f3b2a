"""`python -m src.train`: config -> Trainer -> fit -> test on the best checkpoint -> MLflow run.

Examples:
  python -m src.train
  python -m src.train --config configs/experiments/keras_tutorial.yaml
  python -m src.train --model.activation tanh --optimizer.lr 3e-4 --trainer.max_epochs 5
  python -m src.train --ckpt_path last          # resume the newest interrupted run
  python -m src.train --resume 3f2c...e1        # resume that run, with its saved config
  python -m src.train --print_config            # the resolved config as YAML
  python -m src.train --register-model mnist-mlp   # register it; alias champion = best val/acc_best
"""

from __future__ import annotations

import contextlib
import dataclasses
import glob
import os
import signal
import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path

from src.cli import (
    UsageError,
    add_train_arguments,
    instantiate_train_config,
    known_keys,
    new_parser,
    parse_args,
    run_main,
)
from src.config import TrainConfig
from src.interrupts import (
    RunInterrupted,
    raise_if_interrupted,
    signals_stop_between_batches,
    take_received_signal,
)

RUN_ID_ENV = "SRC_TRAIN_RUN_ID"  # hands the MLflow run id to DDP worker processes
# Config keys that shape the state in a checkpoint: resuming with other values cannot work.
# For dropouts only zero versus non-zero matters (a Dropout layer shifts the layer indices).
RESUME_MUST_MATCH = (
    "model.hidden_dims",
    "model.activation",
    "model.batch_norm",
    "model.loss",
    "optimizer.name",
    "scheduler.name",
    "data.dataset",
)


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
    val_history: list[float] = field(default_factory=list)


def find_last_checkpoint(cfg: TrainConfig, chosen_run_id: str | None = None) -> Path:
    """`--ckpt_path last`: the newest last.ckpt among this experiment's runs that no live process
    is training. `chosen_run_id`: the run the main process chose (in a DDP worker, which must
    resume the same one, and sees it as busy)."""
    from src import run_lock

    root = Path(cfg.checkpoint_dir) / cfg.mlflow.experiment_name
    if chosen_run_id is not None:
        return root / chosen_run_id / "last.ckpt"
    found = sorted(root.glob("*/last.ckpt"), key=lambda p: p.stat().st_mtime)
    idle = [path for path in found if not run_lock.is_busy(path.parent)]
    if not idle:
        where = f"no last.ckpt under {root}/"
        if found:
            where = f"every run with a last.ckpt under {root}/ is still training"
        raise UsageError(f"ckpt_path=last: {where}; nothing to resume")
    return idle[-1]


def find_run_checkpoint(checkpoint_dir: str, run_id: str) -> Path:
    """`--resume RUN_ID`: that run's last.ckpt (run ids are unique across experiments)."""
    found = sorted(Path(checkpoint_dir).glob(f"*/{glob.escape(run_id)}/last.ckpt"))
    if not found:
        raise UsageError(
            f"--resume {run_id}: no {checkpoint_dir}/*/{run_id}/last.ckpt; expected the id of a"
            f" run that saved checkpoints under checkpoint_dir={checkpoint_dir}"
        )
    return found[0]


def read_checkpoint(path: Path, key: str, hint: str = "resume from another one") -> dict:
    """A checkpoint loaded without running code from it (weights_only); UsageError if unreadable.

    Shared by resuming here and by src.registry (evaluate/predict --checkpoint)."""
    import torch

    try:
        checkpoint = torch.load(path, map_location="cpu", weights_only=True)
    except Exception as error:  # truncated zip, refused global, not a torch file...
        reason = str(error).splitlines()[0] if str(error) else type(error).__name__
        advice = f"; {hint}" if hint else ""
        message = f"{key}: {path} is not a readable checkpoint ({reason}){advice}"
        raise UsageError(message) from error
    if not isinstance(checkpoint, dict):
        raise UsageError(f"{key}: {path} holds a {type(checkpoint).__name__}, not a checkpoint")
    return checkpoint


def resolve_resume(cfg: TrainConfig) -> tuple[Path | None, str | None]:
    """The checkpoint to resume from and the MLflow run it belongs to (its folder's name).

    The checkpoint is read here, before any run is reopened, so that a corrupt file or one from a
    different model is a clean error instead of a FAILED run.
    """
    from lightning.pytorch.utilities import rank_zero_only

    if cfg.ckpt_path is None:
        return None, None
    worker = rank_zero_only.rank != 0
    if cfg.ckpt_path == "last":
        path = find_last_checkpoint(cfg, os.environ.get(RUN_ID_ENV) if worker else None)
    else:
        path = Path(cfg.ckpt_path)
    key = f"ckpt_path={cfg.ckpt_path}"
    if not path.is_file():
        raise UsageError(f'{key}: no such checkpoint file; expected "last" or a .ckpt file')
    saved = read_checkpoint(path, key).get("train_config")
    if saved is not None:
        _check_resumable(cfg, saved, f"{key} ({path})")
    return path, path.parent.name


def _check_resumable(cfg: TrainConfig, saved: dict, where: str) -> None:
    from src.tracking import flatten

    before, now = flatten(saved), flatten(dataclasses.asdict(cfg))
    for key in (*RESUME_MUST_MATCH, "model.dropout", "model.input_dropout"):
        if key not in before:
            continue
        old, new = before[key], now[key]
        if key.endswith("dropout"):
            old, new = old > 0, new > 0
        elif isinstance(old, tuple | list):
            old, new = list(old), list(new)
        if old != new:
            raise UsageError(
                f"{where}: the checkpoint was trained with {key}={before[key]!r}, the config says"
                f" {now[key]!r}; resume with the same {key} (or use --resume RUN_ID, which reuses"
                " the run's config)"
            )


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


class CheckpointDirError(Exception):
    """checkpoint_dir cannot be written; found before a run is opened, not at the first save."""


def _make_checkpoint_root(cfg: TrainConfig) -> None:
    root = Path(cfg.checkpoint_dir) / cfg.mlflow.experiment_name
    try:
        root.mkdir(parents=True, exist_ok=True)
    except OSError as error:
        raise CheckpointDirError(
            f"checkpoint_dir={cfg.checkpoint_dir}: cannot create {root} ({error.strerror});"
            " expected a writable folder"
        ) from error
    if not os.access(root, os.W_OK):
        raise CheckpointDirError(
            f"checkpoint_dir={cfg.checkpoint_dir}: {root} is not writable; expected a writable"
            " folder"
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
    import lightning.pytorch as L
    from lightning.pytorch.utilities import rank_zero_only

    from src import build, tracking

    started = time.perf_counter()
    build.configure_threads(processes_sharing_cpu)
    L.seed_everything(cfg.seed, workers=True, verbose=False)
    resume_path, resume_run_id = resolve_resume(cfg)
    _check_accelerator(cfg)
    uri = tracking.resolve_tracking_uri(cfg.mlflow.tracking_uri)
    result = TrainResult(run_id=None, experiment_id=None, tracking_uri=uri)
    if rank_zero_only.rank == 0:  # a store that cannot be used fails before data and model
        client = tracking.use_store(uri)
        experiment_id = tracking.ensure_experiment(client, cfg.mlflow.experiment_name)
        if resume_run_id is not None:
            _check_run_exists(client, resume_run_id, cfg, uri)
        _make_checkpoint_root(cfg)
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

    with _training_run(cfg, experiment_id, resume_run_id, nested, tags) as run:
        run_id = run.info.run_id
        os.environ[RUN_ID_ENV] = run_id
        result.run_id, result.experiment_id = run_id, experiment_id
        checkpoint_dir = Path(cfg.checkpoint_dir) / cfg.mlflow.experiment_name / run_id
        logger = tracking.MlflowRunLogger(client, run_id)
        trainer = build.build_trainer(cfg, logger, checkpoint_dir, extra_callbacks)
        _log_run_inputs(client, run_id, cfg, trainer, datamodule)

        _fit(trainer, module, datamodule, resume_path)
        checkpoint = trainer.checkpoint_callback
        result.best_checkpoint = checkpoint.best_model_path if checkpoint else ""
        result.checkpoint_dir = str(checkpoint_dir)
        result.epochs = trainer.current_epoch
        if module.val_acc_best.update_called:
            result.best_val_acc = float(module.val_acc_best.compute())
        if run_test:
            _test(trainer, module, datamodule, "best" if result.best_checkpoint else None)
            result.test_metrics = {
                k: float(v) for k, v in trainer.callback_metrics.items() if k.startswith("test/")
            }
        result.wall_time_s = time.perf_counter() - started
        wall_time = tracking.Metric("wall_time_s", result.wall_time_s, int(time.time() * 1000), 0)
        client.log_batch(run_id, metrics=[wall_time])
        from src.artifacts import log_run_outputs

        result.val_history, result.model_uri = log_run_outputs(
            client, run_id, cfg, module, datamodule
        )
    return result


@contextlib.contextmanager
def _training_run(cfg: TrainConfig, experiment_id: str, resume_run_id: str | None, nested, tags):
    """The MLflow run, new or reopened, with this process holding the run's lock throughout."""
    from src import run_lock, tracking

    root = Path(cfg.checkpoint_dir) / cfg.mlflow.experiment_name
    with contextlib.ExitStack() as held:
        if resume_run_id is not None:  # before reopening: losing a race must leave the run alone
            try:
                held.enter_context(run_lock.hold(root / resume_run_id))
            except run_lock.RunBusy as busy:
                raise UsageError(
                    f"ckpt_path={cfg.ckpt_path}: {busy}; wait for it or stop it"
                ) from busy
        with tracking.tracked_run(
            experiment_id, cfg.mlflow.run_name, run_id=resume_run_id, nested=nested, tags=tags
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
    from src import build, tracking

    tracking.log_params(client, run_id, dataclasses.asdict(cfg))
    tags = {
        **tracking.git_tags(),
        **tracking.environment_tags(
            accelerator=trainer.strategy.root_device.type,
            device_name=build.device_name(trainer),
            precision=str(trainer.precision),
            devices=trainer.num_devices,
        ),
        "dataset": cfg.data.dataset,
    }
    tracking.log_tags(client, run_id, tags)
    arrays = datamodule.arrays
    tracking.log_dataset(
        cfg.data.dataset, arrays.source, arrays.digest, arrays.train_x, arrays.train_y
    )


def main(argv: list[str]) -> int:
    parser = new_parser("python -m src.train", __doc__.split("\n\n")[0])
    add_train_arguments(parser)
    parser.add_argument(
        "--resume",
        metavar="RUN_ID",
        help="continue this MLflow run from its last.ckpt, with its saved config under the options"
        " given here",
    )
    # The issue-tracker spelling `--register-model NAME` for the schema key mlflow.register_model.
    argv = [
        w.replace("--register-model", "--mlflow.register_model", 1)
        if w.startswith("--register-model")
        else w
        for w in argv
    ]
    namespace = parse_args(parser, argv)
    if namespace.resume:
        if namespace.ckpt_path is not None:
            raise UsageError("--resume RUN_ID and --ckpt_path both given; give one of them")
        path = find_run_checkpoint(namespace.checkpoint_dir, namespace.resume)
        saved = read_checkpoint(path, f"--resume {namespace.resume}").get("train_config") or {}
        from src.tracking import flatten

        keys = set(known_keys(parser))
        defaults = {key: value for key, value in flatten(saved).items() if key in keys}
        parser.set_defaults({**defaults, "ckpt_path": str(path)})
        namespace = parse_args(parser, argv)
    cfg = instantiate_train_config(namespace, parser)
    try:
        result = run_training(cfg)
    except RunInterrupted as stop:
        if stop.run_id:
            stop.hint = f"continue it with: python -m src.train --resume {stop.run_id}"
        raise
    if result.run_id is not None:
        from src.report import print_summary

        print_summary(result)
    return 0


if __name__ == "__main__":
    run_main(main)
