"""SIGINT/SIGTERM during training, then resume: real `python -m src.train` processes.

An interrupted run keeps its last.ckpt, is marked KILLED and exits 130 (SIGINT) or 143 (SIGTERM).
Resuming continues the same MLflow run, which then ends with the metrics of an uninterrupted run
with the same seed, to 1e-6. The runs use dropout 0.3: the checkpoint carries the torch RNG state
(Lightning saves none), so the resumed epochs draw the same dropout masks; data order is seeded by
seed + epoch.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
from mlflow import MlflowClient

from src.runtime.signals import RunInterrupted, install_signal_handlers, restore_signal_handlers
from src.tracking import runs, store
from tests.helpers import tiny_train_args

ROOT = Path(__file__).resolve().parents[1]
EPOCHS = 25  # ~0.2 s each on the tiny data: the signal lands long before the end
# Measured: the resumed run's metrics equal the uninterrupted run's bit for bit on CPU. The
# tolerance only allows for float summation order on other hardware.
TOLERANCE = 1e-6
FINAL_METRICS = ("train/loss", "train/acc", "val/loss", "val/acc", "test/loss", "test/acc")


def train_words(data_dir: Path, tmp_path: Path, experiment: str) -> list[str]:
    return [
        *tiny_train_args(data_dir, tmp_path, experiment),
        f"--trainer.max_epochs={EPOCHS}",
        "--early_stopping.enabled=false",
        "--model.dropout=0.3",
        "--mlflow.log_model=false",
        "--seed=7",
    ]


def start(words: list[str], store: str, own_group: bool = False) -> subprocess.Popen:
    """`python -m src.train`; own_group: in a process group of its own (its DDP ranks and
    nothing else), to be signalled as a terminal or a scheduler signals a job."""
    env = {**os.environ, "MLFLOW_TRACKING_URI": store}
    return subprocess.Popen(
        [sys.executable, "-m", "src.train", *words],
        cwd=ROOT,
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        text=True,
        start_new_session=own_group,
        # A shell that started the tests in the background may have SIGINT ignored; the child
        # must see Ctrl-C as a user at a terminal would.
        preexec_fn=lambda: signal.signal(signal.SIGINT, signal.SIG_DFL),
    )


def finish(proc: subprocess.Popen, timeout: float = 300) -> tuple[int, str]:
    _, stderr = proc.communicate(timeout=timeout)
    return proc.returncode, stderr


def wait_for_first_epoch(proc: subprocess.Popen, folder: Path, store: str) -> Path:
    """The first last.ckpt, once its epoch's metrics are in MLflow too.

    Lightning saves last.ckpt when validation ends and logs the epoch's training metrics just
    after; both signals are deferred to the next batch boundary, so they would be logged anyway,
    but waiting for them keeps the test from depending on that.
    """
    client = MlflowClient(store)
    deadline = time.monotonic() + 240
    while time.monotonic() < deadline:
        found = list(folder.glob("*/last.ckpt"))
        if found and client.get_metric_history(found[0].parent.name, "train/loss"):
            return found[0]
        if proc.poll() is not None:
            pytest.fail(f"training ended before its first checkpoint: {finish(proc)[1][-2000:]}")
        time.sleep(0.02)
    proc.kill()
    pytest.fail("no last.ckpt after 240 s")


def final_metrics(store: str, run_id: str) -> dict[str, float]:
    metrics = MlflowClient(store).get_run(run_id).data.metrics
    return {key: metrics[key] for key in FINAL_METRICS}


@pytest.fixture
def signal_handlers():
    """run_main's handlers, installed for one test and then put back."""
    previous = install_signal_handlers()
    yield
    restore_signal_handlers(previous)  # a recorded SIGTERM must not stop later tests' runs


def test_sigterm_outside_a_lightning_loop_marks_the_run_killed(
    tracking_env, signal_handlers
) -> None:
    client = store.use_store(tracking_env)
    experiment_id = store.ensure_experiment(client, "sigterm-outside-fit")
    with pytest.raises(RunInterrupted) as stop, runs.tracked_run(experiment_id) as run:
        os.kill(os.getpid(), signal.SIGTERM)  # say, while artifacts are being logged
        time.sleep(5)  # the handler raises in here
    assert stop.value.exit_code == 143
    assert stop.value.run_id == run.info.run_id
    assert client.get_run(run.info.run_id).info.status == "KILLED"


def test_ctrl_c_outside_a_lightning_loop_marks_the_run_killed(tracking_env) -> None:
    client = store.use_store(tracking_env)
    experiment_id = store.ensure_experiment(client, "sigint-outside-fit")
    with pytest.raises(RunInterrupted) as stop, runs.tracked_run(experiment_id) as run:
        raise KeyboardInterrupt
    assert stop.value.exit_code == 130
    assert client.get_run(run.info.run_id).info.status == "KILLED"


