"""Secrets stay out of MLflow: URL passwords and secret environment values are masked."""

from __future__ import annotations

from pathlib import Path

from mlflow import MlflowClient

from src.config.parsing import parse_train_config
from src.tracking.redaction import redact, redact_config
from src.training.run import run_training
from tests.helpers import tiny_train_args

SECRETS = {"MY_API_KEY": "supersecret123", "DB_PASSWORD": "hunter2hunter2"}


def test_redact_masks_url_passwords() -> None:
    assert redact("postgresql://bob:s3cret@db:5432/optuna") == "postgresql://bob:***@db:5432/optuna"
    assert redact("http://alice:pw@mlflow.local:5000") == "http://alice:***@mlflow.local:5000"
    assert redact("http://mlflow.local:5000/path") == "http://mlflow.local:5000/path"


def test_redact_masks_values_of_secret_environment_variables(monkeypatch) -> None:
    monkeypatch.setenv("MY_API_KEY", "supersecret123")
    monkeypatch.setenv("SERVICE_TOKEN", "tok-abcdef")
    monkeypatch.setenv("SOME_FLAG_KEY", "true")  # too short to be a secret worth masking
    monkeypatch.setenv("PLAIN_SETTING", "visible-value")
    text = "key supersecret123, token tok-abcdef, flag true, visible-value"
    assert redact(text) == "key ***, token ***, flag true, visible-value"
    nested = {"a": {"b": ["x supersecret123"]}, "n": 3}
    assert redact_config(nested) == {"a": {"b": ["x ***"]}, "n": 3}


def run_text(client: MlflowClient, run_id: str) -> str:
    """Everything a run holds as text: params, tags, name, metric keys and text artifacts."""
    run = client.get_run(run_id)
    parts = [run.info.run_name or ""]
    parts += [f"{k}={v}" for k, v in {**run.data.params, **run.data.tags}.items()]
    parts += list(run.data.metrics)
    root = Path(client.download_artifacts(run_id, ""))
    for path in root.rglob("*"):
        if path.is_file() and path.suffix in ("", ".yaml", ".yml", ".txt", ".json", ".py"):
            parts.append(path.read_text(errors="replace"))
    return "\n".join(parts)


def test_secrets_never_reach_params_tags_or_artifacts(
    tiny_data_dir, tmp_path, tracking_env, monkeypatch
) -> None:
    for name, value in SECRETS.items():
        monkeypatch.setenv(name, value)
    cfg = parse_train_config(
        [
            *tiny_train_args(tiny_data_dir, tmp_path, "secrets"),
            "--trainer.max_epochs=1",
            "--mlflow.log_model=false",
            # A secret pasted into a config value, as happens with run names and URLs.
            f"--mlflow.run_name=nightly-{SECRETS['MY_API_KEY']}",
        ]
    )
    result = run_training(cfg)

    text = run_text(MlflowClient(tracking_env), result.run_id)
    assert "nightly-***" in text
    for value in SECRETS.values():
        assert value not in text
