"""Trained models after training: registered in the MLflow Model Registry with a `champion` alias,
and loaded back, for evaluation or prediction, from a run id, a model URI or a checkpoint.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

from src.cli import UsageError

CHAMPION = "champion"
# Chosen on validation, like every other choice here: ranking versions by test accuracy would make
# the test set a selection set, and the champion's test score an optimistic one.
RANKING_METRIC = "val/acc_best"
REGISTERED_TAG = "registered_model"  # run tag "NAME/VERSION", shown in the summary

# Loading a model from the store prints a tqdm bar per download; these commands print their own.
os.environ.setdefault("MLFLOW_ENABLE_ARTIFACTS_PROGRESS_BAR", "false")


def register(client, model_uri: str, name: str, run_id: str | None = None) -> str:
    """A new version of registered model `name` pointing at `model_uri`; returns the version."""
    import mlflow

    version = mlflow.register_model(model_uri, name).version
    if run_id is not None:
        client.set_tag(run_id, REGISTERED_TAG, f"{name}/{version}")
    return str(version)


def promote_best(client, name: str, alias: str = CHAMPION, metric: str = RANKING_METRIC) -> str:
    """Point `alias` at the version whose run has the highest `metric`; returns that version.

    Versions whose run lacks the metric (trained without validation, `data.val_size 0`) rank below
    all others; ties go to the newest version.
    """
    quoted = name.replace("'", "\\'")
    versions = client.search_model_versions(f"name = '{quoted}'")
    if not versions:
        raise UsageError(f"registered model {name!r} has no versions")

    def rank(version) -> tuple[bool, float, int]:
        value = None
        if version.run_id:
            value = client.get_run(version.run_id).data.metrics.get(metric)
        return value is not None, value if value is not None else 0.0, int(version.version)

    best = max(versions, key=rank)
    client.set_registered_model_alias(name, alias, best.version)
    return str(best.version)


@dataclass
class TrainedModel:
    """A network that maps raw pixels (n, 784) float32 0-255 to class scores, and its origin."""

    net: object  # torch.nn.Module or the GraphModule of an exported (pt2) model
    source: str  # what the user passed, for messages and reports
    run_id: str | None
    dataset: str = "mnist"
    data_dir: str = "data"
    loss: str = "cross_entropy"
    label_smoothing: float = 0.0

    @property
    def class_names(self) -> tuple[str, ...]:
        from src.data import CLASS_NAMES

        return CLASS_NAMES[self.dataset]

    def scores(self, pixels, batch_size: int = 4096):
        """Class scores for uint8/float pixels of shape (n, 784), computed on the CPU in batches."""
        import torch

        x = torch.as_tensor(pixels).reshape(len(pixels), -1).float()
        with torch.no_grad():
            return torch.cat([self.net(part) for part in x.split(batch_size)]) if len(x) else x


def load_model(
    run_id: str | None = None,
    model_uri: str | None = None,
    checkpoint: str | None = None,
    tracking_uri: str | None = None,
) -> TrainedModel:
    """Exactly one of: an MLflow run id, a model URI (models:/NAME@alias, models:/NAME/3,
    runs:/ID/model, models:/m-...), or a Lightning checkpoint file."""
    given = [v for v in (run_id, model_uri, checkpoint) if v]
    if len(given) != 1:
        raise UsageError("give exactly one of --run-id, --model-uri, --checkpoint")
    if checkpoint:
        return _from_checkpoint(Path(checkpoint))
    return _from_mlflow(model_uri or f"runs:/{run_id}/model", tracking_uri)


def _from_mlflow(uri: str, tracking_uri: str | None) -> TrainedModel:
    import mlflow.pytorch
    from mlflow.exceptions import MlflowException
    from mlflow.models import get_model_info

    from src import tracking

    client = tracking.use_store(tracking.resolve_tracking_uri(tracking_uri))
    try:
        info = get_model_info(uri)
        # Logged in eval mode; an exported (pt2) program refuses .eval()/.train() anyway.
        net = mlflow.pytorch.load_model(uri, map_location="cpu")
    except MlflowException as error:
        raise UsageError(f"cannot load model {uri!r}: {error.message}") from error
    params = client.get_run(info.run_id).data.params if info.run_id else {}
    return TrainedModel(
        net=net,
        source=uri,
        run_id=info.run_id,
        dataset=params.get("data.dataset", "mnist"),
        data_dir=params.get("data.data_dir", "data"),
        loss=params.get("model.loss", "cross_entropy"),
        label_smoothing=float(params.get("model.label_smoothing", 0.0)),
    )


def _from_checkpoint(path: Path) -> TrainedModel:
    from src.build import build_net
    from src.cli import parse_train_config
    from src.train import read_checkpoint

    if not path.is_file():
        raise FileNotFoundError(f"checkpoint {path} does not exist")
    checkpoint = read_checkpoint(path, "--checkpoint", hint="")  # weights_only: runs no code
    if not checkpoint.get("train_config"):
        raise UsageError(f"{path} has no train_config: not a checkpoint written by src.train")
    cfg = parse_train_config(checkpoint["train_config"])
    # The pixel statistics come back with the state dict (input_scale/input_shift buffers).
    net = build_net(cfg)
    state = {k[4:]: v for k, v in checkpoint["state_dict"].items() if k.startswith("net.")}
    net.load_state_dict(state)
    return TrainedModel(
        net=net.eval(),
        source=str(path),
        run_id=_run_id_from_path(path),
        dataset=cfg.data.dataset,
        data_dir=cfg.data.data_dir,
        loss=cfg.model.loss,
        label_smoothing=cfg.model.label_smoothing,
    )


def _run_id_from_path(path: Path) -> str | None:
    """src.train writes checkpoints to <checkpoint_dir>/<experiment>/<run id>/."""
    name = path.parent.name
    return name if len(name) == 32 and all(c in "0123456789abcdef" for c in name) else None
