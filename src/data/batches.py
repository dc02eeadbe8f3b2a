"""Batches sliced out of in-memory tensors: no per-sample __getitem__, no collation."""

from __future__ import annotations

import math
from collections.abc import Callable, Iterator

import torch


class TensorBatches:
    """Batches sliced out of in-memory tensors: no per-sample __getitem__, no collation.

    Lightning accepts any sized iterable as a dataloader. With shuffle, every rank draws the same
    permutation (seed_fn() is read at each __iter__, i.e. each epoch) and takes an equal share, so
    all ranks run the same number of steps. Without shuffle, rank takes rank::world_size: no
    padding and no duplicates, so metrics summed over ranks count every sample once.
    """

    def __init__(
        self,
        x: torch.Tensor,
        y: torch.Tensor,
        batch_size: int,
        shuffle: bool = False,
        seed_fn: Callable[[], int] | None = None,
        rank: int = 0,
        world_size: int = 1,
    ) -> None:
        if shuffle and seed_fn is None:
            raise ValueError("shuffle needs a seed_fn")
        if not 0 <= rank < world_size or batch_size < 1:
            raise ValueError(f"bad rank/world_size/batch_size {rank}/{world_size}/{batch_size}")
        self.x, self.y, self.batch_size, self.shuffle = x, y, batch_size, shuffle
        self.seed_fn, self.rank, self.world_size = seed_fn, rank, world_size

    def _num_indices(self) -> int:
        n = len(self.x)
        return n // self.world_size if self.shuffle else len(range(self.rank, n, self.world_size))

    def _drops_lone_sample(self, n: int) -> bool:
        # A last training batch of one sample breaks BatchNorm (and is a noisy step anyway).
        return self.shuffle and n > 1 and n % self.batch_size == 1

    def __len__(self) -> int:
        n = self._num_indices()
        return math.ceil((n - self._drops_lone_sample(n)) / self.batch_size)

    def __iter__(self) -> Iterator[tuple[torch.Tensor, torch.Tensor]]:
        n = len(self.x)
        if self.shuffle:
            assert self.seed_fn is not None
            # CPU generator: the same order on every device type and every rank.
            gen = torch.Generator().manual_seed(self.seed_fn())
            order = torch.randperm(n, generator=gen)[: n - n % self.world_size]
        else:
            order = torch.arange(n)
        order = order[self.rank :: self.world_size].to(self.x.device)
        if self._drops_lone_sample(len(order)):
            order = order[:-1]
        for start in range(0, len(order), self.batch_size):
            idx = order[start : start + self.batch_size]
            yield self.x.index_select(0, idx), self.y.index_select(0, idx)
