"""The LightningModule that trains an MLP: one model_step for every stage, metrics per stage."""

from __future__ import annotations

from collections.abc import Callable, Iterable

import lightning.pytorch as L
import torch
from torchmetrics import MaxMetric

from src.models.losses import LossFn, cross_entropy
from src.models.metrics import StageMetrics
from src.models.mlp import MLP

OptimizerFactory = Callable[[Iterable[torch.nn.Parameter]], torch.optim.Optimizer]
SchedulerFactory = Callable[..., dict | None]


class MLPClassifier(L.LightningModule):
    """Trains an MLP: chosen loss plus explicit L1/L2 penalties, max-norm, metrics per stage.

    Metrics are named `stage/metric` (`train/loss`, `val/acc`, `val/acc_best`, `test/f1`) and
    logged once per epoch: no per-step host synchronisation in the training loop.
    """

    def __init__(
        self,
        net: MLP,
        loss: LossFn = cross_entropy,
        l2_penalty: float = 0.0,
        l1_penalty: float = 0.0,
        max_norm: float | None = None,
        optimizer: OptimizerFactory | None = None,
        scheduler: SchedulerFactory | None = None,
        num_classes: int = 10,
    ) -> None:
        """`loss(logits, target)`; `optimizer(parameters)`; `scheduler(optimizer, max_epochs=,
        total_steps=)` returns a Lightning lr_scheduler dict or None. Defaults: Adam, no
        schedule. src/training/build.py makes them from the config (models/optim.py)."""
        super().__init__()
        self.net = net
        self.loss_fn = loss
        self.l2_penalty = l2_penalty
        self.l1_penalty = l1_penalty
        self.max_norm = max_norm
        self.make_optimizer = optimizer or torch.optim.Adam
        self.make_scheduler = scheduler
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
        loss = self.loss_fn(logits.float(), target)
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
        optimizer = self.make_optimizer(self.parameters())
        scheduler = None
        if self.make_scheduler is not None:
            scheduler = self.make_scheduler(
                optimizer,
                max_epochs=self.trainer.max_epochs or 1,
                total_steps=self.trainer.estimated_stepping_batches,
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
