"""What a study invocation leaves behind: the best trial as a ready training config, the parent
MLflow run's settings, best value, params and plots, and the summary printed at the end."""

from __future__ import annotations

import dataclasses
import json
import re
import shlex
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from src.config.dotted import with_values
from src.config.parsing import parse_train_config
from src.config.train import TrainConfig
from src.config.tune import TuneConfig
from src.tracking.runs import log_params, log_tags
from src.tuning.constraints import Feasibility, feasibility
from src.tuning.plots import study_figures
from src.tuning.repeated_best import RunnerUp, compare_with_runner_up
from src.tuning.repeats import group_flags
from src.tuning.search import decode
from src.tuning.storage import StorageLocation


@dataclass
class StudySummary:
    counts: dict[str, int]
    best: list  # FrozenTrials: the best one, or the Pareto front (best val acc first)
    best_config_path: Path | None
    runner_up: RunnerUp | None = None  # with repeats: the best against the second best
    feasibility: Feasibility | None = None  # with constraints: how many trials broke them
    stop_reason: str | None = None  # with stop: why the study ended before n_trials


def best_trials(study, cfg: TuneConfig) -> list:
    """[the best trial], or the Pareto front sorted by val acc; [] before any trial completes.
    With constraints both hold feasible trials only (Optuna 5 does that), so [] while none is."""
    from optuna.trial import TrialState

    if not study.get_trials(deepcopy=False, states=(TrialState.COMPLETE,)):
        return []
    if not cfg.multi_objective:
        try:
            return [study.best_trial]
        except ValueError:  # "No feasible trials are completed yet."
            return []
    return sorted(study.best_trials, key=lambda t: -t.values[0])


def best_train_config(cfg: TuneConfig, trial) -> dict[str, Any]:
    """The base training config with the trial's params: what `python -m src.train` needs."""
    values = decode(trial.params, cfg.search_space)
    values["mlflow.run_name"] = f"best-{cfg.study_name}"
    return with_values(dataclasses.asdict(cfg.train), values)


def differences(config: dict[str, Any], defaults: dict[str, Any]) -> dict[str, Any]:
    """The keys whose values differ from the defaults: config files hold only those."""
    diff = {}
    for key, value in config.items():
        default = defaults.get(key)
        if isinstance(value, dict) and isinstance(default, dict):
            nested = differences(value, default)
            if nested:
                diff[key] = nested
        elif value != default:
            diff[key] = value
    return diff


def export_best_config(cfg: TuneConfig, trial) -> Path:
    """configs/experiments/best-<study>.yaml, checked by the training schema before writing."""
    import yaml

    config = best_train_config(cfg, trial)
    parse_train_config(config)
    defaults = json.loads(json.dumps(dataclasses.asdict(TrainConfig())))
    safe_name = re.sub(r"[^A-Za-z0-9._-]+", "-", cfg.study_name)
    path = Path(cfg.best_config_dir) / f"best-{safe_name}.yaml"
    path.parent.mkdir(parents=True, exist_ok=True)
    header = (
        f"# Best trial {trial.number} of Optuna study {cfg.study_name!r}: "
        f"val/acc_best {trial.values[0]:.4f}. Written by python -m src.tune.\n"
        f"# Train it: python -m src.train --config {path}\n"
    )
    body = yaml.safe_dump(differences(config, defaults), sort_keys=False)
    path.write_text(header + body)
    return path


def log_study_settings(client, run_id: str, cfg: TuneConfig, location: StorageLocation) -> None:
    settings = {
        "study_name": cfg.study_name,
        "objectives": ",".join(cfg.objectives),
        "n_trials": cfg.n_trials,
        "timeout": cfg.timeout,
        "n_jobs": cfg.n_jobs,
        "storage": location.display,
        "sampler": dataclasses.asdict(cfg.sampler),
        "pruner": dataclasses.asdict(cfg.pruner) if not cfg.multi_objective else "none",
        "repeats": dataclasses.asdict(cfg.repeats),
        "search_space": {
            key: json.dumps(
                {k: v for k, v in dataclasses.asdict(spec).items() if v not in (None, False)}
            )
            for key, spec in cfg.search_space.items()
        },
    }
    log_params(client, run_id, settings)
    log_tags(client, run_id, {"mlflow.note.content": f"Optuna study {cfg.study_name}"})


