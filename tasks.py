"""Developer tasks: `invoke --list`. Each one is a thin wrapper over a documented command."""

from __future__ import annotations

import shutil
import sys
from pathlib import Path

from invoke import task

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


@task
def test(c, k=""):
    """Run the test suite (the README's test command)."""
    c.run(f"{PY} -m pytest" + (f" -k '{k}'" if k else ""), pty=True)


@task
def lint(c):
    """ruff lint and format check."""
    c.run(f"{PY} -m ruff check src tests benchmarks tasks.py")
    c.run(f"{PY} -m ruff format --check src tests benchmarks tasks.py")


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
