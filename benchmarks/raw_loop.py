"""A hand-written PyTorch loop, as its own process: what `python -m src.train` is compared with.

The same network as the default config (784-512-256-10 ReLU, dropout 0.2, built-in pixel
normalisation), the same data (uint8 cache, the same 5,000-image validation split), Adam 1e-3
(fused, as the project's), a per-epoch cosine schedule, batch 128, reshuffled every epoch,
validation loss and accuracy every epoch, one test pass at the end, and one line printed per
epoch. No checkpoints, no logging, no progress bar: the floor a framework is measured against.

  python -m benchmarks.raw_loop --epochs 4   # --data-dir, --val-size: other data (the tests')
"""

from __future__ import annotations

import argparse
import time
from typing import NamedTuple

import torch
import torch.nn.functional as F

from src.data.sources import load_dataset
from src.models.mlp import MLP
from src.runtime.threads import configure_threads

BATCH_SIZE = 128
EVAL_BATCH = 2048  # validation and test run in chunks of this many images


def evaluate(net: torch.nn.Module, x: torch.Tensor, y: torch.Tensor) -> tuple[float, float]:
    net.eval()
    with torch.no_grad():
        logits = torch.cat([net(part) for part in x.split(EVAL_BATCH)])
    net.train()
    return float(F.cross_entropy(logits, y)), float((logits.argmax(1) == y).float().mean())


class Setup(NamedTuple):
    """The train, validation and test tensors, and a fresh network, as every floor uses them."""

    train: tuple[torch.Tensor, torch.Tensor]
    val: tuple[torch.Tensor, torch.Tensor]
    test: tuple[torch.Tensor, torch.Tensor]
    net: MLP


def setup(args: argparse.Namespace) -> Setup:
    """The default config's data split (`--val-size` validation images, 5,000 by default) and
    network, seeded."""
    torch.manual_seed(args.seed)
    data = load_dataset("mnist", args.data_dir)
    x, y = torch.from_numpy(data.train_x), torch.from_numpy(data.train_y)
    perm = torch.randperm(len(x), generator=torch.Generator().manual_seed(0))
    val, train = perm[: args.val_size], perm[args.val_size :]
    (tx, ty), (vx, vy) = (x[train], y[train]), (x[val], y[val])
    pixels = tx.double()
    net = MLP(pixel_mean=pixels.mean().item() / 255, pixel_std=pixels.std().item() / 255)
    test = (torch.from_numpy(data.test_x), torch.from_numpy(data.test_y))
    return Setup((tx, ty), (vx, vy), test, net)


def arguments(description: str) -> argparse.Namespace:
    """The command line of a floor process; sets torch's threads to this process's share."""
    parser = argparse.ArgumentParser(description=description.split("\n\n")[0])
    parser.add_argument("--epochs", type=int, default=1)
    parser.add_argument("--seed", type=int, default=42)
    parser.add_argument("--data-dir", default="data")
    parser.add_argument("--val-size", type=int, default=5000)
    args = parser.parse_args()
    configure_threads(1)
    return args


def main() -> None:
    args = arguments(__doc__)
    (tx, ty), (vx, vy), test_set, net = setup(args)
    optimizer = torch.optim.Adam(net.parameters(), lr=1e-3, fused=True)
    schedule = torch.optim.lr_scheduler.CosineAnnealingLR(optimizer, T_max=args.epochs)
    for epoch in range(args.epochs):
        started = time.perf_counter()
        order = torch.randperm(len(tx), generator=torch.Generator().manual_seed(args.seed + epoch))
        for first in range(0, len(order), BATCH_SIZE):
            idx = order[first : first + BATCH_SIZE]
            loss = F.cross_entropy(net(tx.index_select(0, idx)), ty.index_select(0, idx))
            optimizer.zero_grad(set_to_none=True)
            loss.backward()
            optimizer.step()
        schedule.step()
        val_loss, val_acc = evaluate(net, vx, vy)
        print(f"epoch {epoch + 1} val loss {val_loss:.6g} acc {val_acc:.4f}"
              f" {time.perf_counter() - started:.1f} s", flush=True)  # fmt: skip
    test = evaluate(net, *test_set)
    print(f"test loss {test[0]:.6g} acc {test[1]:.4f}")


if __name__ == "__main__":
    main()
