"""What a dataset is here: its names, class names and sizes, the arrays every source yields,
and the errors of data loading (one line each, for the command line)."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from src.config.names import DatasetName, names_of

DATASETS = names_of(DatasetName)
EXPECTED_COUNTS = (60000, 10000)  # (train, test); enforced on sources, not on the cache
CLASS_NAMES = {
    "mnist": tuple(str(d) for d in range(10)),
    "fashion_mnist": (
        "T-shirt/top", "Trouser", "Pullover", "Dress", "Coat",
        "Sandal", "Shirt", "Sneaker", "Bag", "Ankle boot",
    ),
}  # fmt: skip
NUM_FEATURES = 28 * 28
NUM_FEATURES = 28 * 28


class DataSourceError(Exception):
    """Data missing, corrupt or unreachable; the message is a single line for a CLI error."""

    def __init__(self, message: str) -> None:
        super().__init__(" ".join(message.splitlines()))


class DataNotFoundError(DataSourceError):
    """No source had the data (as opposed to a source that has bad data)."""


class Unavailable(Exception):
    """This source is not there; try the next one (bad data raises DataSourceError instead)."""


@dataclass(frozen=True, eq=False)
class DatasetArrays:
    train_x: np.ndarray  # uint8 (n, 784)
    train_y: np.ndarray  # int64 (n,)
    test_x: np.ndarray
    test_y: np.ndarray
    source: str  # where the data came from, for humans
    digest: str  # sha256 of the arrays; the MLflow dataset digest


def check_name(name: str) -> None:
    if name not in DATASETS:
        raise DataSourceError(f"data.dataset must be one of {', '.join(DATASETS)}; got {name!r}")
