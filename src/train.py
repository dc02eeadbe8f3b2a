"""`python -m src.train`: config -> Trainer -> fit -> test on the best checkpoint -> MLflow run.

Examples:
  python -m src.train
  python -m src.train --config configs/experiments/keras_tutorial.yaml
  python -m src.train --model.activation tanh --optimizer.lr 3e-4 --trainer.max_epochs 5
  python -m src.train --ckpt_path last          # resume the newest interrupted run
  python -m src.train --print_config            # the resolved config as YAML
"""

from __future__ import annotations

import dataclasses
import os
import signal
import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path

from src.cli import UsageError, instantiate_train_config, new_parser, run_main
from src.config import TrainConfig

RUN_ID_ENV = "SRC_TRAIN_RUN_ID"  # hands the MLflow run id to DDP worker processes


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


def find_last_checkpoint(cfg: TrainConfig) -> Path:
    """`--ckpt_path last`: the newest last.ckpt among this experiment's runs."""
    root = Path(cfg.checkpoint_dir) / cfg.mlflow.experiment_name
    candidates = sorted(root.glob("*/last.ckpt"), key=lambda p: p.stat().st_mtime)
    if not candidates:
        raise UsageError(f"ckpt_path=last: no last.ckpt under {root}/ (nothing to resume)")
    return candidates[-1]


def resolve_resume(cfg: TrainConfig) -> tuple[Path | None, str | None]:
    """The checkpoint to resume from and the MLflow run it belongs to (its folder's name)."""
    if cfg.ckpt_path is None:
        return None, None
    path = find_last_checkpoint(cfg) if cfg.ckpt_path == "last" else Path(cfg.ckpt_path)
    if not path.is_file():
        raise UsageError(f"ckpt_path={cfg.ckpt_path!r}: no such checkpoint file")
    return path, path.parent.name


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
    datamodule = build.build_datamodule(cfg)
    datamodule.prepare_data()
    module = build.build_model(cfg, datamodule)
    uri = tracking.resolve_tracking_uri(cfg.mlflow.tracking_uri)
    result = TrainResult(run_id=None, experiment_id=None, tracking_uri=uri)

    if rank_zero_only.rank != 0:  # a DDP worker: the main process owns the MLflow run
        run_id = os.environ.get(RUN_ID_ENV, "worker")
        checkpoint_dir = Path(cfg.checkpoint_dir) / cfg.mlflow.experiment_name / run_id
        trainer = build.build_trainer(cfg, None, checkpoint_dir, extra_callbacks)
        _fit(trainer, module, datamodule, resume_path)
        if run_test:
            trainer.test(module, datamodule=datamodule, ckpt_path="best", verbose=False)
        return result

    client = tracking.use_store(uri)
    experiment_id = tracking.ensure_experiment(client, cfg.mlflow.experiment_name)
    with tracking.tracked_run(
        experiment_id, cfg.mlflow.run_name, run_id=resume_run_id, nested=nested, tags=tags
    ) as run:
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
            ckpt = "best" if result.best_checkpoint else None
            trainer.test(module, datamodule=datamodule, ckpt_path=ckpt, verbose=False)
            result.test_metrics = {
                k: float(v) for k, v in trainer.callback_metrics.items() if k.startswith("test/")
            }
        result.wall_time_s = time.perf_counter() - started
        client.log_batch(run_id, metrics=[tracking.Metric("wall_time_s", result.wall_time_s, 0, 0)])
        from src.artifacts import log_run_outputs

        result.val_history, result.model_uri = log_run_outputs(
            client, run_id, cfg, module, datamodule
        )
    return result


def _fit(trainer, module, datamodule, resume_path: Path | None) -> None:
    """trainer.fit that turns Ctrl-C / SIGTERM into RunInterrupted (Lightning exits with 1)."""
    from src.tracking import RunInterrupted

    try:
        trainer.fit(module, datamodule=datamodule, ckpt_path=resume_path)
    except SystemExit:
        if trainer.interrupted:
            signum = signal.SIGTERM if trainer.received_sigterm else signal.SIGINT
            raise RunInterrupted(signum) from None
        raise
    if trainer.interrupted:  # Lightning swallowed the KeyboardInterrupt
        raise RunInterrupted(signal.SIGINT)


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
    from src.cli import add_train_arguments

    add_train_arguments(parser)
    try:
        namespace = parser.parse_args(argv)
    except Exception as error:
        raise UsageError(str(error)) from error
    cfg = instantiate_train_config(namespace, parser)
    result = run_training(cfg)
    if result.run_id is not None:
        from src.report import print_summary

        print_summary(result)
    return 0


if __name__ == "__main__":
    run_main(main)
