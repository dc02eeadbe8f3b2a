"""`python -m src.train --print_config`: the resolved config as YAML on stdout."""

from __future__ import annotations

import yaml

from tests.helpers import run_process


def test_print_config_shows_overrides_and_config_files(tmp_path) -> None:
    first = tmp_path / "a.yaml"
    first.write_text("model:\n  activation: tanh\n  dropout: 0.1\n")
    second = tmp_path / "b.yaml"
    second.write_text("model:\n  dropout: 0.3\n")
    out = run_process(
        "src.train",
        f"--config={first}",
        f"--config={second}",
        "--optimizer.lr=0.05",
        "--print_config",
        timeout=300,
    )
    assert out.returncode == 0, out.stderr
    printed = yaml.safe_load(out.stdout)
    assert printed["model"]["activation"] == "tanh"  # from the first file
    assert printed["model"]["dropout"] == 0.3  # the later file wins
    assert printed["optimizer"]["lr"] == 0.05  # the command line wins over files
