"""Properties over the config space (hypothesis): every valid config parses to what was asked and
trains a step; every config with one bad value is refused with a message naming that key."""

from __future__ import annotations

import string
from typing import get_args

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from src.config import names as config_names
from src.config import train
from src.config.parsing import parse_train_config
from src.errors import ConfigError, UsageError

FAST = settings(max_examples=20, deadline=None, suppress_health_check=[HealthCheck.too_slow])
names = st.text(string.ascii_lowercase + "_", min_size=1, max_size=12)


def unit(high: float = 0.9) -> st.SearchStrategy[float]:
    return st.floats(0, high, allow_nan=False)


@st.composite
def valid_settings(draw) -> dict[str, object]:
    """Dotted key -> value, respecting every rule in src/config.py."""
    loss = draw(st.sampled_from(get_args(config_names.Loss)))
    optimizer = draw(st.sampled_from(get_args(config_names.OptimizerName)))
    momentum = draw(unit(0.99))
    val_size = draw(st.sampled_from([0, 100, 200]))
    schedulers = [s for s in get_args(config_names.SchedulerName) if val_size or s != "plateau"]
    monitor = draw(st.sampled_from(sorted(config_names.EARLY_STOPPING_MODES)))
    max_epochs = draw(st.integers(1, 3))
    batch_norm = draw(st.booleans())
    return {
        "seed": draw(st.integers(0, train.MAX_SEED)),
        "model.hidden_dims": draw(st.lists(st.integers(1, 48), max_size=3)),
        "model.activation": draw(st.sampled_from(get_args(config_names.Activation))),
        "model.dropout": draw(unit()),
        "model.input_dropout": draw(unit()),
        "model.batch_norm": batch_norm,
        "model.loss": loss,
        "model.label_smoothing": draw(unit(0.5)) if loss == "cross_entropy" else 0.0,
        "model.l2_penalty": draw(unit(1e-2)),
        "model.l1_penalty": draw(unit(1e-3)),
        "model.max_norm": draw(st.none() | st.floats(0.1, 10)),
        "optimizer.name": optimizer,
        "optimizer.lr": draw(st.floats(1e-5, 0.5)),
        "optimizer.weight_decay": draw(unit(0.1)),
        "optimizer.momentum": momentum,
        "optimizer.nesterov": optimizer == "sgd" and momentum > 0 and draw(st.booleans()),
        "optimizer.betas": [draw(unit(0.99)), draw(unit(0.999))],
        "scheduler.name": draw(st.sampled_from(schedulers)),
        "scheduler.step_size": draw(st.integers(1, 5)),
        "scheduler.gamma": draw(st.floats(0.01, 0.99)),
        "scheduler.pct_start": draw(st.floats(0.05, 0.95)),
        "data.batch_size": draw(st.integers(2 if batch_norm else 1, 512)),  # batch statistics
        "data.val_size": val_size,
        "data.split": draw(st.sampled_from(get_args(config_names.ValSplit))),
        "early_stopping.enabled": bool(val_size) and draw(st.booleans()),
        "early_stopping.monitor": monitor,
        "early_stopping.mode": config_names.EARLY_STOPPING_MODES[monitor],
        "early_stopping.patience": draw(st.integers(0, 3)),
        "trainer.max_epochs": max_epochs,
        "trainer.min_epochs": draw(st.none() | st.integers(0, max_epochs)),
        "trainer.gradient_clip_val": draw(st.none() | st.floats(0.1, 5)),
        "trainer.accumulate_grad_batches": draw(st.integers(1, 3)),
    }


def words(values: dict[str, object]) -> list[str]:
    def text(value: object) -> str:
        if value is None:
            return "null"
        if isinstance(value, bool):
            return str(value).lower()
        if isinstance(value, list):
            return "[" + ",".join(text(v) for v in value) + "]"
        return repr(value) if isinstance(value, float) else str(value)

    return [f"--{key}={text(value)}" for key, value in values.items()]


def lookup(cfg: train.TrainConfig, key: str) -> object:
    value = cfg
    for part in key.split("."):
        value = getattr(value, part)
    return list(value) if isinstance(value, tuple) else value


