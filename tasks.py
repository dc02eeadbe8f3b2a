"""Developer tasks: `invoke --list`. Each one is a thin wrapper over a documented command."""

from __future__ import annotations

import shutil
import sys
from pathlib import Path

from invoke import Exit, task

ROOT = Path(__file__).resolve().parent
PY = sys.executable


@task
def setup(c):
    """Install torch (CPU wheel pinned), the project and its dev tools, then fetch MNIST."""
    c.run(f'{PY} -m pip install torch==2.13.0 -e ".[dev]"', pty=False)
    c.run(f"{PY} -m src.data fetch")


@task(help={"args": "extra arguments for python -m src.train, quoted"})
def train(c, config="", args=""):
    """Train: `invoke train --config configs/experiments/keras_tutorial.yaml`."""
    config_arg = f"--config {config}" if config else ""
    c.run(f"{PY} -m src.train {config_arg} {args}", pty=True)


@task(help={"config": "study YAML (default configs/tune/default.yaml)", "args": "more, quoted"})
def tune(c, config="", args=""):
    """Tune: `invoke tune --args "--n-trials 3 --n-jobs 2"`."""
    config_arg = f"--config {config}" if config else ""
    c.run(f"{PY} -m src.tune {config_arg} {args}", pty=True)


@task(help={"storage": "journal file or database URL"})
def dashboard(c, storage="mlruns/optuna-journal.log", port="8080"):
    """optuna-dashboard on the studies (needs: pip install -e ".[dashboard]")."""
    c.run(f"{Path(PY).parent / 'optuna-dashboard'} {storage} --host 127.0.0.1 --port {port}")


@task(
    help={
        "quick": "fewer repetitions: the ratios as a regression guard",
        "only": "training, system, command, tune, samplers (long: not in the default run) or gpu"
        " (needs a CUDA GPU)",
    }
)
def bench(c, quick=False, only=""):
    """The benchmarks/README.md tables: training speed in-process and as the whole command,
    and tuning (--only gpu: the GPU rows); then README's speed table of what ran (--quick: the
    regression guard, its ratios against their targets)."""
    import time

    started = time.time()
    flag = " --quick" if quick else ""
    if only in ("", "training"):
        c.run(f"{PY} -m benchmarks.bench_training{flag}")
    if only in ("", "system"):  # what MLflow's system metrics cost an epoch
        c.run(f"{PY} -m benchmarks.bench_system_metrics{flag}")
    if only in ("", "command"):
        c.run(f"{PY} -m benchmarks.bench_command{flag}")
    if only in ("", "tune"):
        c.run(f"{PY} -m benchmarks.bench_tune{flag}")
    if only == "samplers":  # 18 studies, 486 trials: over an hour on 2 busy vCPUs (measured)
        c.run(f"{PY} -m benchmarks.bench_samplers{flag}")
    if only == "gpu":
        c.run(f"{PY} -m benchmarks.bench_gpu" + (" --reps 1 --seeds 1" if quick else ""))
    if only in ("", "training", "system", "command", "tune"):
        c.run(f"{PY} -m benchmarks.summary --since {started}")


@task(
    help={
        "all": "also configs/experiments/accuracy/ (hours on a CPU) and configs/experiments/gpu/",
        "names": "recipe file stems from any of those folders, quoted (default: all at the top)",
        "seeds": "seeds per recipe: a group each, test accuracy as mean and 95% t interval",
    }
)
def recipes(c, all=False, names="", seeds=1):
    """Train the recipes in configs/experiments/ and print their results table."""
    args = " ".join([*names.split(), *(["--all"] if all else []), f"--seeds {seeds}"])
    c.run(f"{PY} -m benchmarks.run_recipes {args}".rstrip())


@task(help={"fast": 'skip the slow tests: pytest -m "not slow"', "k": "pytest -k expression"})
def test(c, fast=False, k=""):
    """Run the test suite (the README's test command); --fast is the quick loop."""
    marker = ' -m "not slow"' if fast else ""
    c.run(f"{PY} -m pytest{marker}" + (f" -k '{k}'" if k else ""), pty=True)


@task
def lint(c):
    """ruff lint and format check, then the import layers contract (lint-imports)."""
    c.run(f"{PY} -m ruff check src tests benchmarks tasks.py")
    c.run(f"{PY} -m ruff format --check src tests benchmarks tasks.py")
    with c.cd(str(ROOT)):  # the contract in pyproject.toml names packages from the project root
        c.run(str(Path(PY).parent / "lint-imports"))


@task
def clean(c, runs=False, data=False):
    """Remove checkpoints and caches; --runs also the MLflow store, --data the MNIST cache."""
    targets = ["checkpoints", ".pytest_cache", ".ruff_cache", "screenshots"]
    if runs:
        targets.append("mlruns")
    if data:
        targets.append("data")
    for name in targets:
        path = ROOT / name
        if path.exists():
            shutil.rmtree(path)
            print(f"removed {path}")
    (ROOT / "mlruns").mkdir(exist_ok=True)
    (ROOT / "mlruns" / ".gitkeep").touch()


LOOPBACK = {"127.0.0.1", "localhost", "::1"}


@task(help={"host": "address to bind (default 127.0.0.1)", "port": "port (default 5000)"})
def ui(c, host="127.0.0.1", port="5000"):
    """MLflow UI on the project's store (sqlite in mlruns/ unless MLFLOW_TRACKING_URI is set)."""
    import socket

    # The port arrives as a string so a typo gets one line, not invoke's traceback.
    if not str(port).isdigit() or not 0 < int(port) < 65536:
        raise Exit(f"error: --port={port!r}: expected an integer in 1..65535", code=2)
    from src.tracking.store import resolve_tracking_uri

    with c.cd(str(ROOT)):  # the default sqlite path is relative to the project root
        store = resolve_tracking_uri()
    if store.startswith(("http://", "https://")):
        raise Exit(f"error: MLFLOW_TRACKING_URI is a tracking server: open {store} instead", 2)
    if host not in LOOPBACK:
        print(
            f"warning: --host={host} exposes the MLflow UI to the network; it has no login, so"
            " anyone who can reach this machine can read and delete runs",
            file=sys.stderr,
        )
    try:
        probe = "127.0.0.1" if host == "0.0.0.0" else host
        socket.create_connection((probe, int(port)), 1).close()
    except OSError:
        pass  # nothing listening: the port is free
    else:
        raise Exit(f"error: port {port} is in use (another mlflow ui?): try --port {int(port) + 1}")
    shown = f"[{host}]" if ":" in host else host
    print(f"MLflow UI for {store} at http://{shown}:{port}  (Ctrl-C stops it)")
    print("  MLflow 3 opens experiments in its GenAI view: click 'Model training' (top left)")
    with c.cd(str(ROOT)):
        c.run(
            f"{PY} -m mlflow ui --backend-store-uri '{store}' --host {host} --port {port} "
            "--workers 1"
        )
