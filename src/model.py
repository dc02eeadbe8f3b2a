"""The MLP (a plain nn.Module) and the LightningModule that trains it."""

from __future__ import annotations

from collections.abc import Callable, Sequence

import lightning.pytorch as L
import torch
import torch.nn.functional as F
from torch import nn
from torchmetrics import MaxMetric, Metric
from torchmetrics.classification import (
    MulticlassAccuracy,
    MulticlassConfusionMatrix,
    MulticlassF1Score,
)

from src.config import OptimizerConfig, SchedulerConfig
from src.optim import build_optimizer, build_scheduler

ACTIVATIONS: dict[str, Callable[[], nn.Module]] = {
    "relu": nn.ReLU,
    "leaky_relu": nn.LeakyReLU,
    "elu": nn.ELU,
    "gelu": nn.GELU,
    "silu": nn.SiLU,
    "tanh": nn.Tanh,
    "sigmoid": nn.Sigmoid,
    "identity": nn.Identity,
}


def _one_hot(target: torch.Tensor, logits: torch.Tensor) -> torch.Tensor:
    return F.one_hot(target, logits.shape[-1]).to(logits.dtype)


def _mse(logits: torch.Tensor, target: torch.Tensor, _: float) -> torch.Tensor:
    return F.mse_loss(logits.softmax(-1), _one_hot(target, logits))


def _bce(logits: torch.Tensor, target: torch.Tensor, _: float) -> torch.Tensor:
    return F.binary_cross_entropy_with_logits(logits, _one_hot(target, logits))


# Each loss reads raw class scores (logits); predictions are their argmax for every loss.
LOSSES: dict[str, Callable[[torch.Tensor, torch.Tensor, float], torch.Tensor]] = {
    "cross_entropy": lambda z, y, smoothing: F.cross_entropy(z, y, label_smoothing=smoothing),
    "nll": lambda z, y, _: F.nll_loss(F.log_softmax(z, -1), y),
    "mse": _mse,
    "bce": _bce,
    "hinge": lambda z, y, _: F.multi_margin_loss(z, y),
}


class MLP(nn.Module):
    """Raw pixels in (0-255, any float or uint8 dtype, shape (n, 784)), class scores out.

    The input normalisation is part of the network so that a logged or exported model takes the
    same raw pixels as the data files, with no preprocessing code to ship beside it.
    """

    def __init__(
        self,
        in_features: int = 784,
        num_classes: int = 10,
        hidden_dims: Sequence[int] = (512, 256),
        activation: str = "relu",
        dropout: float = 0.0,
        input_dropout: float = 0.0,
        batch_norm: bool = False,
        pixel_mean: float = 0.0,
        pixel_std: float = 1.0,
    ) -> None:
        super().__init__()
        # x_normalised = (x / 255 - mean) / std, folded into one multiply-add.
        self.register_buffer("input_scale", torch.tensor(1.0 / (255.0 * pixel_std)))
        self.register_buffer("input_shift", torch.tensor(-pixel_mean / pixel_std))
        layers: list[nn.Module] = [nn.Dropout(input_dropout)] if input_dropout > 0 else []
        width = in_features
        for hidden in hidden_dims:
            layers.append(nn.Linear(width, hidden))
            if batch_norm:
                layers.append(nn.BatchNorm1d(hidden))
            layers.append(ACTIVATIONS[activation]())
            if dropout > 0:
                layers.append(nn.Dropout(dropout))
            width = hidden
        layers.append(nn.Linear(width, num_classes))
        self.layers = nn.Sequential(*layers)

    def forward(self, pixels: torch.Tensor) -> torch.Tensor:
        x = pixels.reshape(pixels.shape[0], -1).to(self.input_scale.dtype)
        return self.layers(torch.addcmul(self.input_shift, x, self.input_scale))

    def weight_matrices(self) -> list[torch.Tensor]:
        return [m.weight for m in self.layers if isinstance(m, nn.Linear)]


class WeightedMean(Metric):
    """Mean of per-batch values weighted by batch size, summed across DDP ranks.

    torchmetrics' MeanMetric checks each update for NaN with `if isnan(x).any()`, which reads a
    device value on the host: a GPU sync on every step. A NaN loss shows up in the mean anyway.
    """

    full_state_update = False

    def __init__(self) -> None:
        super().__init__()
        self.add_state("total", torch.tensor(0.0), dist_reduce_fx="sum")
        self.add_state("count", torch.tensor(0.0), dist_reduce_fx="sum")

    def update(self, value: torch.Tensor, weight: int) -> None:
        self.total += value * weight
        self.count += weight

    def compute(self) -> torch.Tensor:
        return self.total / self.count


class StageMetrics(nn.Module):
    """Loss and accuracy of one stage, accumulated on the device; with `detailed`, also macro F1
    and the confusion matrix (left out of training, where every step would pay for them)."""

    def __init__(self, num_classes: int, detailed: bool = True) -> None:
        super().__init__()
        # validate_args=False: the checks call torch.unique, a host sync on every update.
        self.loss = WeightedMean()
        self.acc = MulticlassAccuracy(num_classes, average="micro", validate_args=False)
        self.detailed = detailed
        if detailed:
            self.f1 = MulticlassF1Score(num_classes, average="macro", validate_args=False)
            self.confusion = MulticlassConfusionMatrix(num_classes, validate_args=False)

    def update(self, loss: torch.Tensor, preds: torch.Tensor, target: torch.Tensor) -> None:
        self.loss.update(loss, target.shape[0])
        self.acc.update(preds, target)
        if self.detailed:
            self.f1.update(preds, target)
            self.confusion.update(preds, target)

    def compute(self) -> dict[str, torch.Tensor]:
        values = {"loss": self.loss.compute(), "acc": self.acc.compute()}
        if self.detailed:
            values["f1"] = self.f1.compute()
        return values

    def reset(self) -> None:
        for metric in self.children():
            metric.reset()


