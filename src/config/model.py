"""The model sections of the training config: the MLP and its penalties, the optimizer, the
learning-rate schedule. Key by key, what src/models/ builds."""

from __future__ import annotations

from dataclasses import dataclass, field

from src.config.checks import check, finite
from src.config.names import Activation, Loss, OptimizerName, SchedulerName


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
            check(
                isinstance(width, int) and width > 0, f"model.hidden_dims[{i}]", "an int > 0", width
            )
        for key in ("dropout", "input_dropout", "label_smoothing"):
            value = getattr(self, key)
            check(finite(value) and 0 <= value < 1, f"model.{key}", "a number in [0, 1)", value)
        for key in ("l2_penalty", "l1_penalty"):
            value = getattr(self, key)
            check(finite(value) and value >= 0, f"model.{key}", "a number >= 0", value)
        check(
            self.label_smoothing == 0 or self.loss == "cross_entropy",
            "model.label_smoothing",
            f"0 with model.loss={self.loss} (smoothing applies to cross_entropy only)",
            self.label_smoothing,
        )
        if self.max_norm is not None:
            check(
                finite(self.max_norm) and self.max_norm > 0,
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
        check(finite(self.lr) and self.lr > 0, "optimizer.lr", "a number > 0", self.lr)
        check(
            self.ema_decay is None or (finite(self.ema_decay) and 0 < self.ema_decay < 1),
            "optimizer.ema_decay",
            "null or a number in (0, 1)",
            self.ema_decay,
        )
        check(
            finite(self.weight_decay) and self.weight_decay >= 0,
            "optimizer.weight_decay",
            "a number >= 0",
            self.weight_decay,
        )
        check(
            finite(self.momentum) and 0 <= self.momentum < 1,
            "optimizer.momentum",
            "a number in [0, 1)",
            self.momentum,
        )
        check(
            not self.nesterov or (self.name == "sgd" and self.momentum > 0),
            "optimizer.nesterov",
            "true only with name sgd and momentum > 0",
            self.nesterov,
        )
        self.betas = tuple(self.betas)
        check(
            all(finite(b) and 0 <= b < 1 for b in self.betas),
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
        check(self.step_size > 0, "scheduler.step_size", "an int > 0", self.step_size)
        check(
            self.epochs is None or self.epochs > 0,
            "scheduler.epochs",
            "null or an int > 0",
            self.epochs,
        )
        for key in ("gamma", "factor"):
            value = getattr(self, key)
            check(finite(value) and 0 < value < 1, f"scheduler.{key}", "a number in (0, 1)", value)
        check(
            finite(self.min_lr) and self.min_lr >= 0,
            "scheduler.min_lr",
            "a number >= 0",
            self.min_lr,
        )
        check(
            finite(self.max_lr_factor) and self.max_lr_factor >= 1,
            "scheduler.max_lr_factor",
            "a number >= 1",
            self.max_lr_factor,
        )
        check(
            finite(self.pct_start) and 0 < self.pct_start < 1,
            "scheduler.pct_start",
            "a number in (0, 1)",
            self.pct_start,
        )
        check(self.patience >= 0, "scheduler.patience", "an int >= 0", self.patience)
