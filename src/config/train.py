"""The training configuration: one schema, derived from the type hints below and in
src/config/model.py and src/config/tracking.py.

jsonargparse turns these dataclasses into `--config FILE`, dotted overrides
(`--model.activation tanh`) and `--print_config` (src/config/parsing.py). The package imports no
torch or Lightning, so `python -m src.train --help` and config validation stay fast.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Literal

from src.config.checks import check, finite
from src.config.model import ModelConfig, OptimizerConfig, SchedulerConfig
from src.config.names import EARLY_STOPPING_MODES, DatasetName, Precision, ValSplit
from src.config.tracking import MlflowConfig

MAX_SEED = 2**32 - 1  # numpy's and Lightning's seed range
_MAX_TIME = re.compile(r"\d+:\d{1,2}:\d{1,2}:\d{1,2}")


@dataclass
class DataConfig:
    dataset: DatasetName = "mnist"
    """Which 28x28 grayscale set: the handwritten digits or Zalando's Fashion-MNIST."""
    data_dir: str = "data"
    """Where IDX files, downloads and the uint8 cache live."""
    batch_size: int = 128
    """Training images per optimizer step."""
    eval_batch_size: int = 2048
    """Images per batch for validation and test (no gradients, so larger is fine)."""
    val_size: int = 5000
    """Validation images held out of the 60k training set (0: none; the last epoch is tested)."""
    split: ValSplit = "random"
    """How validation images are held out: a random subset (seeded by `split_seed`), or the last
    `val_size` images in file order (with 10000: MNIST's classic 50,000/10,000 split)."""
    split_seed: int = 0
    """Seed of the random split, kept apart from `seed` so tuning trials share a split."""
    device_resident: bool = True
    """Keep the whole dataset on the GPU when training on one."""
    folds: int = 0
    """0: off; k: k-fold cross-validation of the 60k training set (stratified by label, seeded by
    `split_seed`): `fold` validates, the other k-1 parts train, and `val_size`/`split` are
    ignored. `python -m src.train --folds k` trains every fold as one group."""
    fold: int = 0
    """Which fold validates, in [0, folds) (with folds > 0)."""

    def __post_init__(self) -> None:
        check(self.batch_size > 0, "data.batch_size", "an int > 0", self.batch_size)
        check(self.eval_batch_size > 0, "data.eval_batch_size", "an int > 0", self.eval_batch_size)
        check(0 <= self.val_size < 60000, "data.val_size", "an int in [0, 60000)", self.val_size)
        check(self.folds == 0 or self.folds >= 2, "data.folds", "0 or an int >= 2", self.folds)
        check(
            self.fold == 0 or 0 <= self.fold < self.folds,
            "data.fold",
            f"an int in [0, data.folds={self.folds})" if self.folds else "0 when data.folds is 0",
            self.fold,
        )

    @property
    def validates(self) -> bool:
        """Whether some training images are held out for validation (a fold, or val_size)."""
        return self.folds > 0 or self.val_size > 0


@dataclass
class EarlyStoppingConfig:
    enabled: bool = True
    """Stop when `monitor` stops improving; needs data.val_size > 0."""
    monitor: str = "val/acc"
    """Metric watched: val/acc, val/loss or val/f1."""
    patience: int = 5
    """Validation epochs without improvement before stopping."""
    min_delta: float = 0.0
    """Smallest change of `monitor` that counts as an improvement."""
    mode: Literal["min", "max"] = "max"
    """max for accuracy/F1, min for a loss."""

    def __post_init__(self) -> None:
        check(self.patience >= 0, "early_stopping.patience", "an int >= 0", self.patience)
        check(
            finite(self.min_delta) and self.min_delta >= 0,
            "early_stopping.min_delta",
            "a number >= 0",
            self.min_delta,
        )
        check(
            self.monitor in EARLY_STOPPING_MODES,
            "early_stopping.monitor",
            f"one of {', '.join(EARLY_STOPPING_MODES)}",
            self.monitor,
        )
        check(
            self.mode == EARLY_STOPPING_MODES[self.monitor],
            "early_stopping.mode",
            f"{EARLY_STOPPING_MODES[self.monitor]!r} for monitor {self.monitor}",
            self.mode,
        )


