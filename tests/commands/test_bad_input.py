"""Every bad input ends cleanly: one `error:` line on stderr naming the key or file and what is
allowed, exit code 2 for usage errors (1 for a broken environment), no traceback unless --debug,
no MLflow run left RUNNING and no half-written files.

Each row runs in-process through the same `run_main` that `python -m` runs, from the repository
root: errors found while parsing the command line, and errors found later (data, tracking store,
checkpoints). A few rows run again as real processes, since the exit code and stderr of
`python -m ...` are what a user sees (and nothing else, warnings or logging, may reach stderr).
"""

from __future__ import annotations

import importlib
import os
import signal
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pytest

from tests.helpers import (
    ROOT,
    free_port,
    run_in_process,
    run_process,
    synthetic_digits,
    tiny_train_args,
)

USAGE, BROKEN = 2, 1
ORPHAN_RUN = "0123456789abcdef0123456789abcdef"  # a checkpoint folder that is no MLflow run


@dataclass(frozen=True)
class Bad:
    """One bad input: the words after `python -m <entry>`, with {placeholders} for the files
    made by `bad_files`; the exit code; and what the error line must say."""

    name: str
    words: tuple[str, ...]
    code: int
    says: tuple[str, ...]
    entry: str = "src.train"
    env: tuple[tuple[str, str], ...] = ()


# ---------------------------------------------------------------- found while parsing

