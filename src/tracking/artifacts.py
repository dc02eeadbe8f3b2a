"""What a finished training run leaves in MLflow: config, plots, the model and its registration."""

from __future__ import annotations

import dataclasses
import time

import numpy as np

from src.config.train import TrainConfig
from src.tracking import registry
from src.tracking.redaction import redact_config

MISCLASSIFIED_SHOWN = 24
# Predicted label per official test image, in test-set order: what paired comparisons of two
# runs (McNemar's test in src.compare) read. One byte per image (10 classes fit in uint8).
TEST_PREDICTIONS = "test_predictions.npy"


def log_run_outputs(
    client, run_id: str, cfg: TrainConfig, module, datamodule, timings: dict | None = None
) -> str | None:
    """Config YAML, test predictions, plots (with `mlflow.log_plots`) and model into the active
    run; returns the model URI. `timings` gets the seconds spent on the figures as "plots" and
    on the model (export, log, registration) as "model"."""
    import mlflow
    import yaml

    config = redact_config(dataclasses.asdict(cfg))  # no secrets in artifacts
    mlflow.log_text(yaml.safe_dump(config, sort_keys=False), "config.yaml")
    # The test split once the run was tested; tuning trials (no test) show validation instead.
    stage = next((s for s in ("test", "val") if s in module.last_confusion), None)
    probabilities = None
    if stage == "test":
        arrays = datamodule.arrays
        probabilities = predict_probabilities(module.net, arrays.test_x, cfg.data.eval_batch_size)
        log_test_predictions(probabilities.argmax(axis=1).astype(np.uint8))
    started = time.perf_counter()
    if cfg.mlflow.log_plots:
        _log_figures(client, run_id, module, datamodule, stage, probabilities)
    plotted = time.perf_counter()
    model_uri = None
    if cfg.mlflow.log_model:
        example = datamodule.arrays.test_x[:4].astype(np.float32)
        model_uri = log_model(module.net, example).model_uri
        name = cfg.mlflow.register_model
        if name:
            registry.register(client, model_uri, name, run_id)
            registry.promote_best(client, name)
    if timings is not None:
        timings["plots"] = plotted - started
        timings["model"] = time.perf_counter() - plotted
    return model_uri


def _log_figures(client, run_id: str, module, datamodule, stage, probabilities) -> None:
    import mlflow

    # matplotlib only where figures are drawn: src.compare imports this module for
    # TEST_PREDICTIONS and loads no torchmetrics (which imports matplotlib when it is installed)
    from src.tracking import plots

    history = {
        key: [(m.step, m.value) for m in client.get_metric_history(run_id, key)]
        for key in ("train/loss", "val/loss", "train/acc", "val/acc")
    }
    names = datamodule.class_names
    figures = {"plots/learning_curves.png": plots.learning_curves(history)}
    if stage is not None:
        matrix = module.last_confusion[stage].numpy()
        figures[f"plots/confusion_matrix_{stage}.png"] = plots.confusion_matrix(
            matrix, names, f"{stage} confusion matrix"
        )
        figures[f"plots/per_class_accuracy_{stage}.png"] = plots.per_class_accuracy(
            matrix, names, f"{stage} accuracy per class"
        )
    if probabilities is not None:
        arrays = datamodule.arrays
        figures["plots/misclassified_test.png"] = plots.misclassified_grid(
            arrays.test_x, arrays.test_y, probabilities, names, "test", MISCLASSIFIED_SHOWN
        )
    for path, figure in figures.items():
        mlflow.log_figure(figure, path)
        plots.close(figure)


def log_test_predictions(predicted: np.ndarray) -> None:
    """The test predictions as TEST_PREDICTIONS at the active run's artifact root."""
    import tempfile
    from pathlib import Path

    import mlflow

    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / TEST_PREDICTIONS
        np.save(path, predicted)
        mlflow.log_artifact(str(path))


def predict_probabilities(net, pixels: np.ndarray, batch_size: int) -> np.ndarray:
    """Softmax outputs for uint8 pixels (n, 784), computed where the network lives."""
    import torch

    device = next(net.parameters()).device
    was_training = net.training
    net.eval()
    outputs = []
    with torch.no_grad():
        for start in range(0, len(pixels), batch_size):
            batch = torch.from_numpy(pixels[start : start + batch_size]).to(device)
            outputs.append(net(batch).float().softmax(-1).cpu())
    net.train(was_training)
    return torch.cat(outputs).numpy() if outputs else np.zeros((0, 10), np.float32)


def log_model(net, input_example: np.ndarray, name: str = "model"):
    """Log the network into the active run as an exported program (`serialization_format="pt2"`).

    pt2 holds the graph and weights, no pickled classes: `mlflow models serve` and
    `mlflow.pyfunc.load_model` need neither this project's code nor Lightning, and loading cannot
    run arbitrary code. The batch dimension stays dynamic (the example has 4 rows). Requirements
    are given explicitly: inferring them imports and inspects the environment, which takes
    seconds, more than the rest of a short run's logging.
    """
    import copy

    import mlflow
    import torch
    from mlflow.models import infer_signature

    mlflow_pytorch = import_mlflow_pytorch()
    net = copy.deepcopy(net).to("cpu").eval()  # the caller's module stays where it was
    with torch.no_grad():
        output = net(torch.as_tensor(input_example)).numpy()
    requirements = [f"torch=={torch.__version__.split('+')[0]}", f"mlflow=={mlflow.__version__}"]
    return mlflow_pytorch.log_model(
        net,
        name=name,
        signature=infer_signature(input_example, output),
        input_example=input_example,
        pip_requirements=requirements,
        serialization_format="pt2",
    )


def import_mlflow_pytorch():
    """mlflow.pytorch without the standalone `pytorch_lightning` package.

    mlflow.pytorch imports pytorch_lightning (a second copy of Lightning: +2.4 s here, measured
    with `python -X importtime`) only to offer an autologging checkpoint callback, and skips it
    when that import fails. This project trains with `lightning.pytorch` and never autologs, so
    for the duration of the import pytorch_lightning is made unimportable.
    """
    import sys

    if "mlflow.pytorch" in sys.modules:
        return sys.modules["mlflow.pytorch"]
    blocked = "pytorch_lightning" not in sys.modules
    if blocked:
        sys.modules["pytorch_lightning"] = None  # `import pytorch_lightning` -> ImportError
    try:
        import mlflow.pytorch
    finally:
        if blocked and sys.modules.get("pytorch_lightning", 0) is None:
            del sys.modules["pytorch_lightning"]
    return mlflow.pytorch