@dataclass
class TrainerConfig:
    """Passed to lightning.pytorch.Trainer as keyword arguments."""

    accelerator: Literal["auto", "cpu", "gpu", "cuda", "mps"] = "auto"
    """auto picks a GPU when torch sees one, else the CPU."""
    devices: int | str = "auto"
    """Number of devices, or "auto"."""
    strategy: Literal["auto", "ddp", "ddp_spawn", "ddp_find_unused_parameters_true"] = "auto"
    """ddp: one process per device, gradients averaged (multi-GPU, or CPU processes)."""
    num_nodes: int = 1
    """Machines taking part in DDP training."""
    precision: Precision = "32-true"
    """Numeric precision; bf16-mixed is the fast choice on recent GPUs."""
    max_epochs: int = 15
    """Upper bound on passes over the training set (early stopping may end sooner)."""
    min_epochs: int | None = None
    """Early stopping cannot end the run before this many epochs."""
    max_time: str | None = None
    """Wall-clock limit, "DD:HH:MM:SS"."""
    gradient_clip_val: float | None = None
    """Clip gradients to this norm (or value, see gradient_clip_algorithm); null = off."""
    gradient_clip_algorithm: Literal["norm", "value"] = "norm"
    """norm clips the global gradient norm, value clips each element."""
    accumulate_grad_batches: int = 1
    """Sum gradients over this many batches per optimizer step."""
    deterministic: bool = False
    """Deterministic torch kernels: bit-identical reruns, sometimes slower."""
    fast_dev_run: bool = False
    """One train, val and test batch: a smoke test of the whole pipeline."""
    limit_train_batches: int | float | None = None
    """Train on this many batches (int) or this share (float) of each epoch; null = all."""
    limit_val_batches: int | float | None = None
    """The same for validation."""
    check_val_every_n_epoch: int = 1
    """Validate every n epochs."""
    enable_progress_bar: bool | None = None
    """null: one line per epoch, and in a terminal a live loss/accuracy bar under them (not in a
    log file, CI or a pipe); true: the bar anyway; false: quiet mode (no bar, lines or info)."""

    def __post_init__(self) -> None:
        check(self.max_epochs > 0, "trainer.max_epochs", "an int > 0", self.max_epochs)
        check(self.num_nodes > 0, "trainer.num_nodes", "an int > 0", self.num_nodes)
        check(
            self.accumulate_grad_batches > 0,
            "trainer.accumulate_grad_batches",
            "an int > 0",
            self.accumulate_grad_batches,
        )
        check(
            self.check_val_every_n_epoch > 0,
            "trainer.check_val_every_n_epoch",
            "an int > 0",
            self.check_val_every_n_epoch,
        )
        check(
            self.devices == "auto" or (isinstance(self.devices, int) and self.devices > 0),
            "trainer.devices",
            '"auto" or an int > 0',
            self.devices,
        )
        if self.gradient_clip_val is not None:
            check(
                finite(self.gradient_clip_val) and self.gradient_clip_val > 0,
                "trainer.gradient_clip_val",
                "null or a number > 0",
                self.gradient_clip_val,
            )
        if self.min_epochs is not None:
            check(
                0 <= self.min_epochs <= self.max_epochs,
                "trainer.min_epochs",
                f"null or an int in [0, trainer.max_epochs={self.max_epochs}]",
                self.min_epochs,
            )
        if self.max_time is not None:
            check(
                bool(_MAX_TIME.fullmatch(self.max_time)),
                "trainer.max_time",
                'null or "DD:HH:MM:SS"',
                self.max_time,
            )
        for key in ("limit_train_batches", "limit_val_batches"):
            value = getattr(self, key)
            check(
                value is None
                or (isinstance(value, int) and value >= 0)
                or (isinstance(value, float) and 0 <= value <= 1),
                f"trainer.{key}",
                "null, a fraction in [0.0, 1.0] or a number of batches >= 0",
                value,
            )


@dataclass
class TrainConfig:
    """Everything one training run needs; what `--print_config` prints."""

    seed: int = 42
    """Seeds Python, NumPy and torch: initial weights, dropout masks and batch order."""
    model: ModelConfig = field(default_factory=ModelConfig)
    optimizer: OptimizerConfig = field(default_factory=OptimizerConfig)
    scheduler: SchedulerConfig = field(default_factory=SchedulerConfig)
    data: DataConfig = field(default_factory=DataConfig)
    early_stopping: EarlyStoppingConfig = field(default_factory=EarlyStoppingConfig)
    trainer: TrainerConfig = field(default_factory=TrainerConfig)
    mlflow: MlflowConfig = field(default_factory=MlflowConfig)
    checkpoint_dir: str = "checkpoints"
    """Checkpoints go to <checkpoint_dir>/<experiment>/<MLflow run id>/."""
    ckpt_path: str | None = None
    """Resume: a .ckpt file, or "last" for the newest last.ckpt of this experiment's runs that no
    live process is training."""

    def __post_init__(self) -> None:
        """Rules that span sections."""
        check(0 <= self.seed <= MAX_SEED, "seed", f"an int in [0, {MAX_SEED}]", self.seed)
        no_val = not self.data.validates
        check(
            not (no_val and self.scheduler.name == "plateau"),
            "scheduler.name",
            "not plateau when data.val_size is 0 (plateau watches val/loss)",
            self.scheduler.name,
        )
        # A cosine shorter than the run would climb back up after its end.
        check(
            self.scheduler.epochs is None or self.scheduler.epochs >= self.trainer.max_epochs,
            "scheduler.epochs",
            f"null or an int >= trainer.max_epochs={self.trainer.max_epochs}",
            self.scheduler.epochs,
        )
        check(
            not (self.model.batch_norm and self.data.batch_size < 2),
            "data.batch_size",
            "an int >= 2 with model.batch_norm (batch statistics need two samples)",
            self.data.batch_size,
        )
        check(
            not (no_val and self.early_stopping.enabled),
            "early_stopping.enabled",
            "false when data.val_size is 0 (early stopping watches validation metrics)",
            self.early_stopping.enabled,
        )
        check(
            self.ckpt_path is None or bool(self.ckpt_path.strip()),
            "ckpt_path",
            'null, "last" or a .ckpt file',
            self.ckpt_path,
        )
        check(bool(self.checkpoint_dir.strip()), "checkpoint_dir", "a folder", self.checkpoint_dir)
