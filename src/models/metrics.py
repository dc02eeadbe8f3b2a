"""Per-stage metrics accumulated on the device: no host synchronisation in the training step."""

from __future__ import annotations

import torch
from torch import nn
from torchmetrics import Metric
from torchmetrics.classification import (
    MulticlassAccuracy,
    MulticlassConfusionMatrix,
    MulticlassF1Score,
)


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
