"""The GPU benchmark's code, run on the CPU with the synthetic set (`--accelerator cpu`, its dry
run): what runs on a lent GPU must not break unseen between loans. And the system-metrics
benchmark's rows, on the same set."""

from __future__ import annotations

import pytest

from benchmarks import bench_gpu, bench_system_metrics
from src.data.datamodule import MNISTDataModule
from tests.helpers import VAL_SIZE


def tiny_datamodule(data_dir) -> MNISTDataModule:
    dm = MNISTDataModule(data_dir=str(data_dir), val_size=VAL_SIZE)
    dm.prepare_data()
    dm.setup("fit")
    return dm


def test_epoch_sweep_times_both_sides_per_batch_size(tiny_data_dir) -> None:
    dm = tiny_datamodule(tiny_data_dir)
    rows = bench_gpu.bench_epochs(dm, "cpu", [100, 250], ["32-true"], reps=2, epochs=2)
    assert [(r["batch_size"], r["steps"]) for r in rows] == [(100, 10), (250, 4)]
    for r in rows:
        assert r["ours_median_s"] > 0 and r["theirs_median_s"] > 0
        assert r["ratio_range"][0] <= r["ratio_median"] <= r["ratio_range"][1]


def test_time_to_98_sweep_uses_the_recipe_with_each_batch_size(tiny_data_dir) -> None:
    dm = tiny_datamodule(tiny_data_dir)
    extra = ["--trainer.precision=32-true", "--trainer.max_epochs=3"]
    rows = bench_gpu.bench_time_to_98_sweep(dm, "cpu", [100, 500], seeds=1, extra=extra)
    assert [r["batch_size"] for r in rows] == [100, 500]
    for r in rows:
        epochs = [e for e, _, _ in r["curve"]]
        assert epochs == [1, 2, 3]
        seconds = [t for _, t, _ in r["curve"]]
        assert seconds == sorted(seconds) and seconds[-1] <= r["fit_s"]
        assert r["lr"] == 0.001 and r["precision"] == "32-true"
    table = bench_gpu.markdown({"machine": bench_gpu.machine("cpu"), "time_to_98": rows})
    assert "| gpu_fast.yaml (32-true, lr 0.001) | 500 | 0 |" in table
    assert "| ≤ 1 s |" in table


@pytest.mark.slow  # four tracked fits, each opening and closing an MLflow run
def test_system_metrics_rows_time_both_sides_and_one_sample(tiny_data_dir, mlflow_store) -> None:
    from src.tracking.store import ensure_experiment, use_store

    client = use_store(mlflow_store)
    experiment_id = ensure_experiment(client, "bench-system-metrics")
    dm = tiny_datamodule(tiny_data_dir)
    row = bench_system_metrics.bench_epochs(dm, client, experiment_id, 0.5, reps=2, epochs=2)
    assert row["ours_median_s"] > 0 and row["theirs_median_s"] > 0
    sample = bench_system_metrics.bench_one_sample(client, experiment_id, samples=3)
    assert 0 < sample["range_s"][0] <= sample["median_s"] <= sample["range_s"][1]
    table = bench_system_metrics.markdown({"frequent": row, "sample": sample})
    assert "system metrics every 0.5 s vs off" in table and "of 5 s | ≤ 1% |" in table
    assert 0.0 <= row["sampler_cpu_share"] < 1.0  # of one core, over the fits with sampling
    # a cost measured at 0.5 s is a tenth of that at the default 5 s (samples scale with 1/s)
    assert row["scaled_to_default"] == pytest.approx((row["ratio_median"] - 1) * 0.5 / 5.0)