PARSE_ERRORS = [
    # config files
    Bad(
        "malformed-yaml",
        ("--config", "{bad_yaml}"),
        USAGE,
        ("bad.yaml", "invalid YAML", "line 3", "line 2"),
    ),
    Bad("yaml-not-a-mapping", ("--config", "{list_yaml}"), USAGE, ("list.yaml", "mapping")),
    Bad("missing-config-file", ("--config", "{tmp}/nope.yaml"), USAGE, ("nope.yaml", "no such")),
    Bad("config-is-a-folder", ("--config", "{tmp}"), USAGE, ("--config", "cannot read")),
    Bad(
        "unknown-key-in-file",
        ("--config", "{unknown_yaml}"),
        USAGE,
        ("model.hidden_dimz", "did you mean model.hidden_dims", "allowed"),
    ),
    Bad("unknown-section-in-file", ("--config", "{section_yaml}"), USAGE, ("modle", "allowed")),
    Bad("unknown-option", ("--model.dropot=0.1",), USAGE, ("model.dropot", "model.dropout")),
    Bad(
        "abbreviated-option",
        ("--model.activatio=tanh",),
        USAGE,
        ("unknown key model.activatio", "did you mean model.activation"),
    ),
    # wrong types
    Bad("lr-not-a-number", ("--optimizer.lr=abc",), USAGE, ("optimizer.lr", "float", "abc")),
    Bad("hidden-dims-not-a-list", ("--model.hidden_dims=abc",), USAGE, ("model.hidden_dims",)),
    Bad("batch-size-not-an-int", ("--data.batch_size=1.5",), USAGE, ("data.batch_size", "int")),
    Bad("max-norm-not-a-number", ("--model.max_norm=big",), USAGE, ("model.max_norm", "null")),
    Bad("betas-one-number", ("--optimizer.betas=[0.9]",), USAGE, ("optimizer.betas", "2")),
    # out of range
    Bad("dropout-one", ("--model.dropout=1.0",), USAGE, ("model.dropout", "[0, 1)")),
    Bad("lr-negative", ("--optimizer.lr=-0.1",), USAGE, ("optimizer.lr", "> 0")),
    Bad("lr-zero", ("--optimizer.lr=0",), USAGE, ("optimizer.lr", "> 0")),
    Bad("batch-size-zero", ("--data.batch_size=0",), USAGE, ("data.batch_size", "> 0")),
    Bad("zero-width-layer", ("--model.hidden_dims=[64,0]",), USAGE, ("model.hidden_dims[1]",)),
    Bad("patience-negative", ("--early_stopping.patience=-1",), USAGE, ("patience", ">= 0")),
    Bad("max-epochs-zero", ("--trainer.max_epochs=0",), USAGE, ("trainer.max_epochs", "> 0")),
    Bad("seed-negative", ("--seed=-1",), USAGE, ("seed", "4294967295")),
    Bad("val-size-too-big", ("--data.val_size=60000",), USAGE, ("data.val_size", "60000")),
    Bad("limit-batches-fraction", ("--trainer.limit_train_batches=1.5",), USAGE, ("limit_train",)),
    Bad("max-time-format", ("--trainer.max_time=1h",), USAGE, ("trainer.max_time", "DD:HH:MM:SS")),
    Bad(
        "min-epochs-above-max",
        ("--trainer.min_epochs=5", "--trainer.max_epochs=2"),
        USAGE,
        ("trainer.min_epochs", "max_epochs=2"),
    ),
    # unknown names
    Bad("unknown-activation", ("--model.activation=swish",), USAGE, ("model.activation", "gelu")),
    Bad("unknown-loss", ("--model.loss=focal",), USAGE, ("model.loss", "cross_entropy")),
    Bad("unknown-optimizer", ("--optimizer.name=lamb",), USAGE, ("optimizer.name", "adamw")),
    Bad("unknown-scheduler", ("--scheduler.name=cyclic",), USAGE, ("scheduler.name", "plateau")),
    Bad("unknown-split", ("--data.split=tail",), USAGE, ("data.split", "last")),
    Bad("unknown-dataset", ("--data.dataset=cifar10",), USAGE, ("data.dataset", "fashion_mnist")),
    Bad(
        "unknown-monitor", ("--early_stopping.monitor=val/accuracy",), USAGE, ("monitor", "val/acc")
    ),
    # combinations
    Bad(
        "plateau-without-validation",
        ("--data.val_size=0", "--early_stopping.enabled=false", "--scheduler.name=plateau"),
        USAGE,
        ("scheduler.name", "data.val_size is 0"),
    ),
    Bad(
        "cosine-shorter-than-the-run",
        ("--trainer.max_epochs=5", "--scheduler.epochs=4"),
        USAGE,
        ("scheduler.epochs", "trainer.max_epochs=5"),
    ),
    Bad(
        "early-stopping-without-validation",
        ("--data.val_size=0",),
        USAGE,
        ("early_stopping.enabled", "data.val_size is 0"),
    ),
    Bad(
        "early-stopping-mode-mismatch",
        ("--early_stopping.monitor=val/loss", "--early_stopping.mode=max"),
        USAGE,
        ("early_stopping.mode", "'min'"),
    ),
    Bad(
        "label-smoothing-with-mse",
        ("--model.loss=mse", "--model.label_smoothing=0.1"),
        USAGE,
        ("model.label_smoothing", "cross_entropy"),
    ),
    Bad(
        "nesterov-with-adam",
        ("--optimizer.nesterov=true",),
        USAGE,
        ("optimizer.nesterov", "sgd"),
    ),
    Bad(
        "register-without-logging",
        ("--mlflow.log_model=false", "--mlflow.register_model=mnist"),
        USAGE,
        ("mlflow.register_model", "log_model"),
    ),
    Bad(
        "resume-and-ckpt-path",
        ("--resume=abc", "--ckpt_path=last"),
        USAGE,
        ("--resume", "--ckpt_path"),
    ),
    # tune: its own schema and the search space
    Bad(
        "tune-unknown-sampler",
        ("--sampler.name=bayes",),
        USAGE,
        ("sampler.name", "tpe"),
        "src.tune",
    ),
    Bad(
        "tune-unknown-pruner", ("--pruner.name=asha",), USAGE, ("pruner.name", "median"), "src.tune"
    ),
    Bad(
        "tune-range-low-above-high",
        ("--config", "{tune_low_high_yaml}"),
        USAGE,
        ("search_space.optimizer.lr", "low=1.0", "high=0.1"),
        "src.tune",
    ),
    Bad(
        "tune-empty-choices",
        ("--config", "{tune_empty_choices_yaml}"),
        USAGE,
        ("search_space.model.activation", "choices is empty"),
        "src.tune",
    ),
    Bad(
        "tune-log-range-from-zero",
        ("--config", "{tune_log_zero_yaml}"),
        USAGE,
        ("search_space.optimizer.lr", "log=true needs low > 0"),
        "src.tune",
    ),
    Bad(
        "tune-unknown-search-key",
        ("--config", "{tune_unknown_key_yaml}"),
        USAGE,
        ("optimizer.lrr", "not a training config key"),
        "src.tune",
    ),
    Bad("tune-zero-trials", ("--n-trials=0",), USAGE, ("n_trials", "> 0"), "src.tune"),
    Bad("tune-bad-train-value", ("--train.model.dropout=1.0",), USAGE, ("dropout",), "src.tune"),
    # other entry points
    Bad("evaluate-unknown-option", ("--run_idd=1",), USAGE, ("run_idd",), entry="src.evaluate"),
    Bad("predict-top-not-an-int", ("x.png", "--top=many"), USAGE, ("top",), entry="src.predict"),
]


