"""The MLflow Model Registry: a new version per registered model, and the `champion` alias on
the version that did best on validation."""

from __future__ import annotations

from src.errors import UsageError

CHAMPION = "champion"
# Chosen on validation, like every other choice here: ranking versions by test accuracy would make
# the test set a selection set, and the champion's test score an optimistic one.
RANKING_METRIC = "val/acc_best"
REGISTERED_TAG = "registered_model"  # run tag "NAME/VERSION", shown in the summary


def register(client, model_uri: str, name: str, run_id: str | None = None) -> str:
    """A new version of registered model `name` pointing at `model_uri`; returns the version."""
    import mlflow

    version = mlflow.register_model(model_uri, name).version
    if run_id is not None:
        client.set_tag(run_id, REGISTERED_TAG, f"{name}/{version}")
    return str(version)


def promote_best(client, name: str, alias: str = CHAMPION, metric: str = RANKING_METRIC) -> str:
    """Point `alias` at the version whose run has the highest `metric`; returns that version.

    Versions whose run lacks the metric (trained without validation, `data.val_size 0`) rank below
    all others; ties go to the newest version.
    """
    quoted = name.replace("'", "\\'")
    versions = client.search_model_versions(f"name = '{quoted}'")
    if not versions:
        raise UsageError(f"registered model {name!r} has no versions")

    def rank(version) -> tuple[bool, float, int]:
        value = None
        if version.run_id:
            value = client.get_run(version.run_id).data.metrics.get(metric)
        return value is not None, value if value is not None else 0.0, int(version.version)

    best = max(versions, key=rank)
    client.set_registered_model_alias(name, alias, best.version)
    return str(best.version)
