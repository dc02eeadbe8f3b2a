"""Lightning's own loop, as its own process: the raw loop's work (benchmarks/raw_loop.py) written as
the smallest LightningModule and Trainer, with everything the Trainer lets one switch off switched
off (logger, checkpoints, progress bar, model summary, sanity check).

It splits the default command's per-epoch cost over the raw loop in two: what Lightning's loop
costs by itself (its hooks, closures and progress tracking around every step), and what the
project adds on top (its callbacks, metrics, checkpoints, MLflow writes and epoch log). The same
network, data split, fused Adam, per-epoch cosine schedule, batch 128, shuffling, validation
every epoch and test pass as the raw loop; the batches are the project's `TensorBatches` (slices
of the in-memory tensors, as the raw loop's `index_select`); the libraries import as the
commands import them (`importing_libraries`). One line printed per epoch.

  python -m benchmarks.lightning_loop --epochs 4
"""

from __future__ import annotations

import time

from src.runtime.process import importing_libraries

with importing_libraries():
    import lightning.pytorch as L
    import torch
    import torch.nn.functional as F

    from benchmarks.raw_loop import BATCH_SIZE, EVAL_BATCH, arguments, setup
    from src.data.batches import TensorBatches


class Floor(L.LightningModule):
    """The raw loop's step, validation and schedule, and nothing else."""

    def __init__(self, net: torch.nn.Module, epochs: int) -> None:
        super().__init__()
        self.net, self.epochs = net, epochs
        self.sums = torch.zeros(3)  # loss sum, correct, seen: this stage's
        self.started = 0.0
        self.val_line = ""

    def training_step(self, batch, batch_idx: int) -> torch.Tensor:
        pixels, target = batch
        return F.cross_entropy(self.net(pixels), target)

    def _eval_step(self, batch) -> None:
        pixels, target = batch
        logits = self.net(pixels)
        loss = F.cross_entropy(logits, target, reduction="sum")
        correct = (logits.argmax(1) == target).sum()
        self.sums += torch.stack([loss, correct.float(), torch.tensor(float(len(target)))])

    def validation_step(self, batch, batch_idx: int) -> None:
        self._eval_step(batch)

    def test_step(self, batch, batch_idx: int) -> None:
        self._eval_step(batch)

    def _take_sums(self) -> str:
        loss, correct, seen = self.sums.tolist()
        self.sums.zero_()
        return f"loss {loss / seen:.6g} acc {correct / seen:.4f}"

    def on_train_epoch_start(self) -> None:
        self.started = time.perf_counter()

    def on_validation_epoch_end(self) -> None:
        self.val_line = self._take_sums()

    def on_train_epoch_end(self) -> None:
        # Lightning validates inside the training epoch, before this hook: the raw loop's order.
        print(f"epoch {self.current_epoch + 1} val {self.val_line}"
              f" {time.perf_counter() - self.started:.1f} s", flush=True)  # fmt: skip

    def on_test_epoch_end(self) -> None:
        print(f"test {self._take_sums()}")

    def configure_optimizers(self):
        optimizer = torch.optim.Adam(self.parameters(), lr=1e-3, fused=True)
        schedule = torch.optim.lr_scheduler.CosineAnnealingLR(optimizer, T_max=self.epochs)
        return {"optimizer": optimizer, "lr_scheduler": schedule}


def main() -> None:
    args = arguments(__doc__)
    train, val, test, net = setup(args)
    trainer = L.Trainer(
        max_epochs=args.epochs, accelerator="cpu", devices=1, logger=False,
        enable_checkpointing=False, enable_progress_bar=False, enable_model_summary=False,
        num_sanity_val_steps=0,
    )  # fmt: skip
    module = Floor(net, args.epochs)
    shuffled = TensorBatches(
        *train, BATCH_SIZE, shuffle=True, seed_fn=lambda: args.seed + trainer.current_epoch
    )
    trainer.fit(module, shuffled, TensorBatches(*val, EVAL_BATCH))
    trainer.test(module, TensorBatches(*test, EVAL_BATCH), verbose=False)


if __name__ == "__main__":
    main()
