"""The EMA of the weights (`optimizer.ema_decay`): checkpointed, tested, and restored on resume."""

from __future__ import annotations

import pytest

from tests.helpers import train_tiny


def test_ema_average_is_what_is_checkpointed_and_tested(tiny_data_dir, tmp_path, tracking_env):
    import torch

    from src.inference.evaluation import evaluate
    from src.inference.loading import load_model

    result = train_tiny(tiny_data_dir, tmp_path, "ema", "--optimizer.ema_decay=0.9")
    checkpoint = torch.load(result.best_checkpoint, map_location="cpu", weights_only=True)
    average, raw = checkpoint["state_dict"], checkpoint["current_model_state"]
    assert any(not torch.equal(average[key], raw[key]) for key in average)
    # The logged test metrics are those of the averaged weights (the ones validation chose).
    found = evaluate(load_model(checkpoint=result.best_checkpoint)).metrics
    for key in ("test/acc", "test/loss"):
        assert found[key] == pytest.approx(result.test_metrics[key], abs=1e-5), key


def test_resume_with_ema_ends_where_an_uninterrupted_run_ends(
    tiny_data_dir, tmp_path, tracking_env
):
    """The checkpoint carries both the raw weights and their average; resuming restores both."""
    ema = ["--optimizer.ema_decay=0.9", "--scheduler.name=none", "--model.dropout=0.3"]
    whole = train_tiny(
        tiny_data_dir, tmp_path / "whole", "ema-whole", *ema, "--trainer.max_epochs=3"
    )
    parts = tmp_path / "parts"
    first = train_tiny(tiny_data_dir, parts, "ema-parts", *ema, "--trainer.max_epochs=1")
    resumed = train_tiny(
        tiny_data_dir, parts, "ema-parts", *ema, "--ckpt_path=last", "--trainer.max_epochs=3"
    )
    assert resumed.run_id == first.run_id
    for key in ("test/acc", "test/loss"):
        assert resumed.test_metrics[key] == pytest.approx(whole.test_metrics[key], abs=1e-6), key
