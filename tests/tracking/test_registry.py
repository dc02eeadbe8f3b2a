"""The model registry: the champion alias goes to the best version on validation, not the newest
and not the best on the test set."""

from __future__ import annotations

from tests.helpers import REGISTERED


def test_champion_alias_points_at_the_best_version_not_the_newest(registered) -> None:
    client = registered["client"]
    champion = client.get_model_version_by_alias(REGISTERED, "champion")
    assert champion.run_id == registered["good"].run_id
    newest = max(int(v.version) for v in client.search_model_versions(f"name = '{REGISTERED}'"))
    assert int(champion.version) < newest


def test_registered_version_is_tagged_on_its_run(registered) -> None:
    tags = registered["client"].get_run(registered["bad"].run_id).data.tags
    assert tags["registered_model"].startswith(f"{REGISTERED}/")


def test_champion_is_chosen_on_validation_not_on_the_test_set(tmp_path) -> None:
    """Two versions whose val and test rankings disagree, and one trained without validation."""
    from mlflow.tracking import MlflowClient

    from src.tracking import registry, store

    client = MlflowClient(f"sqlite:///{tmp_path / 'mlflow.db'}")
    experiment = store.ensure_experiment(client, "ranking")
    client.create_registered_model("ranked")
    scores = {"best-val": (0.97, 0.90), "best-test": (0.95, 0.99), "refit": (None, 0.995)}
    versions = {}
    for label, (val_best, test_acc) in scores.items():
        run_id = client.create_run(experiment, run_name=label).info.run_id
        if val_best is not None:
            client.log_metric(run_id, "val/acc_best", val_best)
        client.log_metric(run_id, "test/acc", test_acc)
        client.set_terminated(run_id)
        source = tmp_path / label
        source.mkdir()
        versions[label] = client.create_model_version("ranked", str(source), run_id).version
    assert registry.promote_best(client, "ranked") == str(versions["best-val"])
    assert client.get_model_version_by_alias("ranked", "champion").version == versions["best-val"]
