"""A study's figures, drawn with Optuna's matplotlib backend for the MLflow parent run."""

from __future__ import annotations

import warnings
from collections.abc import Callable

import numpy as np
import optuna
from matplotlib.figure import Figure
from optuna.visualization import matplotlib as optuna_plots

OBJECTIVE_LABELS = {
    "val_acc": "val acc (best epoch)",
    "param_count": "parameters",
    "latency_ms": "latency (ms)",
}


def study_figures(
    study: optuna.Study, objectives: list[str]
) -> tuple[dict[str, Figure], dict[str, str]]:
    """Figures by artifact path, and the plots that could not be drawn with the reason (too few
    finished trials, say): a missing plot never fails the study."""
    multi = len(objectives) > 1
    accuracy = {"target": (lambda t: t.values[0]) if multi else None, "target_name": "val acc"}
    plots: dict[str, Callable] = {
        "optimization_history": lambda: optuna_plots.plot_optimization_history(study, **accuracy),
        "param_importances": lambda: optuna_plots.plot_param_importances(study, **accuracy),
        "parallel_coordinate": lambda: optuna_plots.plot_parallel_coordinate(study, **accuracy),
    }
    if multi:
        names = [OBJECTIVE_LABELS[name] for name in objectives]
        plots["pareto_front"] = lambda: optuna_plots.plot_pareto_front(study, target_names=names)
    else:
        plots["intermediate_values"] = lambda: optuna_plots.plot_intermediate_values(study)
    figures, skipped = {}, {}
    for name, draw in plots.items():
        try:
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")  # experimental-API notices
                axes = draw()
        except Exception as error:  # noqa: BLE001 - a plot that cannot be drawn is only noted
            skipped[name] = f"{type(error).__name__}: {error}"
            continue
        figure = np.atleast_1d(axes).flat[0].figure
        figure.set_size_inches(8, 5)
        figures[f"plots/{name}.png"] = figure
    return figures, skipped
