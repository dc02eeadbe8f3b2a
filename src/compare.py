"""`python -m src.compare`: is a run, or a group of seeds/folds, better than a baseline, or is
the difference noise? Each candidate is tested against the first one named (docs/comparing.md).

Examples:
  python -m src.compare BASELINE_GROUP_ID CANDIDATE_GROUP_ID
  python -m src.compare models:/mnist-mlp@champion 3f2c...e1 --json
  python -m src.compare GROUP_A GROUP_B GROUP_C --metric test/f1 --log
"""

from __future__ import annotations

import json

from src.config.parsing import new_parser, parse_args
from src.runtime.main import run_main
from src.runtime.process import importing_libraries


def main(argv: list[str]) -> int:
    parser = new_parser("python -m src.compare", __doc__.split("\n\n")[0])
    parser.add_argument(
        "runs", nargs="+", help="run ids, group (parent) run ids or models:/ URIs; first: baseline"
    )
    parser.add_argument("--metric", default="test/acc", help="the metric tested (test/acc)")
    parser.add_argument("--json", action="store_true", help="print one JSON document only")
    parser.add_argument("--log", action="store_true", help="log the table as a new MLflow run")
    parser.add_argument("--tracking-uri", help="default: $MLFLOW_TRACKING_URI or mlruns/")
    args = parse_args(parser, argv)
    with importing_libraries():
        from src.comparison.comparison import compare_runs
        from src.comparison.record import log_comparison
        from src.comparison.report import to_document, to_markdown
        from src.tracking.store import resolve_tracking_uri, use_store

    # Read-only unless --log: not even the sweep that closes dead processes' runs.
    client = use_store(resolve_tracking_uri(args.tracking_uri), close_dead_runs=args.log)
    comparison = compare_runs(client, args.runs, args.metric)
    markdown, document = to_markdown(comparison), to_document(comparison)
    logged = log_comparison(client, comparison, markdown, document) if args.log else None
    if args.json:
        print(json.dumps({**document, "logged_run_id": logged}, indent=2))
    else:
        print(markdown, end="")
        if logged:
            print(f"\nlogged as run {logged} (experiment comparisons)")
    return 0


if __name__ == "__main__":
    run_main(main)
