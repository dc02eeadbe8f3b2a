"""The trainer's checkpoints and the logger's metrics go through one SerialWriter: when a
checkpoint file is written, the metrics logged before it are already in the store, however slow
the store. A process killed outright then never leaves a last.ckpt ahead of its run's history
(a resume from it would leave a hole; tests/commands/test_signals.py kills one)."""

from __future__ import annotations

import time
import uuid
from pathlib import Path

from lightning.pytorch.callbacks import Callback
from mlflow.tracking import MlflowClient

from src.config.parsing import parse_train_config
from src.tracking.logger import MlflowRunLogger
from src.tracking.store import ensure_experiment, use_store
from src.training import build
from tests.helpers import tiny_train_args


class SlowStore(MlflowClient):
    """The real client with the round trip of a distant tracking server added to each write."""

    def log_batch(self, *args, **kwargs):
        time.sleep(0.15)
        return super().log_batch(*args, **kwargs)


class StoreAtEachWrite(Callback):
    """What the store holds at the moment each checkpoint file is written, by (file, epoch)."""

    def __init__(self, client: MlflowClient, run_id: str) -> None:
        self.seen: dict[tuple[str, int], dict[str, set[int]]] = {}
        self._client, self._run_id = client, run_id

    def setup(self, trainer, pl_module, stage: str) -> None:
        files = trainer.strategy.checkpoint_io.checkpoint_io  # the torch.save under the thread
        save = files.save_checkpoint

        def save_and_look(checkpoint, path, storage_options=None) -> None:
            steps = {
                key: {m.step for m in self._client.get_metric_history(self._run_id, key)}
                for key in ("val/acc", "train/loss")
            }
            self.seen[(Path(path).stem, checkpoint["epoch"])] = steps
            save(checkpoint, path, storage_options)

        files.save_checkpoint = save_and_look


def test_no_checkpoint_is_written_before_the_metrics_logged_before_it(
    tiny_data_dir, tmp_path, mlflow_store
) -> None:
    epochs = 5
    words = [f"--trainer.max_epochs={epochs}", "--early_stopping.enabled=false"]
    cfg = parse_train_config([*tiny_train_args(tiny_data_dir, tmp_path, "writes"), *words])
    use_store(mlflow_store)
    client = SlowStore(mlflow_store)
    run_id = client.create_run(ensure_experiment(client, f"writes-{uuid.uuid4().hex[:8]}"))
    run_id = run_id.info.run_id
    datamodule = build.build_datamodule(cfg)
    datamodule.prepare_data()
    module = build.build_model(cfg, datamodule)
    looks = StoreAtEachWrite(MlflowClient(mlflow_store), run_id)
    logger = MlflowRunLogger(client, run_id)
    trainer = build.build_trainer(cfg, logger, tmp_path / "ckpt", [looks])

    trainer.fit(module, datamodule=datamodule)

    # Lightning logs an epoch's validation metrics before its checkpoints, its training metrics
    # after them: a write of epoch e finds validation 0..e and training 0..e-1 in the store.
    assert {key for key, _ in looks.seen} == {"best", "last"}
    assert {epoch for name, epoch in looks.seen if name == "last"} == set(range(epochs))
    for (name, epoch), steps in looks.seen.items():
        assert steps["val/acc"] == set(range(epoch + 1)), (name, epoch, steps)
        assert steps["train/loss"] == set(range(epoch)), (name, epoch, steps)