def test_deferred_signals_wait_for_the_next_safe_point(signal_handlers) -> None:
    """As in a tuning worker between trials: SIGTERM is recorded, not raised inside whatever
    Optuna or MLflow was writing; a second SIGTERM is ignored; the next safe point raises."""
    from src.runtime.signals import raise_if_interrupted, signals_deferred

    with signals_deferred():
        os.kill(os.getpid(), signal.SIGTERM)
        time.sleep(0.2)  # nothing raised in here
        os.kill(os.getpid(), signal.SIGTERM)
        time.sleep(0.2)
        with pytest.raises(RunInterrupted) as stop:
            raise_if_interrupted()
        raise_if_interrupted()  # reported once
    assert stop.value.exit_code == 143


@pytest.fixture
def ctrl_c_enabled():
    """SIGINT raising KeyboardInterrupt, as at a terminal (a background shell may ignore it)."""
    previous = signal.signal(signal.SIGINT, signal.default_int_handler)
    yield
    signal.signal(signal.SIGINT, previous)


def test_ctrl_c_during_epoch_end_logging_stops_between_batches_and_marks_the_run_killed(
    tiny_data_dir, tmp_path, tracking_env, ctrl_c_enabled, signal_handlers
) -> None:
    """Ctrl-C while epoch 0's MLflow writes are in flight: they finish, the loop stops before epoch
    1's first batch, the run is KILLED (a KeyboardInterrupt in the middle of a write could leave
    the sqlite store locked, and marking the run KILLED then failed: seen once in CI)."""
    from lightning.pytorch.callbacks import Callback

    from src.config.parsing import parse_train_config
    from src.training.run import run_training

    client = MlflowClient(tracking_env)
    written_after_ctrl_c = []

    class CtrlCWhileLogging(Callback):
        def on_train_epoch_end(self, trainer, pl_module) -> None:
            os.kill(os.getpid(), signal.SIGINT)  # its handler runs before the next line
            client.log_metric(trainer.logger.version, "written_after_ctrl_c", 1.0)
            written_after_ctrl_c.append(trainer.current_epoch)

    words = [
        *tiny_train_args(tiny_data_dir, tmp_path, "ctrl-c-at-epoch-end"),
        "--trainer.max_epochs=5",
    ]
    sigint_handler = signal.getsignal(signal.SIGINT)
    with pytest.raises(RunInterrupted) as stop:
        run_training(parse_train_config(words), extra_callbacks=[CtrlCWhileLogging()])

    assert stop.value.exit_code == 130
    assert written_after_ctrl_c == [0]
    run = client.get_run(stop.value.run_id)
    assert run.info.status == "KILLED"
    assert run.data.metrics["written_after_ctrl_c"] == 1.0
    assert [m.step for m in client.get_metric_history(run.info.run_id, "train/loss")] == [0]
    assert list((tmp_path / "checkpoints").glob("*/*/last.ckpt"))
    assert signal.getsignal(signal.SIGINT) is sigint_handler  # put back after fit
    # A tuning parent stops its workers with SIGTERM after their own Ctrl-C: ignored while
    # stopping, it must not cut short the interrupted trial's bookkeeping.
    os.kill(os.getpid(), signal.SIGTERM)
    time.sleep(0.5)


@pytest.fixture(scope="module")
def uninterrupted(tiny_data_dir, mlflow_store, tmp_path_factory) -> dict[str, float]:
    tmp_path = tmp_path_factory.mktemp("uninterrupted")
    code, stderr = finish(start(train_words(tiny_data_dir, tmp_path, "baseline"), mlflow_store))
    assert code == 0, stderr[-2000:]
    (run_dir,) = (tmp_path / "checkpoints" / "baseline").iterdir()
    return final_metrics(mlflow_store, run_dir.name)