@FAST
@given(valid_settings())
def test_every_valid_config_parses_to_what_was_asked(values) -> None:
    cfg = parse_train_config(words(values))
    for key, value in values.items():
        assert lookup(cfg, key) == pytest.approx(value), key


@settings(max_examples=4, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(values=valid_settings())
def test_every_valid_config_trains_one_step(values, tiny_data_dir, tmp_path_factory) -> None:
    """The build path of src.train (data, model, trainer) on one batch, without MLflow."""
    from src.training import build

    cfg = parse_train_config(
        [
            *words(values),
            f"--data.data_dir={tiny_data_dir}",
            "--trainer.fast_dev_run=true",
            "--trainer.accelerator=cpu",
            "--trainer.enable_progress_bar=false",
        ]
    )
    datamodule = build.build_datamodule(cfg)
    datamodule.prepare_data()
    module = build.build_model(cfg, datamodule)
    checkpoints = tmp_path_factory.mktemp("ckpt")
    trainer = build.build_trainer(cfg, None, checkpoints)
    trainer.fit(module, datamodule=datamodule)
    assert trainer.state.finished
    assert trainer.global_step == 1
    assert all(p.isfinite().all() for p in module.parameters())


def other_name(valid: tuple[str, ...]) -> st.SearchStrategy[str]:
    return names.filter(lambda name: name not in valid)


# One bad value per key; each strategy draws only values outside what the key allows.
BAD_VALUES: dict[str, st.SearchStrategy[object]] = {
    "seed": st.integers(max_value=-1) | st.integers(min_value=train.MAX_SEED + 1),
    "model.hidden_dims": st.lists(st.integers(1, 48), max_size=2).flatmap(
        lambda dims: st.integers(max_value=0).map(lambda bad: [*dims, bad])
    ),
    "model.activation": other_name(get_args(config_names.Activation)),
    "model.dropout": st.floats(1, 1e6) | st.floats(-1e6, -1e-9),
    "model.loss": other_name(get_args(config_names.Loss)),
    "model.l2_penalty": st.floats(-1e3, -1e-12),
    "model.max_norm": st.floats(-1e3, 0),
    "optimizer.name": other_name(get_args(config_names.OptimizerName)),
    "optimizer.lr": st.floats(-1e3, 0),
    "optimizer.weight_decay": st.floats(-1e3, -1e-12),
    "optimizer.momentum": st.floats(1, 1e3),
    "scheduler.name": other_name(get_args(config_names.SchedulerName)),
    "scheduler.gamma": st.floats(1, 1e3) | st.floats(-1e3, 0),
    "data.batch_size": st.integers(max_value=0),
    "data.val_size": st.integers(max_value=-1) | st.integers(min_value=60000),
    "data.split": other_name(get_args(config_names.ValSplit)),
    "early_stopping.patience": st.integers(max_value=-1),
    "early_stopping.monitor": names.filter(lambda m: m not in config_names.EARLY_STOPPING_MODES),
    "trainer.max_epochs": st.integers(max_value=0),
    "trainer.accumulate_grad_batches": st.integers(max_value=0),
}


@FAST
@given(valid_settings(), st.sampled_from(sorted(BAD_VALUES)), st.data())
def test_one_bad_value_is_refused_naming_its_key(values, key, data) -> None:
    bad = data.draw(BAD_VALUES[key], label=key)
    with pytest.raises((ConfigError, UsageError)) as refused:
        parse_train_config(words({**values, key: bad}))
    message = str(refused.value)
    assert "\n" not in message
    assert key in message


def test_limit_batches_reads_whole_numbers_as_batch_counts() -> None:
    # jsonargparse tries a union's types in order: "20" must not become the fraction 20.0.
    cfg = parse_train_config(["--trainer.limit_train_batches=20", "--trainer.limit_val_batches=1"])
    assert cfg.trainer.limit_train_batches == 20 and type(cfg.trainer.limit_train_batches) is int
    assert type(cfg.trainer.limit_val_batches) is int
    cfg = parse_train_config(
        ["--trainer.limit_train_batches=0.25", "--trainer.limit_val_batches=1.0"]
    )
    assert cfg.trainer.limit_train_batches == 0.25 and cfg.trainer.limit_val_batches == 1.0
    assert type(cfg.trainer.limit_val_batches) is float