class MLPClassifier(L.LightningModule):
    """Trains an MLP: chosen loss plus explicit L1/L2 penalties, max-norm, metrics per stage.

    Metrics are named `stage/metric` (`train/loss`, `val/acc`, `val/acc_best`, `test/f1`) and
    logged once per epoch: no per-step host synchronisation in the training loop.
    """

    def __init__(
        self,
        net: MLP,
        loss: str = "cross_entropy",
        label_smoothing: float = 0.0,
        l2_penalty: float = 0.0,
        l1_penalty: float = 0.0,
        max_norm: float | None = None,
        optimizer: OptimizerConfig | None = None,
        scheduler: SchedulerConfig | None = None,
        num_classes: int = 10,
    ) -> None:
        super().__init__()
        self.net = net
        self.loss_name = loss
        self.loss_fn = LOSSES[loss]
        self.label_smoothing = label_smoothing
        self.l2_penalty = l2_penalty
        self.l1_penalty = l1_penalty
        self.max_norm = max_norm
        self.optimizer_config = optimizer or OptimizerConfig()
        self.scheduler_config = scheduler or SchedulerConfig()
        self.train_metrics = StageMetrics(num_classes, detailed=False)
        self.val_metrics = StageMetrics(num_classes)
        self.test_metrics = StageMetrics(num_classes)
        self.val_acc_best = MaxMetric()
        self.val_acc_best.persistent(True)  # survives a resume from checkpoint
        self.last_confusion: dict[str, torch.Tensor] = {}
        # The resolved config, stored in checkpoints so that evaluation can rebuild the run.
        self.train_config: dict | None = None

    def forward(self, pixels: torch.Tensor) -> torch.Tensor:
        return self.net(pixels)

    def penalty(self) -> torch.Tensor | float:
        """lambda2 * sum ||W||^2 + lambda1 * sum |W| over weight matrices, biases excluded."""
        total: torch.Tensor | float = 0.0
        if self.l2_penalty > 0:
            total = total + self.l2_penalty * sum(
                w.square().sum() for w in self.net.weight_matrices()
            )
        if self.l1_penalty > 0:
            total = total + self.l1_penalty * sum(w.abs().sum() for w in self.net.weight_matrices())
        return total

    def model_step(self, batch: tuple[torch.Tensor, torch.Tensor], metrics: StageMetrics):
        pixels, target = batch
        logits = self(pixels)
        loss = self.loss_fn(logits.float(), target, self.label_smoothing)
        metrics.update(loss.detach(), logits.detach().argmax(-1), target)
        return loss

    def training_step(self, batch, batch_idx: int) -> torch.Tensor:
        return self.model_step(batch, self.train_metrics) + self.penalty()

    def validation_step(self, batch, batch_idx: int) -> None:
        self.model_step(batch, self.val_metrics)

    def test_step(self, batch, batch_idx: int) -> None:
        self.model_step(batch, self.test_metrics)

    def on_train_batch_end(self, outputs, batch, batch_idx: int) -> None:
        if self.max_norm is not None:
            with torch.no_grad():
                for weight in self.net.weight_matrices():
                    # Row i holds unit i's incoming weights; renorm caps each row's L2 norm.
                    weight.copy_(torch.renorm(weight, p=2, dim=0, maxnorm=self.max_norm))

    def _log_stage(self, stage: str, metrics: StageMetrics) -> dict[str, torch.Tensor]:
        values = {f"{stage}/{name}": value for name, value in metrics.compute().items()}
        if metrics.detailed:
            self.last_confusion[stage] = metrics.confusion.compute().cpu()
        metrics.reset()
        self.log_dict(values, sync_dist=False)  # torchmetrics already reduced across ranks
        return values

    def on_train_epoch_end(self) -> None:
        self._log_stage("train", self.train_metrics)
        self.log("train/lr", self.optimizers().param_groups[0]["lr"])

    def on_validation_epoch_end(self) -> None:
        if self.trainer.sanity_checking:
            self.val_metrics.reset()
            return
        values = self._log_stage("val", self.val_metrics)
        self.val_acc_best.update(values["val/acc"])
        self.log("val/acc_best", self.val_acc_best.compute())

    def on_test_epoch_end(self) -> None:
        self._log_stage("test", self.test_metrics)

    def configure_optimizers(self):
        optimizer = build_optimizer(self.parameters(), self.optimizer_config)
        scheduler = build_scheduler(
            optimizer,
            self.scheduler_config,
            self.trainer.max_epochs or 1,
            self.trainer.estimated_stepping_batches,
        )
        return (
            optimizer if scheduler is None else {"optimizer": optimizer, "lr_scheduler": scheduler}
        )

    def on_save_checkpoint(self, checkpoint: dict) -> None:
        checkpoint["train_config"] = self.train_config
        # Lightning saves no RNG state: without it a resumed run draws other dropout masks than
        # the uninterrupted run would have. (Data order is seeded per epoch in the DataModule.)
        checkpoint["rng_states"] = {
            "torch": torch.get_rng_state(),
            "cuda": torch.cuda.get_rng_state_all() if torch.cuda.is_available() else [],
        }

    def on_load_checkpoint(self, checkpoint: dict) -> None:
        states, trainer = checkpoint.get("rng_states"), self._trainer
        if states is None or trainer is None or trainer.state.fn != "fit":
            return  # an older checkpoint, or not resuming a fit: leave the RNG alone
        torch.set_rng_state(states["torch"])
        if states["cuda"] and torch.cuda.is_available():
            torch.cuda.set_rng_state_all(states["cuda"])
