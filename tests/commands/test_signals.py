"""SIGINT/SIGTERM to real `python -m src.train` and `python -m src.tune` processes, then resume.

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
from optuna.trial import TrialState

from tests.helpers import ROOT, load_study, runs_of, tiny_train_args, write_study

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
    # No hole in the history: the killed process's last.ckpt was not ahead of its metrics. Only
    # the checkpoint's own epoch's training metrics, logged after it, may be missing.
    steps = {
        key: {m.step for m in client.get_metric_history(run_id, key)}
        for key in ("val/acc", "train/loss")
    }
    assert steps["val/acc"] == set(range(done + 1)), sorted(steps["val/acc"])[-5:]
    assert steps["train/loss"] >= set(range(done)), sorted(steps["train/loss"])[-5:]


@pytest.mark.slow
@pytest.mark.parametrize("signum", [signal.SIGINT, signal.SIGTERM], ids=["SIGINT", "SIGTERM"])
def test_a_signal_to_a_ddp_job_stops_both_ranks_and_marks_the_run_killed(
    signum, tiny_data_dir, mlflow_store, tmp_path
) -> None:
    """Sent to the process group, as a terminal or a scheduler does. Lightning's SIGTERM path
    broadcasts from inside its handler and deadlocked 1 run in 4 here; under DDP both signals take
    its Ctrl-C path instead (src/runtime/signals.py)."""
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


@pytest.mark.slow
def test_ctrl_c_stops_the_study_and_its_workers_leaving_nothing_running(
    tmp_path, tiny_data_dir, mlflow_store
):
    """Ctrl-C at a terminal reaches the tuning process and both workers at once, and the parent
    then SIGTERMs the workers. Wherever each one is (training, Optuna's or MLflow's writes,
    between trials), the study ends in one line with exit 130 and no run or trial is left
    RUNNING. (Seen before the fix: a SIGTERM inside Optuna's tell crashed a worker.)"""
    from src.tracking.store import use_store

    use_store(mlflow_store)  # the store's tables exist before the study starts
    space = {"optimizer.lr": {"low": 1.0e-3, "high": 1.0e-1, "log": True}}
    path = write_study(tmp_path, tiny_data_dir, mlflow_store, "ctrl-c", search_space=space)
    proc = subprocess.Popen(
        [sys.executable, "-m", "src.tune", "--config", str(path), "--n-trials=200", "--n-jobs=2"],
        cwd=ROOT,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        text=True,
        start_new_session=True,  # its own process group, as a terminal's foreground job
        preexec_fn=lambda: signal.signal(signal.SIGINT, signal.SIG_DFL),
    )
    deadline = time.monotonic() + 240
    while not any(r.info.status == "FINISHED" for r in runs_of(mlflow_store, "ctrl-c", "trial")):
        if proc.poll() is not None or time.monotonic() > deadline:
            proc.kill()
            pytest.fail(f"no trial finished: {proc.communicate()[1][-2000:]}")
        time.sleep(0.1)
    os.killpg(proc.pid, signal.SIGINT)
    _, stderr = proc.communicate(timeout=120)

    assert proc.returncode == 130, stderr[-2000:]
    assert "Traceback" not in stderr
    assert stderr.strip().splitlines()[-1].startswith("error: interrupted by SIGINT")
    (study_run,) = runs_of(mlflow_store, "ctrl-c", "study")
    assert study_run.info.status == "KILLED"
    trial_runs = runs_of(mlflow_store, "ctrl-c", "trial")
    assert {r.info.status for r in trial_runs} <= {"FINISHED", "KILLED"}
    trials = load_study(path).trials
    assert TrialState.RUNNING not in {t.state for t in trials} and len(trials) < 200
    numbers = sorted(int(r.data.tags["trial_number"]) for r in trial_runs)
    assert numbers == [t.number for t in trials]  # one MLflow run a trial, none doubled
