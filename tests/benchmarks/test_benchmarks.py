"""The GPU benchmark's code, run on the CPU with the synthetic set (`--accelerator cpu`, its dry
run): what runs on a lent GPU must not break unseen between loans."""

from __future__ import annotations

from benchmarks import bench_gpu
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
