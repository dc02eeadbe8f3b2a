"""`python -m src.tracking sweep [--dry-run]`: close the runs that dead processes left RUNNING.

Every command that opens the store does this on its own (src/tracking/owners.py); this is the same
on demand, for a store nobody has opened since a machine went away. It prints what it closed (or,
with --dry-run, what it would close) and the RUNNING runs it leaves alone and why.

Examples:
  python -m src.tracking sweep --dry-run
  python -m src.tracking sweep --grace 120 --tracking-uri http://mlflow.internal:5000
"""

from __future__ import annotations

from src.config.parsing import new_parser, parse_args
from src.runtime.main import run_main
from src.tracking import owners
from src.tracking.store import resolve_tracking_uri, use_store


def main(argv: list[str]) -> int:
    parser = new_parser("python -m src.tracking", __doc__.split("\n\n")[0])
    parser.add_argument("command", choices=["sweep"])
    parser.add_argument("--dry-run", action="store_true", help="list only; close nothing")
    parser.add_argument(
        "--grace",
        type=float,
        default=owners.GRACE_S,
        help="seconds without a heartbeat after which another host's run counts as dead",
    )
    parser.add_argument("--tracking-uri", help="default: $MLFLOW_TRACKING_URI or mlruns/")
    args = parse_args(parser, argv)
    uri = resolve_tracking_uri(args.tracking_uri)
    client = use_store(uri, close_dead_runs=False)
    running = owners.running_runs(client)
    dead = owners.close_dead_runs(client, grace_s=args.grace, dry_run=args.dry_run)
    verb = "would close" if args.dry_run else "closed"
    for run in dead:
        print(f"{verb} {run.run_id} {run.name!r}: {run.reason}")
    closed = {run.run_id for run in dead}
    for run in running:
        if run.info.run_id in closed:
            continue
        owner = run.data.tags.get(owners.OWNER_TAG)
        why = f"owner {owner} is alive or recent" if owner else "no owner recorded"
        print(f"left {run.info.run_id} {run.info.run_name or ''!r} RUNNING: {why}")
    print(f"{uri}: {len(running)} RUNNING, {len(dead)} {verb} (KILLED)")
    return 0


if __name__ == "__main__":
    run_main(main)
