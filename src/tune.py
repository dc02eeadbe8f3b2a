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

from src.config.parsing import parse_tune_config
from src.runtime.main import run_main
from src.runtime.process import importing_libraries


def main(argv: list[str]) -> int:
    cfg = parse_tune_config(argv, description=__doc__.split("\n\n")[0])
    with importing_libraries():
        from src.tuning.study import run_study

    run_study(cfg, argv, debug="--debug" in argv)
    return 0


if __name__ == "__main__":
    run_main(main)
