"""Callbacks the training config adds to the Trainer beyond Lightning's own: the EMA of the
weights (`optimizer.ema_decay`) and SIGTERM handling under DDP."""

from __future__ import annotations

import itertools

import torch
from lightning.pytorch.callbacks import Callback, EMAWeightAveraging
from lightning.pytorch.trainer.states import TrainerFn

from src.runtime.signals import take_over_sigterm_under_ddp


class EMAWeights(EMAWeightAveraging):
    """EMA of the weights (`optimizer.ema_decay`); checkpoints hold the average as state_dict.

    Two changes to Lightning's callback:
    - Lightning also restores callbacks when testing from a checkpoint, and the stock callback
      then reloads the raw (non-averaged) weights after fit: test must score the average it
      validated.
    - The stock update (torch's AveragedModel.update_parameters) tests `n_averaged == 0` and
      `> 0` in Python on every step, two GPU syncs a step, then runs several ops per tensor.
      Here one foreach lerp updates every tensor and a Python flag remembers the first update.
    """

    def __init__(self, decay: float) -> None:
        super().__init__(decay=decay)
        self.decay = decay
        self._has_average = False  # n_averaged > 0, kept on the host

    def on_train_batch_end(self, trainer, pl_module, outputs, batch, batch_idx: int) -> None:
        step_idx = trainer.global_step - 1  # as the stock callback counts
        if trainer.global_step > self._latest_update_step and self.should_update(step_idx=step_idx):
            self._update_average(pl_module)
            self._latest_update_step = trainer.global_step

    @torch.no_grad()
    def _update_average(self, pl_module) -> None:
        average = self._average_model
        assert average is not None
        # The same tensors, in the same order, as AveragedModel with use_buffers=True.
        pairs = zip(
            itertools.chain(average.module.parameters(), average.module.buffers()),
            itertools.chain(pl_module.parameters(), pl_module.buffers()),
            strict=True,
        )
        floats, others = [], []
        for mine, current in pairs:
            (floats if mine.is_floating_point() else others).append((mine, current.detach()))
        if self._has_average and floats:
            mine, current = zip(*floats, strict=True)
            torch._foreach_lerp_(list(mine), list(current), 1.0 - self.decay)
        else:
            others = others + floats  # the first update copies, as AveragedModel does
        for mine, current in others:
            mine.copy_(current)
        average.n_averaged += 1
        self._has_average = True

    def on_load_checkpoint(self, trainer, pl_module, checkpoint) -> None:
        if trainer.state.fn == TrainerFn.FITTING:
            super().on_load_checkpoint(trainer, pl_module, checkpoint)
            if self._average_model is not None:  # once per resume, not per step
                self._has_average = bool(self._average_model.n_averaged > 0)


class DDPSignals(Callback):
    """Under DDP, SIGTERM stops every rank the way Ctrl-C does (src/runtime/signals.py)."""

    def on_sanity_check_start(self, trainer, pl_module) -> None:
        take_over_sigterm_under_ddp()

    def on_train_start(self, trainer, pl_module) -> None:
        take_over_sigterm_under_ddp()

    def on_test_start(self, trainer, pl_module) -> None:
        take_over_sigterm_under_ddp()
