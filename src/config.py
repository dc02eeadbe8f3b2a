"""The training configuration: one schema, derived from the type hints below.

jsonargparse turns these dataclasses into `--config FILE`, dotted overrides
(`--model.activation tanh`) and `--print_config`. The module imports no torch or Lightning, so
`python -m src.train --help` and config validation stay fast.
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass, field
from typing import Literal

Activation = Literal["relu", "leaky_relu", "elu", "gelu", "silu", "tanh", "sigmoid", "identity"]
Loss = Literal["cross_entropy", "nll", "mse", "bce", "hinge"]
OptimizerName = Literal["sgd", "adam", "adamw", "rmsprop"]
SchedulerName = Literal["none", "cosine", "step", "onecycle", "plateau"]
ValSplit = Literal["random", "last"]
DatasetName = Literal["mnist", "fashion_mnist"]
Precision = Literal[
    "32", "32-true", "64", "64-true", "16-mixed", "bf16-mixed", "bf16-true", "16-true"
]


# What early stopping can watch (validation metrics, logged before it checks) and their modes.
EARLY_STOPPING_MODES = {"val/acc": "max", "val/f1": "max", "val/acc_best": "max", "val/loss": "min"}
MAX_SEED = 2**32 - 1  # numpy's and Lightning's seed range
_MAX_TIME = re.compile(r"\d+:\d{1,2}:\d{1,2}:\d{1,2}")


class ConfigError(ValueError):
    """A config value outside what is allowed; the message names the key."""


def _check(condition: bool, key: str, allowed: str, value: object) -> None:
    if not condition:
        raise ConfigError(f"{key}={value!r} is not allowed: expected {allowed}")


def _finite(value: float) -> bool:
    return isinstance(value, int | float) and math.isfinite(value)


@dataclass
class ModelConfig:
    """The MLP and what is added to its loss."""

    hidden_dims: list[int] = field(default_factory=lambda: [512, 256])
    """Widths of the hidden layers; [] is a linear model (logistic or linear regression)."""
    activation: Activation = "relu"
    """Nonlinearity after each hidden layer; identity makes the whole MLP linear."""
    dropout: float = 0.2
    """Dropout probability after each hidden activation."""
    input_dropout: float = 0.0
    """Dropout probability on the input pixels."""
    batch_norm: bool = False
    """BatchNorm1d after each hidden linear layer."""
    loss: Loss = "cross_entropy"
    """Loss on the logits: cross_entropy, nll, mse or bce (on one-hot targets), hinge (margin)."""
    label_smoothing: float = 0.0
    """Only for cross_entropy."""
    l2_penalty: float = 0.0
    """lambda in lambda * sum ||W||^2 over weight matrices (biases excluded), added to the loss."""
    l1_penalty: float = 0.0
    """lambda in lambda * sum |W| over weight matrices, added to the loss."""
    max_norm: float | None = None
    """Max L2 norm of each unit's incoming weights, enforced after every step; null = off."""
    compile: bool = False
    """torch.compile the network. Opt-in: on CPU it costs ~30 s per process and gave no speed-up."""

    def __post_init__(self) -> None:
        for i, width in enumerate(self.hidden_dims):
            _check(
                isinstance(width, int) and width > 0, f"model.hidden_dims[{i}]", "an int > 0", width
            )
        for key in ("dropout", "input_dropout", "label_smoothing"):
            value = getattr(self, key)
            _check(_finite(value) and 0 <= value < 1, f"model.{key}", "a number in [0, 1)", value)
        for key in ("l2_penalty", "l1_penalty"):
            value = getattr(self, key)
            _check(_finite(value) and value >= 0, f"model.{key}", "a number >= 0", value)
        _check(
            self.label_smoothing == 0 or self.loss == "cross_entropy",
            "model.label_smoothing",
            f"0 with model.loss={self.loss} (smoothing applies to cross_entropy only)",
            self.label_smoothing,
        )
        if self.max_norm is not None:
            _check(
                _finite(self.max_norm) and self.max_norm > 0,
                "model.max_norm",
                "null or a number > 0",
                self.max_norm,
            )