@pytest.mark.slow
@pytest.mark.parametrize(
    ("signum", "resume_with"),
    [(signal.SIGINT, "--ckpt_path=last"), (signal.SIGTERM, "--resume")],
    ids=["SIGINT-then-ckpt_path-last", "SIGTERM-then-resume-run-id"],
)
def test_interrupted_run_is_killed_then_resumes_to_the_uninterrupted_result(
    signum, resume_with, tiny_data_dir, mlflow_store, tmp_path, uninterrupted
) -> None:
    experiment = f"interrupt-{signum.name}"
    words = train_words(tiny_data_dir, tmp_path, experiment)
    proc = start(words, mlflow_store)
    checkpoint = wait_for_first_epoch(proc, tmp_path / "checkpoints" / experiment, mlflow_store)
    proc.send_signal(signum)
    code, stderr = finish(proc)

    run_id = checkpoint.parent.name
    assert code == 128 + signum, stderr[-2000:]
    assert "Traceback" not in stderr
    assert stderr.strip().splitlines()[-1].startswith(f"error: interrupted by {signum.name}")
    assert checkpoint.is_file()
    client = MlflowClient(mlflow_store)
    killed = client.get_run(run_id)
    assert killed.info.status == "KILLED"
    epochs_before = len(client.get_metric_history(run_id, "train/loss"))
    assert epochs_before < EPOCHS, "the signal came too late to test a resume"

    resume = [resume_with] if resume_with.startswith("--ckpt") else [resume_with, run_id]
    code, stderr = finish(start([*words, *resume], mlflow_store))
    assert code == 0, stderr[-2000:]
    resumed = client.get_run(run_id)
    assert resumed.info.status == "FINISHED"
    assert len(client.search_runs([killed.info.experiment_id])) == 1  # no new run
    steps = {m.step for m in client.get_metric_history(run_id, "train/loss")}
    assert steps == set(range(EPOCHS))
    resumed_metrics = final_metrics(mlflow_store, run_id)
    difference = max(abs(resumed_metrics[k] - uninterrupted[k]) for k in FINAL_METRICS)
    print(f"{signum.name}: resumed after {epochs_before} epochs, max |difference| {difference}")
    assert resumed_metrics == pytest.approx(uninterrupted, abs=TOLERANCE)


@pytest.mark.slow
def test_a_run_still_training_is_not_resumed_twice_but_resumes_once_its_process_is_killed(
    tiny_data_dir, mlflow_store, tmp_path
) -> None:
    experiment = "busy"
    words = train_words(tiny_data_dir, tmp_path, experiment)
    proc = start([*words, "--trainer.max_epochs=100000"], mlflow_store)  # runs until killed
    checkpoint = wait_for_first_epoch(proc, tmp_path / "checkpoints" / experiment, mlflow_store)
    run_id = checkpoint.parent.name
    client = MlflowClient(mlflow_store)
    try:
        refusals = {
            ("--resume", run_id): f"run {run_id} is still being trained by process {proc.pid} on ",
            ("--ckpt_path=last",): "every run with a last.ckpt under",
        }
        for resume, message in refusals.items():
            code, stderr = finish(start([*words, *resume], mlflow_store))
            assert code == 2, stderr[-2000:]
            assert stderr.startswith("error: ") and stderr.count("\n") == 1, stderr[-2000:]
            assert message in stderr
        assert proc.poll() is None, "the refused resumes must leave the live run alone"
        assert client.get_run(run_id).info.status == "RUNNING"
        assert len(client.search_runs([client.get_run(run_id).info.experiment_id])) == 1
    finally:
        proc.kill()  # SIGKILL: no handler runs, the MLflow run stays RUNNING, the lock goes
        proc.wait(timeout=60)
    assert client.get_run(run_id).info.status == "RUNNING"
    done = len(client.get_metric_history(run_id, "train/loss"))
    code, stderr = finish(start([*words, "--ckpt_path=last", f"--trainer.max_epochs={done + 1}"],
                                mlflow_store))  # fmt: skip
    assert code == 0, stderr[-2000:]
    assert client.get_run(run_id).info.status == "FINISHED"


@pytest.mark.slow
@pytest.mark.parametrize("signum", [signal.SIGINT, signal.SIGTERM], ids=["SIGINT", "SIGTERM"])
def test_a_signal_to_a_ddp_job_stops_both_ranks_and_marks_the_run_killed(
    signum, tiny_data_dir, mlflow_store, tmp_path
) -> None:
    """Sent to the process group, as a terminal or a scheduler does. Lightning's SIGTERM path
    broadcasts from inside its handler and deadlocked 1 run in 4 here; under DDP both signals take
    its Ctrl-C path instead (src/interrupts.py)."""
    experiment = f"ddp-{signum.name}"
    words = [
        *train_words(tiny_data_dir, tmp_path, experiment),
        "--trainer.max_epochs=200",
        "--trainer.strategy=ddp",
        "--trainer.devices=2",
    ]
    proc = start(words, mlflow_store, own_group=True)
    checkpoint = wait_for_first_epoch(proc, tmp_path / "checkpoints" / experiment, mlflow_store)
    os.killpg(proc.pid, signum)
    try:
        code, stderr = finish(proc, timeout=120)
    except subprocess.TimeoutExpired:
        os.killpg(proc.pid, signal.SIGKILL)
        pytest.fail(f"the DDP job hung after {signum.name}")

    assert code == 128 + signum, stderr[-2000:]
    assert "Traceback" not in stderr
    run = MlflowClient(mlflow_store).get_run(checkpoint.parent.name)
    assert run.info.status == "KILLED"
    deadline = time.monotonic() + 30  # no rank left behind (once init has reaped it)
    while time.monotonic() < deadline:
        try:
            os.killpg(proc.pid, 0)
        except ProcessLookupError:
            break
        time.sleep(0.2)
    else:
        pytest.fail("a rank outlived the job")
