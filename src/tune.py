"""`python -m src.tune`: an Optuna study whose trials each take `src.train`'s one build path.

Examples:
  python -m src.tune                        # the default study: configs/tune/default.yaml
  python -m src.tune --n-trials 3           # the same study, shorter
  python -m src.tune --config configs/tune/pareto.yaml    # accuracy vs parameter count
  python -m src.tune --n-jobs 2             # two worker processes sharing this machine's cores
  python -m src.tune --storage postgresql://user:password@host/db  # on each of several machines
  python -m src.tune --retrain-best         # then train the best config, report test accuracy
  python -m src.tune --print_config         # the resolved study config as YAML

Re-running with the same study name resumes the study until it holds n_trials finished trials.
Each invocation is one MLflow parent run; every trial is a nested child run tagged with its number
and final state (COMPLETE, PRUNED with status KILLED, FAIL with the reason).
"""

from __future__ import annotations

import dataclasses
import time
from collections.abc import Callable
from pathlib import Path

from src import cli
from src.cli import UsageError, new_parser, one_line, parse_train_config, run_main
from src.config import ConfigError, TrainConfig
from src.search_space import sample, with_values
from src.study_workers import open_study, quiet_expected_failures, run_workers, trial_tags
from src.tune_config import TuneConfig

DEFAULT_CONFIG = Path(__file__).resolve().parent.parent / "configs" / "tune" / "default.yaml"


# The spellings; the underscore forms (--n_trials) are the schema's own.
ALIASES = {
    "--n-trials": ("n_trials", int),
    "--n-jobs": ("n_jobs", int),
    "--study-name": ("study_name", str),
    "--retrain-best": ("retrain_best", bool),
    "--register-model": ("register_model", str),
}


def parse_tune_config(argv: list[str]) -> TuneConfig:
    """A TuneConfig from command-line words; configs/tune/default.yaml unless --config is given."""
    parser = new_parser("python -m src.tune", __doc__.split("\n\n")[0])
    parser.add_class_arguments(TuneConfig, fail_untyped=True, sub_configs=True)
    defaults = {f.name: f.default for f in dataclasses.fields(TuneConfig)}
    for flag, (dest, kind) in ALIASES.items():
        extra = {"nargs": "?", "const": True} if kind is bool else {}
        parser.add_argument(
            flag, dest=dest, type=kind, default=defaults[dest], help=f"same as --{dest}", **extra
        )
    if not any(word == "--config" or word.startswith("--config=") for word in argv):
        argv = ["--config", str(DEFAULT_CONFIG), *argv]
    namespace = cli.parse_args(parser, argv)  # names the bad file or key in one line
    try:
        init = parser.instantiate(namespace)
    except ConfigError:
        raise
    except Exception as error:
        raise UsageError(one_line(str(error))) from error
    return TuneConfig(**{f.name: init[f.name] for f in dataclasses.fields(TuneConfig)})


def make_objective(
    cfg: TuneConfig, processes_sharing_cpu: int = 1, deadline: float | None = None
) -> Callable:
    from src.train import run_training
    from src.trial_monitor import TrialMonitor

    def objective(trial) -> float | list[float]:
        values = sample(trial, cfg.search_space)
        train_cfg = trial_train_config(cfg, values, trial.number)
        monitor = TrialMonitor(
            trial,
            prune=not cfg.multi_objective,
            measure_latency="latency_ms" in cfg.objectives,
            deadline=deadline,
        )
        result = run_training(
            train_cfg,
            extra_callbacks=[monitor],
            nested=True,
            run_test=False,
            tags=trial_tags(cfg, trial),
            processes_sharing_cpu=processes_sharing_cpu,
        )
        trial.set_user_attr("epochs", result.epochs)
        monitor.raise_if_stopped()  # pruned, or a nan loss
        return objective_values(cfg, result, monitor)

    return objective


def objective_values(cfg: TuneConfig, result, monitor) -> float | list[float]:
    """The best val/acc over the trial's epochs (never the last epoch's, never the test set's),
    then param_count or latency_ms in a multi-objective study."""
    if result.best_val_acc is None:
        raise RuntimeError("no val/acc was measured: check trainer.limit_val_batches")
    measured = {
        "val_acc": result.best_val_acc,
        "param_count": float(monitor.param_count),
        "latency_ms": monitor.latency_ms,
    }
    values = [measured[name] for name in cfg.objectives]
    return values if cfg.multi_objective else values[0]


def trial_train_config(cfg: TuneConfig, values: dict, number: int) -> TrainConfig:
    """Base config + sampled values, validated by the training schema (ConfigError fails the
    trial, with the key in the reason). Trials log no model: the best config is retrained."""
    trial_values = {
        **values,
        "mlflow.run_name": f"{cfg.study_name}-trial-{number}",
        "mlflow.log_model": False,
    }
    return parse_train_config(with_values(dataclasses.asdict(cfg.train), trial_values))


def main(argv: list[str]) -> int:
    cfg = parse_tune_config(argv)
    debug = "--debug" in argv
    from src import study_results, study_storage, tracking

    quiet_expected_failures(debug)
    uri = tracking.resolve_tracking_uri(cfg.train.mlflow.tracking_uri)
    location = study_storage.locate(cfg.storage, uri)
    if cfg.multi_objective and cfg.pruner.name != "none":
        print(f"note: pruner {cfg.pruner.name} is off: Optuna prunes single-objective studies only")
    open_study(cfg, location)  # fail fast on a bad storage, before any worker starts
    client = tracking.use_store(uri)
    experiment_id = tracking.ensure_experiment(client, cfg.train.mlflow.experiment_name)
    deadline = time.time() + cfg.timeout if cfg.timeout else None
    tags = {"role": "study", "study_name": cfg.study_name, "storage": location.display}
    with tracking.tracked_run(experiment_id, f"study-{cfg.study_name}", tags=tags) as parent:
        parent_run_id = parent.info.run_id
        study_results.log_study_settings(client, parent_run_id, cfg, location)
        run_workers(cfg, location, parent_run_id, deadline, debug)
        study = open_study(cfg, location)
        summary = study_results.finish(study, cfg, location, client, parent_run_id, argv)
        if cfg.retrain_best and summary.best_config_path is not None:
            retrain_best(summary.best_config_path, cfg, client, parent_run_id)
    return 0


def retrain_best(path: Path, cfg: TuneConfig, client, parent_run_id: str) -> None:
    """Train the exported best config, as `python -m src.train --config` would, and test it."""
    from src.report import print_summary
    from src.train import run_training

    register = [f"--mlflow.register_model={cfg.register_model}"] if cfg.register_model else []
    train_cfg = parse_train_config(["--config", str(path), "--mlflow.log_model=true", *register])
    tags = {"role": "retrain_best", "study_name": cfg.study_name}
    result = run_training(train_cfg, nested=True, tags=tags)
    print_summary(result)
    test_acc = result.test_metrics.get("test/acc")
    if test_acc is not None:
        from src.tracking import Metric

        now = int(time.time() * 1000)
        client.log_batch(parent_run_id, metrics=[Metric("retrain_best/test_acc", test_acc, now, 0)])
        print(f"best config retrained: test/acc {test_acc:.4f} (MLflow run {result.run_id})")


if __name__ == "__main__":
    run_main(main)