@dataclass
class OptimizerConfig:
    name: OptimizerName = "adam"
    """Optimizer: sgd (with momentum/nesterov), adam, adamw (decoupled weight decay) or rmsprop."""
    lr: float = 1e-3
    """Learning rate (the starting or peak rate when a scheduler is set)."""
    weight_decay: float = 0.0
    """Decoupled (adamw) or coupled (others) weight decay, separate from model.l2_penalty."""
    momentum: float = 0.9
    """sgd and rmsprop only."""
    nesterov: bool = False
    """sgd only."""
    betas: tuple[float, float] = (0.9, 0.999)
    """adam and adamw only."""
    ema_decay: float | None = None
    """Exponential moving average of the weights, updated every step (e.g. 0.999); validation,
    checkpoints, test and the logged model use the average. null = off."""

    def __post_init__(self) -> None:
        _check(_finite(self.lr) and self.lr > 0, "optimizer.lr", "a number > 0", self.lr)
        _check(
            self.ema_decay is None or (_finite(self.ema_decay) and 0 < self.ema_decay < 1),
            "optimizer.ema_decay",
            "null or a number in (0, 1)",
            self.ema_decay,
        )
        _check(
            _finite(self.weight_decay) and self.weight_decay >= 0,
            "optimizer.weight_decay",
            "a number >= 0",
            self.weight_decay,
        )
        _check(
            _finite(self.momentum) and 0 <= self.momentum < 1,
            "optimizer.momentum",
            "a number in [0, 1)",
            self.momentum,
        )
        _check(
            not self.nesterov or (self.name == "sgd" and self.momentum > 0),
            "optimizer.nesterov",
            "true only with name sgd and momentum > 0",
            self.nesterov,
        )
        self.betas = tuple(self.betas)
        _check(
            all(_finite(b) and 0 <= b < 1 for b in self.betas),
            "optimizer.betas",
            "two numbers in [0, 1)",
            list(self.betas),
        )