def log_study_outcome(client, run_id: str, study, cfg: TuneConfig, summary: StudySummary) -> None:
    """Counts, best value and params, best config, and the plots into the parent run."""
    from mlflow.entities import Metric

    now = int(time.time() * 1000)
    metrics = {f"trials_{state}": count for state, count in summary.counts.items()}
    if summary.best:
        best = summary.best[0]
        metrics["best_val_acc"] = best.values[0]
        for name, value in zip(cfg.objectives[1:], best.values[1:], strict=True):
            metrics[f"best_{name}"] = value
        log_params(client, run_id, {"best": {**best.params, "trial_number": best.number}})
    if summary.runner_up is not None:
        metrics |= summary.runner_up.metrics()
    if summary.feasibility is not None:
        metrics["trials_infeasible"] = summary.feasibility.infeasible
    if summary.stop_reason is not None:
        log_tags(client, run_id, {"stop_reason": summary.stop_reason})
    client.log_batch(run_id, metrics=[Metric(k, float(v), now, 0) for k, v in metrics.items()])
    if summary.best_config_path is not None:
        client.log_artifact(run_id, str(summary.best_config_path))
    if cfg.multi_objective and summary.best:
        front = [
            {
                "trial": t.number,
                **dict(zip(cfg.objectives, t.values, strict=True)),
                "params": t.params,
            }
            for t in summary.best
        ]
        client.log_text(run_id, json.dumps(front, indent=2), "pareto_front.json")
    figures, skipped = study_figures(study, cfg.objectives)
    for path, figure in figures.items():
        client.log_figure(run_id, figure, path, save_kwargs={"bbox_inches": "tight"})
    import matplotlib.pyplot as plt

    plt.close("all")
    if skipped:
        notes = "\n".join(f"{name}: {reason}" for name, reason in skipped.items())
        client.log_text(run_id, notes + "\n", "plots/skipped.txt")
        for name, reason in skipped.items():
            print(f"note: plot {name} not drawn: {reason}")


def count_states(study) -> dict[str, int]:
    counts = {"complete": 0, "pruned": 0, "fail": 0, "running": 0, "waiting": 0}
    for trial in study.get_trials(deepcopy=False):
        counts[trial.state.name.lower()] += 1
    return counts


def finish(
    study,
    cfg: TuneConfig,
    location: StorageLocation,
    client,
    run_id: str,
    argv: list[str],
    stop_reason: str | None = None,
) -> StudySummary:
    best = best_trials(study, cfg)
    path = export_best_config(cfg, best[0]) if best else None
    summary = StudySummary(
        count_states(study),
        best,
        path,
        compare_with_runner_up(study, cfg),
        feasibility(study, cfg),
        stop_reason,
    )
    log_study_outcome(client, run_id, study, cfg, summary)
    print_study_summary(summary, cfg, location, client.tracking_uri, run_id, argv)
    return summary


def print_study_summary(
    summary: StudySummary,
    cfg: TuneConfig,
    location: StorageLocation,
    tracking_uri: str,
    run_id: str,
    argv: list[str],
) -> None:
    from rich.console import Console
    from rich.table import Table

    console = Console()
    c = summary.counts
    table = Table(title=f"Optuna study {cfg.study_name!r}", show_header=False)
    counts = f"{c['complete']} complete, {c['pruned']} pruned, {c['fail']} failed"
    table.add_row("trials", f"{counts} (target: {cfg.n_trials} finished)")
    if summary.stop_reason is not None:
        table.add_row("stopped", summary.stop_reason)
    if summary.feasibility is not None:
        table.add_row("constraints", summary.feasibility.sentence())
    if summary.best and not cfg.multi_objective:
        best = summary.best[0]
        mean = f", the mean of {cfg.repeats.count} members" if cfg.repeats.count else ""
        table.add_row("best trial", f"#{best.number}: val/acc_best {best.values[0]:.4f}{mean}")
        for key, value in best.params.items():
            table.add_row(f"  {key}", _short(value))
        if summary.runner_up is not None:
            table.add_row("best vs runner-up", summary.runner_up.sentence())
    elif summary.best:
        best = summary.best[0]
        table.add_row("best trial", f"#{best.number}: the highest val acc on the Pareto front")
    elif summary.feasibility is not None and summary.feasibility.judged:
        table.add_row("best trial", f"none feasible; {summary.feasibility.closest}")
    else:
        table.add_row("best trial", "none yet: no trial completed")
    resume = shlex.join(["python", "-m", "src.tune", *argv])
    if not any(word.startswith(("--study_name", "--study-name")) for word in argv):
        resume += f" --study-name {shlex.quote(cfg.study_name)}"
    table.add_row("resume / extend", f"{resume}   (raise --n-trials to add trials)")
    if summary.best_config_path is not None:
        table.add_row("best config", str(summary.best_config_path))
        train_it = f"python -m src.train --config {summary.best_config_path}"
        table.add_row("train it", train_it + group_flags(cfg))
    table.add_row("storage", location.display)
    table.add_row("dashboard", f"optuna-dashboard {shlex.quote(location.display)}")
    table.add_row("MLflow parent run", f"{run_id}  (mlflow ui --backend-store-uri {tracking_uri})")
    console.print(table)
    if cfg.multi_objective and summary.best:
        front = Table(title="Pareto front (best val acc first)")
        for column in ("trial", *cfg.objectives, "params"):
            front.add_column(column)
        for trial in summary.best:
            values = [
                f"{v:.4f}" if name == "val_acc" else f"{v:.4g}"
                for name, v in zip(cfg.objectives, trial.values, strict=True)
            ]
            params = ", ".join(f"{k}={_short(v)}" for k, v in trial.params.items())
            front.add_row(str(trial.number), *values, params)
        console.print(front)


def _short(value: Any) -> str:
    return f"{value:.4g}" if isinstance(value, float) else str(value)
