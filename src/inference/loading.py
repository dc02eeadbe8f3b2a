"""A trained model loaded back for evaluation or prediction: from an MLflow run id, a model URI
(models:/NAME@champion, runs:/ID/model) or a checkpoint written by src.train."""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

from src.config.parsing import parse_train_config
from src.data.dataset import CLASS_NAMES
from src.errors import UsageError
from src.tracking.store import resolve_tracking_uri, use_store
from src.training.checkpoints import read_checkpoint


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
    from mlflow.exceptions import MlflowException
    from mlflow.models import get_model_info

    from src.tracking.artifacts import import_mlflow_pytorch

    # Loading a model prints a tqdm bar per download; evaluate and predict print their own output.
    os.environ.setdefault("MLFLOW_ENABLE_ARTIFACTS_PROGRESS_BAR", "false")
    client = use_store(resolve_tracking_uri(tracking_uri))
    try:
        info = get_model_info(uri)
        # Logged in eval mode; an exported (pt2) program refuses .eval()/.train() anyway.
        net = import_mlflow_pytorch().load_model(uri, map_location="cpu")
    except MlflowException as error:
        missing = _missing_model(client, uri)
        raise UsageError(missing or f"cannot load model {uri!r}: {error.message}") from error
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


def _missing_model(client, uri: str) -> str | None:
    """What to say when runs:/ID/PATH names a run that exists but logged no model there; None
    when that is not the reason (no such run, another store's error)."""
    from mlflow.exceptions import MlflowException

    words = uri.removeprefix("runs:/").split("/", 1)
    if not uri.startswith("runs:/") or len(words) != 2:
        return None
    run_id, name = words
    try:
        run = client.get_run(run_id)
        logged = client.search_logged_models(
            [run.info.experiment_id], filter_string=f"source_run_id = '{run_id}'"
        )
    except MlflowException:
        return None
    if logged:  # it logged models, under other names
        names = ", ".join(sorted({model.name for model in logged}))
        return f"run {run_id} has no model named {name!r}; its logged models: {names}"
    params = run.data.params
    experiment = params.get("mlflow.experiment_name")
    if experiment is None:
        experiment = client.get_experiment(run.info.experiment_id).name
    folder = Path(params.get("checkpoint_dir", "checkpoints")) / experiment / run_id
    found = next((folder / n for n in ("best.ckpt", "last.ckpt") if (folder / n).is_file()), None)
    where = (
        f"--checkpoint {found}"
        if found
        else f"--checkpoint {folder / 'best.ckpt'} (not found here)"
    )
    return (
        f"run {run_id} has no logged model (it ran with mlflow.log_model=false); load its"
        f" checkpoint instead: {where}"
    )


def _from_checkpoint(path: Path) -> TrainedModel:
    from src.training.build import build_net

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
