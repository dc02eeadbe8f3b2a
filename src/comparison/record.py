"""`--log`: a comparison kept as a run of its own, with the table as artifacts.

Comparisons go to one experiment, `comparisons`, not the baseline's: candidates may come from
several experiments, and a training experiment's list should hold training runs, so that the
UI's "Group by" over config_hash sees replicas only. Tags make a comparison findable from any run
it compared: `compared_runs` lists the ids, and `compared_run.<id>` is set on it for each one
(search `tags."compared_run.<id>" != ''`).
"""

from __future__ import annotations

from src.comparison.comparison import Comparison
from src.tracking.store import ensure_experiment

EXPERIMENT = "comparisons"
MARKDOWN_ARTIFACT, JSON_ARTIFACT = "comparison.md", "comparison.json"


def log_comparison(client, comparison: Comparison, markdown: str, document: dict) -> str:
    """A new FINISHED run holding comparison.md and comparison.json; returns its id."""
    ids = [candidate.run_id for candidate in comparison.candidates]
    tags = {"compared_runs": ",".join(ids), "compared_metric": comparison.metric}
    for index, run_id in enumerate(ids):
        tags[f"compared_run.{run_id}"] = "baseline" if index == 0 else f"candidate {index}"
    names = [candidate.name for candidate in comparison.candidates]
    run = client.create_run(
        ensure_experiment(client, EXPERIMENT),
        run_name=f"compare {' vs '.join(names)}"[:250],
        tags=tags,
    )
    run_id = run.info.run_id
    try:
        client.log_text(run_id, markdown, MARKDOWN_ARTIFACT)
        client.log_dict(run_id, document, JSON_ARTIFACT)
    except BaseException:
        client.set_terminated(run_id, "FAILED")  # no comparison run left RUNNING
        raise
    client.set_terminated(run_id, "FINISHED")
    return run_id
