"""TensorBatches under DDP: each rank a shard; validation seen once, equal training steps."""

from __future__ import annotations

import torch

from src.data.batches import TensorBatches


def test_ddp_sharding_covers_val_once_and_equalises_train_steps() -> None:
    n, world = 103, 4
    x = torch.arange(n).unsqueeze(1)
    y = torch.arange(n)
    val_seen = []
    train_lens = []
    for rank in range(world):
        val = TensorBatches(x, y, 10, rank=rank, world_size=world)
        val_seen += [i for _, b in val for i in b.tolist()]
        train = TensorBatches(
            x, y, 10, shuffle=True, seed_fn=lambda: 3, rank=rank, world_size=world
        )
        assert len(list(train)) == len(train)
        train_lens.append((len(train), sum(len(b) for _, b in train)))
    assert sorted(val_seen) == list(range(n))
    assert train_lens == [(3, n // world)] * world