@dataclass
class SchedulerConfig:
    """Learning-rate schedule; stepped per epoch except onecycle (per batch)."""

    name: SchedulerName = "cosine"
    """none keeps optimizer.lr constant; see the keys below for what each schedule reads."""
    step_size: int = 10
    """step: epochs between decays."""
    gamma: float = 0.1
    """step: decay factor."""
    min_lr: float = 0.0
    """cosine: final learning rate; plateau: lower bound."""
    epochs: int | None = None
    """cosine: length of the curve in epochs (null: trainer.max_epochs). Longer than
    trainer.max_epochs stops partway down it, e.g. to refit on all training images for the epochs
    validation chose: `--data.val_size 0 --trainer.max_epochs 61 --scheduler.epochs 100`."""
    max_lr_factor: float = 10.0
    """onecycle: peak learning rate = optimizer.lr * max_lr_factor."""
    pct_start: float = 0.3
    """onecycle: fraction of the steps spent warming up."""
    factor: float = 0.5
    """plateau: decay factor."""
    patience: int = 2
    """plateau: epochs without improvement of val/loss before decaying."""

    def __post_init__(self) -> None:
        _check(self.step_size > 0, "scheduler.step_size", "an int > 0", self.step_size)
        _check(
            self.epochs is None or self.epochs > 0,
            "scheduler.epochs",
            "null or an int > 0",
            self.epochs,
        )
        for key in ("gamma", "factor"):
            value = getattr(self, key)
            _check(
                _finite(value) and 0 < value < 1, f"scheduler.{key}", "a number in (0, 1)", value
            )
        _check(
            _finite(self.min_lr) and self.min_lr >= 0,
            "scheduler.min_lr",
            "a number >= 0",
            self.min_lr,
        )
        _check(
            _finite(self.max_lr_factor) and self.max_lr_factor >= 1,
            "scheduler.max_lr_factor",
            "a number >= 1",
            self.max_lr_factor,
        )
        _check(
            _finite(self.pct_start) and 0 < self.pct_start < 1,
            "scheduler.pct_start",
            "a number in (0, 1)",
            self.pct_start,
        )
        _check(self.patience >= 0, "scheduler.patience", "an int >= 0", self.patience)


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

    def __post_init__(self) -> None:
        _check(self.batch_size > 0, "data.batch_size", "an int > 0", self.batch_size)
        _check(self.eval_batch_size > 0, "data.eval_batch_size", "an int > 0", self.eval_batch_size)
        _check(0 <= self.val_size < 60000, "data.val_size", "an int in [0, 60000)", self.val_size)


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
        _check(self.patience >= 0, "early_stopping.patience", "an int >= 0", self.patience)
        _check(
            _finite(self.min_delta) and self.min_delta >= 0,
            "early_stopping.min_delta",
            "a number >= 0",
            self.min_delta,
        )
        _check(
            self.monitor in EARLY_STOPPING_MODES,
            "early_stopping.monitor",
            f"one of {', '.join(EARLY_STOPPING_MODES)}",
            self.monitor,
        )
        _check(
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
    enable_progress_bar: bool = True
    """Live loss/accuracy bar; false = quiet mode (no bar, no info lines) for CI and logs."""

    def __post_init__(self) -> None:
        _check(self.max_epochs > 0, "trainer.max_epochs", "an int > 0", self.max_epochs)
        _check(self.num_nodes > 0, "trainer.num_nodes", "an int > 0", self.num_nodes)
        _check(
            self.accumulate_grad_batches > 0,
            "trainer.accumulate_grad_batches",
            "an int > 0",
            self.accumulate_grad_batches,
        )
        _check(
            self.check_val_every_n_epoch > 0,
            "trainer.check_val_every_n_epoch",
            "an int > 0",
            self.check_val_every_n_epoch,
        )
        _check(
            self.devices == "auto" or (isinstance(self.devices, int) and self.devices > 0),
            "trainer.devices",
            '"auto" or an int > 0',
            self.devices,
        )
        if self.gradient_clip_val is not None:
            _check(
                _finite(self.gradient_clip_val) and self.gradient_clip_val > 0,
                "trainer.gradient_clip_val",
                "null or a number > 0",
                self.gradient_clip_val,
            )
        if self.min_epochs is not None:
            _check(
                0 <= self.min_epochs <= self.max_epochs,
                "trainer.min_epochs",
                f"null or an int in [0, trainer.max_epochs={self.max_epochs}]",
                self.min_epochs,
            )
        if self.max_time is not None:
            _check(
                bool(_MAX_TIME.fullmatch(self.max_time)),
                "trainer.max_time",
                'null or "DD:HH:MM:SS"',
                self.max_time,
            )
        for key in ("limit_train_batches", "limit_val_batches"):
            value = getattr(self, key)
            _check(
                value is None
                or (isinstance(value, int) and value >= 0)
                or (isinstance(value, float) and 0 <= value <= 1),
                f"trainer.{key}",
                "null, a fraction in [0.0, 1.0] or a number of batches >= 0",
                value,
            )


@dataclass
class MlflowConfig:
    experiment_name: str = "mnist-mlp"
    """MLflow experiment the run is logged under (created on first use)."""
    run_name: str | None = None
    """Name shown in the MLflow UI; null = a random name."""
    tracking_uri: str | None = None
    """Default: $MLFLOW_TRACKING_URI, else sqlite:///mlruns/mlflow.db."""
    log_model: bool = True
    """Log the trained network with mlflow.pytorch.log_model (servable, predicts raw pixels)."""
    register_model: str | None = None
    """Register the logged model under this name and point the `champion` alias at it."""

    def __post_init__(self) -> None:
        _check(
            bool(self.experiment_name.strip()),
            "mlflow.experiment_name",
            "a non-empty name",
            self.experiment_name,
        )
        _check(
            self.register_model is None or self.log_model,
            "mlflow.register_model",
            "null when mlflow.log_model is false (only a logged model can be registered)",
            self.register_model,
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
    """Checkpoints go to <checkpoint_dir>/<experiment>/<run name>/."""
    ckpt_path: str | None = None
    """Resume: a .ckpt file, or "last" for the newest last.ckpt of this run name."""

    def __post_init__(self) -> None:
        """Rules that span sections."""
        _check(0 <= self.seed <= MAX_SEED, "seed", f"an int in [0, {MAX_SEED}]", self.seed)
        no_val = self.data.val_size == 0
        _check(
            not (no_val and self.scheduler.name == "plateau"),
            "scheduler.name",
            "not plateau when data.val_size is 0 (plateau watches val/loss)",
            self.scheduler.name,
        )
        # A cosine shorter than the run would climb back up after its end.
        _check(
            self.scheduler.epochs is None or self.scheduler.epochs >= self.trainer.max_epochs,
            "scheduler.epochs",
            f"null or an int >= trainer.max_epochs={self.trainer.max_epochs}",
            self.scheduler.epochs,
        )
        _check(
            not (self.model.batch_norm and self.data.batch_size < 2),
            "data.batch_size",
            "an int >= 2 with model.batch_norm (batch statistics need two samples)",
            self.data.batch_size,
        )
        _check(
            not (no_val and self.early_stopping.enabled),
            "early_stopping.enabled",
            "false when data.val_size is 0 (early stopping watches validation metrics)",
            self.early_stopping.enabled,
        )
        _check(
            self.ckpt_path is None or bool(self.ckpt_path.strip()),
            "ckpt_path",
            'null, "last" or a .ckpt file',
            self.ckpt_path,
        )
        _check(bool(self.checkpoint_dir.strip()), "checkpoint_dir", "a folder", self.checkpoint_dir)
