"""`python -m src.train`: config -> Trainer -> fit -> test on the best checkpoint -> MLflow run.

Examples:
  python -m src.train
  python -m src.train --config configs/experiments/keras_tutorial.yaml
  python -m src.train --model.activation tanh --optimizer.lr 3e-4 --trainer.max_epochs 5
  python -m src.train --ckpt_path last          # resume the newest interrupted run
  python -m src.train --resume 3f2c...e1        # resume that run, with its saved config
  python -m src.train --print_config            # the resolved config as YAML
  python -m src.train --register-model mnist-mlp   # register it; alias champion = best val/acc_best
  python -m src.train --seeds 5                 # a group: seeds 42..46, mean and 95% t interval
  python -m src.train --seeds 3 --folds 5 --n-jobs 2   # 3 seeds x 5 folds, 2 processes at once
"""

from __future__ import annotations

from src.config.dotted import flatten
from src.config.parsing import (
    add_train_arguments,
    instantiate_train_config,
    known_keys,
    new_parser,
    parse_args,
)
from src.errors import UsageError
from src.runtime.main import run_main
from src.runtime.process import importing_libraries
from src.runtime.signals import RunInterrupted
from src.training.checkpoints import find_run_checkpoint, read_checkpoint


def main(argv: list[str]) -> int:
    parser = new_parser("python -m src.train", __doc__.split("\n\n")[0])
    add_train_arguments(parser)
    parser.add_argument(
        "--resume",
        metavar="RUN_ID",
        help="continue this MLflow run from its last.ckpt, with its saved config under the options"
        " given here",
    )
    parser.add_argument(
        "--seeds",
        metavar="N|S1,S2,...",
        help="train a group: N seeds counting up from --seed, or exactly these seeds (the same"
        " command again resumes the group)",
    )
    parser.add_argument(
        "--folds",
        metavar="K",
        type=int,
        help="train a group: one run per fold of K-fold cross-validation (sets data.folds=K)",
    )
    parser.add_argument(
        "--n-jobs", metavar="K", type=int, default=1, help="train a group's runs K at a time"
    )
    # The issue-tracker spelling `--register-model NAME` for the schema key mlflow.register_model.
    argv = [
        w.replace("--register-model", "--mlflow.register_model", 1)
        if w.startswith("--register-model")
        else w
        for w in argv
    ]
    namespace = parse_args(parser, argv)
    grouped = namespace.seeds is not None or namespace.folds is not None
    if grouped and (namespace.resume or namespace.ckpt_path is not None):
        raise UsageError(
            "--seeds/--folds with --resume/--ckpt_path: a group resumes when the same command is"
            " run again; give one of them"
        )
    if not grouped and namespace.n_jobs != 1:
        raise UsageError(f"--n-jobs {namespace.n_jobs}: only for groups; add --seeds or --folds")
    if grouped:
        return _train_group(instantiate_train_config(namespace, parser), namespace)
    if namespace.resume:
        if namespace.ckpt_path is not None:
            raise UsageError("--resume RUN_ID and --ckpt_path both given; give one of them")
        path = find_run_checkpoint(namespace.checkpoint_dir, namespace.resume)
        saved = read_checkpoint(path, f"--resume {namespace.resume}").get("train_config") or {}
        keys = set(known_keys(parser))
        defaults = {key: value for key, value in flatten(saved).items() if key in keys}
        parser.set_defaults({**defaults, "ckpt_path": str(path)})
        namespace = parse_args(parser, argv)
    cfg = instantiate_train_config(namespace, parser)
    with importing_libraries():
        from src.training.run import run_training

    try:
        result = run_training(cfg)
    except RunInterrupted as stop:
        if stop.run_id:
            stop.hint = f"continue it with: python -m src.train --resume {stop.run_id}"
        raise
    if result.run_id is not None:
        from src.training.report import print_training_summary

        print_training_summary(result)
    return 0


def _train_group(cfg, namespace) -> int:
    from src.groups.members import plan_group

    if namespace.n_jobs < 1:
        raise UsageError(f"--n-jobs {namespace.n_jobs}: expected an int >= 1")
    cfg, members = plan_group(cfg, namespace.seeds, namespace.folds)  # bad flags: before torch
    with importing_libraries():
        from src.groups.runner import run_group
        from src.groups.summary import print_group_summary

    print_group_summary(run_group(cfg, members, n_jobs=namespace.n_jobs))
    return 0


if __name__ == "__main__":
    run_main(main)