def bad_cache(data_dir: Path, kind: str) -> Path:
    """A data folder whose mnist cache is broken in the given way."""
    from src.data.cache import cache_path, save_cache

    cache = cache_path("mnist", data_dir)
    if kind == "folder":  # exists but cannot be read as a file, even by root
        cache.mkdir(parents=True)
        return data_dir
    train, test = synthetic_digits(20, 1), synthetic_digits(10, 2)
    save_cache("mnist", data_dir, (*train, *test), source="test")
    content = cache.read_bytes()
    if kind == "truncated":
        cache.write_bytes(content[: len(content) // 2])
    elif kind == "garbage":
        cache.write_bytes(os.urandom(len(content)))
    elif kind == "tampered":  # a valid archive whose arrays no longer match the stored digest
        with np.load(cache) as z:
            arrays = {key: z[key] for key in z.files}
        arrays["train_y"] = (arrays["train_y"] + 1) % 10
        np.savez(cache, **arrays)
    return data_dir


def bad_idx(data_dir: Path, kind: str) -> Path:
    """Four IDX files in data_dir/mnist/, one of them broken (no cache: the files are read)."""
    import gzip

    from src.data.idx import IDX_FILES

    folder = data_dir / "mnist"
    folder.mkdir(parents=True)
    for stem in IDX_FILES:
        (folder / stem).write_bytes(b"\x00\x00\x08\x01\x00\x00\x00\x01\x07")  # 1 label: wrong hash
    if kind == "corrupt-gzip":
        (folder / IDX_FILES[0]).unlink()
        (folder / f"{IDX_FILES[0]}.gz").write_bytes(gzip.compress(b"x" * 100)[:20])
    return data_dir


@pytest.fixture(scope="module")
def bad_files(tmp_path_factory) -> dict[str, str]:
    tmp = tmp_path_factory.mktemp("bad")
    files = {
        "bad_yaml": "model:\n  hidden_dims: [32, 16\noptimizer: {}\n",
        "list_yaml": "- model\n- optimizer\n",
        "unknown_yaml": "model:\n  hidden_dimz: [32]\n",
        "section_yaml": "modle:\n  dropout: 0.1\n",
        "tune_low_high_yaml": "search_space:\n  optimizer.lr: {low: 1.0, high: 0.1}\n",
        "tune_empty_choices_yaml": "search_space:\n  model.activation: {choices: []}\n",
        "tune_log_zero_yaml": "search_space:\n  optimizer.lr: {low: 0.0, high: 0.1, log: true}\n",
        "tune_unknown_key_yaml": "search_space:\n  optimizer.lrr: {low: 0.1, high: 0.2}\n",
    }
    paths = {"tmp": str(tmp)}
    for key, text in files.items():
        path = tmp / key.replace("_yaml", ".yaml")
        path.write_text(text)
        paths[key] = str(path)
    regular = tmp / "a-file"
    regular.write_text("not a folder")
    paths["a_file"] = str(regular)
    for kind in ("folder", "truncated", "garbage", "tampered"):
        paths[f"cache_{kind}"] = str(bad_cache(tmp / f"cache-{kind}", kind))
    for kind in ("wrong-hash", "corrupt-gzip"):
        paths[f"idx_{kind}"] = str(bad_idx(tmp / f"idx-{kind}", kind))
    import torch

    for key, dims in (("other_model", [64, 64]), ("orphan", [32])):
        run_folder = tmp / f"checkpoints-{key}" / "errors" / ORPHAN_RUN
        run_folder.mkdir(parents=True)
        torch.save({"train_config": {"model": {"hidden_dims": dims}}}, run_folder / "last.ckpt")
        paths[f"{key}_ckpt"] = str(run_folder / "last.ckpt")
        paths[f"{key}_root"] = str(tmp / f"checkpoints-{key}")
    garbage = tmp / "garbage.ckpt"
    garbage.write_bytes(b"PK\x03\x04 this is not a checkpoint")
    paths["garbage_ckpt"] = str(garbage)
    not_a_db = tmp / "not-a-db" / "mlflow.db"
    not_a_db.parent.mkdir()
    not_a_db.write_bytes(b"this is not an sqlite database" * 100)
    paths["not_a_db"] = str(not_a_db)
    return paths


def fill(words: tuple[str, ...], paths: dict[str, str]) -> list[str]:
    return [word.format(**paths) for word in words]


def command_words(
    bad: Bad, paths: dict[str, str], data_dir: Path, tmp_path: Path, *train_options: str
) -> list[str]:
    """The words after `python -m <entry>`; for src.train, after those of a fast run."""
    words = fill(bad.words, paths)
    if bad.entry == "src.train":
        return [*tiny_train_args(data_dir, tmp_path, "errors"), *train_options, *words]
    return words


def run_bad_in_process(
    bad: Bad, words: list[str], paths: dict[str, str], monkeypatch, capfd
) -> tuple[int, str]:
    """The entry point's main through run_main, from the repository root as `python -m` runs it,
    with the row's environment: (exit code, stderr)."""
    for name, value in bad.env:
        monkeypatch.setenv(name, value.format(**paths))
    monkeypatch.chdir(ROOT)
    code, _, stderr = run_in_process(importlib.import_module(bad.entry).main, words, capfd)
    return code, stderr


def run_bad_as_process(
    bad: Bad, words: list[str], paths: dict[str, str], store: Path
) -> subprocess.CompletedProcess:
    env = {"MLFLOW_TRACKING_URI": f"sqlite:///{store}"}
    env.update({name: value.format(**paths) for name, value in bad.env})
    return run_process(bad.entry, *words, env=env, timeout=120)


def assert_clean_error(code: int, stderr: str, bad: Bad) -> None:
    lines = stderr.strip().splitlines()
    assert "Traceback" not in stderr
    assert len(lines) == 1, stderr
    assert lines[0].startswith("error: ")
    for fragment in bad.says:
        assert fragment in lines[0], f"{fragment!r} not in {lines[0]!r}"
    assert code == bad.code, stderr


def assert_nothing_written(tmp_path: Path) -> None:
    assert not (tmp_path / "mlruns").exists(), "a usage error must not touch the tracking store"
    assert not (tmp_path / "checkpoints").exists()


@pytest.mark.parametrize("bad", PARSE_ERRORS, ids=lambda bad: bad.name)
def test_bad_command_line_or_config_file(
    bad: Bad, bad_files, tiny_data_dir, tmp_path, monkeypatch, capfd
) -> None:
    monkeypatch.setenv("MLFLOW_TRACKING_URI", f"sqlite:///{tmp_path / 'mlruns' / 'mlflow.db'}")
    words = command_words(bad, bad_files, tiny_data_dir, tmp_path)
    code, stderr = run_bad_in_process(bad, words, bad_files, monkeypatch, capfd)
    assert_clean_error(code, stderr, bad)
    assert_nothing_written(tmp_path)


# One row for each entry point: parsing needs no torch, so each costs a fraction of a second.
PARSE_ERRORS_AS_PROCESSES = (
    "malformed-yaml",
    "tune-range-low-above-high",
    "evaluate-unknown-option",
    "predict-top-not-an-int",
)


@pytest.mark.parametrize(
    "bad",
    [b for b in PARSE_ERRORS if b.name in PARSE_ERRORS_AS_PROCESSES],
    ids=lambda bad: bad.name,
)
def test_parse_errors_as_real_processes(bad: Bad, bad_files, tiny_data_dir, tmp_path) -> None:
    words = command_words(bad, bad_files, tiny_data_dir, tmp_path)
    proc = run_bad_as_process(bad, words, bad_files, tmp_path / "mlruns" / "mlflow.db")
    assert_clean_error(proc.returncode, proc.stderr, bad)
    assert_nothing_written(tmp_path)


def test_debug_shows_the_traceback(tmp_path) -> None:
    proc = run_process("src.train", "--model.dropout=1.0", "--debug", timeout=120)
    assert proc.returncode == USAGE
    assert "Traceback" in proc.stderr
    assert proc.stderr.strip().splitlines()[-1].startswith("error: model.dropout=1.0")


# ---------------------------------------------------------------- found at run time


RUNTIME_ERRORS = [
    # data
    Bad("cache-unreadable", ("--data.data_dir={cache_folder}",), BROKEN, ("mnist-uint8.npz",)),
    Bad("cache-truncated", ("--data.data_dir={cache_truncated}",), BROKEN, ("corrupt", "delete")),
    Bad("cache-garbage", ("--data.data_dir={cache_garbage}",), BROKEN, ("corrupt", "delete")),
    Bad("cache-tampered", ("--data.data_dir={cache_tampered}",), BROKEN, ("digest mismatch",)),
    Bad(
        "idx-wrong-hash",
        ("--data.data_dir={idx_wrong-hash}",),
        BROKEN,
        ("checksum mismatch", "train-images-idx3-ubyte"),
    ),
    Bad(
        "idx-corrupt-gzip",
        ("--data.data_dir={idx_corrupt-gzip}",),
        BROKEN,
        ("train-images-idx3-ubyte.gz", "cannot decompress"),
    ),
    # tracking store
    Bad(
        "tracking-server-unreachable",
        (),
        BROKEN,
        ("MLFLOW_TRACKING_URI=http://127.0.0.1:9", "cannot reach"),
        env=(("MLFLOW_TRACKING_URI", "http://127.0.0.1:9"),),
    ),
    Bad(
        "tracking-uri-unknown-scheme",
        (),
        USAGE,
        ("MLFLOW_TRACKING_URI=mlfow://x", "unsupported scheme", "sqlite:///"),
        env=(("MLFLOW_TRACKING_URI", "mlfow://x"),),
    ),
    Bad(
        "tracking-uri-bad-port",
        ("--mlflow.tracking_uri=http://127.0.0.1:99999",),
        USAGE,
        ("mlflow.tracking_uri=http://127.0.0.1:99999", "malformed"),
    ),
    Bad(
        "mlruns-unwritable",
        (),
        BROKEN,
        ("MLFLOW_TRACKING_URI=", "a-file", "writable"),
        env=(("MLFLOW_TRACKING_URI", "sqlite:///{a_file}/mlruns/mlflow.db"),),
    ),
    Bad(
        "tracking-db-not-sqlite",
        (),
        BROKEN,
        ("MLFLOW_TRACKING_URI=", "not-a-db", "cannot open the tracking store"),
        env=(("MLFLOW_TRACKING_URI", "sqlite:///{not_a_db}"),),
    ),
    Bad(
        "checkpoint-dir-unwritable",
        ("--checkpoint_dir={a_file}/checkpoints",),
        BROKEN,
        ("checkpoint_dir", "a-file"),
    ),
    Bad(
        "accelerator-missing",
        ("--trainer.accelerator=gpu", "--trainer.devices=64"),
        USAGE,
        ("trainer.", "this machine has"),
    ),
    # checkpoints
    Bad("resume-nothing-to-resume", ("--ckpt_path=last",), USAGE, ("ckpt_path=last", "no last")),
    Bad("resume-missing-file", ("--ckpt_path={tmp}/x.ckpt",), USAGE, ("x.ckpt", "no such")),
    Bad(
        "resume-corrupt-checkpoint",
        ("--ckpt_path={garbage_ckpt}",),
        USAGE,
        ("garbage.ckpt", "not a readable checkpoint"),
    ),
    Bad("resume-unknown-run", ("--resume=0123abcd",), USAGE, ("--resume 0123abcd", "last.ckpt")),
    Bad(
        "resume-other-model",
        ("--ckpt_path={other_model_ckpt}",),
        USAGE,
        ("model.hidden_dims=[64, 64]", "the config says [32]"),
    ),
    Bad(
        "resume-run-not-in-store",
        ("--checkpoint_dir={orphan_root}", f"--resume={ORPHAN_RUN}"),
        USAGE,
        (ORPHAN_RUN, "not a run in the tracking store"),
    ),
    # tune: the study storage
    Bad(
        "tune-storage-malformed-url",
        ("--storage=notadb://x",),
        USAGE,
        ("storage=", "notadb://x", "postgresql://"),
        "src.tune",
    ),
    Bad(
        "tune-storage-unreachable",
        ("--storage=postgresql://user:pw@127.0.0.1:9/db",),
        BROKEN,
        ("study storage", "127.0.0.1", "user:***@"),
        "src.tune",
    ),
    # other entry points
    Bad(
        "evaluate-no-model",
        (),
        USAGE,
        ("--run-id", "--model-uri", "--checkpoint"),
        entry="src.evaluate",
    ),
    Bad(
        "evaluate-missing-checkpoint",
        ("--checkpoint={tmp}/missing.ckpt",),
        BROKEN,
        ("missing.ckpt",),
        entry="src.evaluate",
    ),
    Bad(
        "evaluate-corrupt-checkpoint",
        ("--checkpoint={garbage_ckpt}",),
        USAGE,
        ("garbage.ckpt", "not a readable checkpoint"),
        entry="src.evaluate",
    ),
    Bad("predict-missing-input", ("{tmp}/nope.png",), BROKEN, ("nope.png",), entry="src.predict"),
    Bad("predict-not-an-image", ("{bad_yaml}",), USAGE, ("bad.yaml",), entry="src.predict"),
]


def running_runs(store: str) -> list[str]:
    from mlflow import MlflowClient
    from mlflow.entities import ViewType

    client = MlflowClient(store)
    experiments = [e.experiment_id for e in client.search_experiments(view_type=ViewType.ALL)]
    runs = client.search_runs(experiments, "attributes.status = 'RUNNING'", ViewType.ALL)
    return [run.info.run_id for run in runs]


@pytest.mark.parametrize("bad", RUNTIME_ERRORS, ids=lambda bad: bad.name)
def test_bad_data_store_or_checkpoint(
    bad: Bad, bad_files, tiny_data_dir, tmp_path, tracking_env, monkeypatch, capfd
) -> None:
    paths = {**bad_files, "tmp": str(tmp_path)}
    words = command_words(bad, paths, tiny_data_dir, tmp_path, "--mlflow.log_model=false")
    started = time.monotonic()
    code, stderr = run_bad_in_process(bad, words, paths, monkeypatch, capfd)
    assert time.monotonic() - started < 30, "bad input must fail fast"
    assert_clean_error(code, stderr, bad)
    assert running_runs(tracking_env) == []
    assert not [p for p in tmp_path.rglob("*") if p.is_file() and p.suffix in (".ckpt", ".tmp")]


@pytest.mark.slow
@pytest.mark.parametrize(
    "bad",
    [b for b in RUNTIME_ERRORS if b.name in ("cache-garbage", "tracking-server-unreachable")],
    ids=lambda bad: bad.name,
)
def test_runtime_errors_as_real_processes(bad: Bad, bad_files, tiny_data_dir, tmp_path) -> None:
    """The same rows outside pytest: nothing else (warnings, logging) reaches stderr."""
    words = command_words(bad, bad_files, tiny_data_dir, tmp_path, "--mlflow.log_model=false")
    started = time.monotonic()
    proc = run_bad_as_process(bad, words, bad_files, tmp_path / "mlruns" / "mlflow.db")
    assert time.monotonic() - started < 60  # mostly imports, on a loaded machine
    assert_clean_error(proc.returncode, proc.stderr, bad)


# ---------------------------------------------------------------- tasks (invoke)


def invoke(*words: str, **kwargs) -> subprocess.Popen:
    return subprocess.Popen(
        [sys.executable, "-m", "invoke", *words],
        cwd=ROOT,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        start_new_session=True,  # the UI's own child processes go with it
        **kwargs,
    )


@pytest.mark.parametrize("port", ["notanumber", "70000"])
def test_invoke_ui_rejects_a_bad_port_in_one_line(port: str) -> None:
    proc = invoke("ui", "--port", port)
    _, stderr = proc.communicate(timeout=60)
    assert_clean_error(
        proc.returncode, stderr, Bad(f"ui-port-{port}", (), USAGE, ("--port", "1..65535"))
    )


def test_invoke_ui_warns_when_bound_beyond_loopback(tmp_path) -> None:
    port = free_port()
    env = {**os.environ, "MLFLOW_TRACKING_URI": f"sqlite:///{tmp_path / 'mlflow.db'}"}
    proc = invoke("ui", "--host", "0.0.0.0", "--port", str(port), env=env)
    try:
        warning = proc.stderr.readline()  # printed before the server starts
    finally:
        os.killpg(proc.pid, signal.SIGTERM)
        proc.wait(timeout=30)
    assert warning.startswith("warning: --host=0.0.0.0 exposes the MLflow UI")
