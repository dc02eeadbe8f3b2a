"""Loading a model: one source is needed; a checkpoint is read without unpickling code."""

from __future__ import annotations

from pathlib import Path

import numpy as np

from src import predict
from tests.helpers import run_in_process


def test_predict_needs_a_model_source(tmp_path, capsys) -> None:
    np.save(tmp_path / "x.npy", np.zeros((1, 784)))
    code, _, err = run_in_process(predict.main, [str(tmp_path / "x.npy")], capsys)
    assert code == 2 and "give exactly one of" in err


def test_checkpoint_loading_needs_no_pickle(registered) -> None:
    """weights_only=True: the checkpoint is read as tensors and plain containers."""
    import torch

    checkpoint = torch.load(Path(registered["good"].best_checkpoint), weights_only=True)
    assert checkpoint["train_config"]["model"]["hidden_dims"] == [32]
