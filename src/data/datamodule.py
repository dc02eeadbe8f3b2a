"""The LightningDataModule: MNIST / Fashion-MNIST from memory as (uint8 pixels (B, 784), int64
labels (B,)) batches, optionally resident on the GPU.

Pixels stay uint8 and labels int64 all the way to the model; scaling is the model's job, so the
same model accepts raw pixels at inference time.
"""

from __future__ import annotations

import lightning.pytorch as L
import torch

from src.config.names import ValSplit, names_of
from src.config.train import DataConfig
from src.data.batches import TensorBatches
from src.data.dataset import CLASS_NAMES, EXPECTED_COUNTS, NUM_FEATURES, DatasetArrays, check_name
from src.data.folds import fold_split
from src.data.sources import load_dataset

SPLITS = names_of(ValSplit)  # how data.split holds out validation images
_DEFAULT = DataConfig()  # one default per setting: the config's


class MNISTDataModule(L.LightningDataModule):
    """Batches of (uint8 pixels (B, 784), int64 labels (B,)) from memory, optionally on the GPU."""

    def __init__(
        self,
        dataset: str = _DEFAULT.dataset,
        data_dir: str = _DEFAULT.data_dir,
        batch_size: int = _DEFAULT.batch_size,
        eval_batch_size: int = _DEFAULT.eval_batch_size,
        val_size: int = _DEFAULT.val_size,
        split: str = _DEFAULT.split,
        split_seed: int = _DEFAULT.split_seed,
        shuffle_seed: int = 0,
        device_resident: bool = _DEFAULT.device_resident,
        folds: int = _DEFAULT.folds,
        fold: int = _DEFAULT.fold,
    ) -> None:
        super().__init__()
        check_name(dataset)  # fail at config time, not after the trainer has started
        if not 0 <= val_size < EXPECTED_COUNTS[0]:
            raise ValueError(f"data.val_size must be in [0, {EXPECTED_COUNTS[0]}), got {val_size}")
        if split not in SPLITS:
            raise ValueError(f"data.split must be one of {', '.join(SPLITS)}, got {split!r}")
        self.save_hyperparameters()
        self.dataset, self.data_dir = dataset, data_dir
        self.batch_size, self.eval_batch_size = batch_size, eval_batch_size
        self._val_size, self.split, self.split_seed = val_size, split, split_seed
        self.shuffle_seed = shuffle_seed
        self.folds, self.fold = folds, fold  # folds > 0 replaces val_size and split
        self.device_resident = device_resident
        self._arrays: DatasetArrays | None = None
        self._splits: dict[str, tuple[torch.Tensor, torch.Tensor]] = {}

    def prepare_data(self) -> None:
        # Rank 0 only: may download and writes the cache. Keeping the result is harmless (every
        # rank ends up with identical data) and saves a reload in setup.
        self._arrays = load_dataset(self.dataset, self.data_dir)

    def setup(self, stage: str | None = None) -> None:
        if self._arrays is None:  # other ranks read what rank 0 cached; they never download
            self._arrays = load_dataset(self.dataset, self.data_dir, allow_download=False)
        a = self._arrays
        if not self.folds and self._val_size >= len(a.train_x):
            raise ValueError(f"data.val_size={self._val_size} leaves no training images")
        x, y = torch.from_numpy(a.train_x), torch.from_numpy(a.train_y)
        val, train = self._split_indices(a.train_y)
        device = self._device()
        self._splits = {
            "train": (x[train].to(device), y[train].to(device)),
            "val": (x[val].to(device), y[val].to(device)),
            "test": (torch.from_numpy(a.test_x).to(device), torch.from_numpy(a.test_y).to(device)),
        }

    def _split_indices(self, labels) -> tuple[torch.Tensor, torch.Tensor]:
        """(validation, training) indices into the official training set."""
        n = len(labels)
        if self.folds:
            val, train = fold_split(labels, self.folds, self.fold, self.split_seed)
            return torch.from_numpy(val), torch.from_numpy(train)
        if self.split == "last":
            # File order, no shuffling: with 10000 this is the valid part of mnist.pkl.gz (the
            # deeplearning.net 50,000/10,000 split), one block instead of a random sample.
            cut = n - self._val_size
            return torch.arange(cut, n), torch.arange(cut)
        perm = torch.randperm(n, generator=torch.Generator().manual_seed(self.split_seed))
        return perm[: self._val_size], perm[self._val_size :]

    def _device(self) -> torch.device:
        # Moving the whole dataset once beats a host-to-device copy per batch.
        t = self.trainer
        if self.device_resident and t is not None and t.strategy.root_device.type == "cuda":
            return t.strategy.root_device
        return torch.device("cpu")

    def _rank_world(self) -> tuple[int, int]:
        t = self.trainer
        return (t.global_rank, t.world_size) if t is not None else (0, 1)

    def _epoch_seed(self) -> int:
        # Read at __iter__ time: a run resumed at epoch k replays epoch k's order.
        return self.shuffle_seed + (self.trainer.current_epoch if self.trainer is not None else 0)

    def _loader(self, split: str, batch_size: int, shuffle: bool) -> TensorBatches:
        if not self._splits:
            raise RuntimeError("call setup() before asking for dataloaders")
        rank, world = self._rank_world()
        x, y = self._splits[split]
        seed_fn = self._epoch_seed if shuffle else None
        return TensorBatches(x, y, batch_size, shuffle, seed_fn, rank, world)

    def train_dataloader(self) -> TensorBatches:
        return self._loader("train", self.batch_size, shuffle=True)

    def val_dataloader(self) -> TensorBatches | list:
        if self.val_size == 0:
            return []  # Lightning skips validation
        return self._loader("val", self.eval_batch_size, shuffle=False)

    def test_dataloader(self) -> TensorBatches:
        return self._loader("test", self.eval_batch_size, shuffle=False)

    @property
    def num_classes(self) -> int:
        return 10

    @property
    def num_features(self) -> int:
        return NUM_FEATURES

    @property
    def class_names(self) -> tuple[str, ...]:
        return CLASS_NAMES[self.dataset]

    @property
    def arrays(self) -> DatasetArrays:
        if self._arrays is None:
            raise RuntimeError("call prepare_data() or setup() first")
        return self._arrays

    @property
    def val_size(self) -> int:
        if not self.folds:
            return self._val_size
        total = len(self._arrays.train_x) if self._arrays is not None else EXPECTED_COUNTS[0]
        return len(range(self.fold, total, self.folds))  # folds' sizes as fold_split deals them

    @property
    def train_size(self) -> int:
        total = len(self._arrays.train_x) if self._arrays is not None else EXPECTED_COUNTS[0]
        return total - self.val_size
