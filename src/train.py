"""`python -m src.train`: config -> Trainer -> fit -> test on the best checkpoint -> MLflow run.

Examples:
  python -m src.train
  python -m src.train --config configs/experiments/keras_tutorial.yaml
  python -m src.train --model.activation tanh --optimizer.lr 3e-4 --trainer.max_epochs 5
  python -m src.train --ckpt_path last          # resume the newest interrupted run
  python -m src.train --resume 3f2c...e1        # resume that run, with its saved config
  python -m src.train --print_config            # the resolved config as YAML
  python -m src.train --register-model mnist-mlp   # register it; alias champion = best val/acc_best
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
    # The issue-tracker spelling `--register-model NAME` for the schema key mlflow.register_model.
    argv = [
        w.replace("--register-model", "--mlflow.register_model", 1)
        if w.startswith("--register-model")
        else w
        for w in argv
    ]
    namespace = parse_args(parser, argv)
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


if __name__ == "__main__":
    run_main(main)
