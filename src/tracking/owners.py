"""Every RUNNING run has a live owner, or is closed: a process SIGKILLed, out of memory or
preempted cannot mark its own run KILLED, so the next process that opens the store does.

Each run records its owner (`owner` tag: `host:pid:start`, src/runtime/processes.py) and a
heartbeat (`heartbeat_ms` tag, refreshed every HEARTBEAT_S by a thread of the owning process).
A run whose owner is on this host is closed when that process is gone (the OS says so; PIDs
reused since do not count). A run on another host is closed when its heartbeat is older than
the grace period: its host may be gone too, so a worker of the same study elsewhere must see it.
Runs without an owner tag (from before owners were recorded) are left alone.
"""

from __future__ import annotations

import contextlib
import threading
import time
from collections.abc import Iterable, Iterator
from dataclasses import dataclass

from mlflow.tracking import MlflowClient

from src.runtime.processes import owner_alive, this_process

OWNER_TAG = "owner"
HEARTBEAT_TAG = "heartbeat_ms"
CLOSED_TAG = "closed_dead_owner"  # who found the run's owner gone, and when
HEARTBEAT_S = 30.0
GRACE_S = 300.0  # another host's run: this long without a heartbeat and it is closed


def now_ms() -> int:
    return int(time.time() * 1000)


def owner_tags() -> dict[str, str]:
    """Tags that make the calling process the owner of a run, as of now."""
    return {OWNER_TAG: this_process(), HEARTBEAT_TAG: str(now_ms())}


class _Heartbeat:
    """One daemon thread per process refreshes the heartbeat of every run the process owns,
    each HEARTBEAT_S after its last one (it looks once a second: a changed interval counts)."""

    def __init__(self) -> None:
        self._runs: dict[str, tuple[MlflowClient, float]] = {}  # run id -> client, last beat
        self._lock = threading.Lock()
        self._thread: threading.Thread | None = None

    def add(self, client: MlflowClient, run_id: str) -> None:
        with self._lock:
            self._runs[run_id] = (client, time.monotonic())  # owner_tags() wrote the first beat
            if self._thread is None or not self._thread.is_alive():
                self._thread = threading.Thread(target=self._beat, name="heartbeat", daemon=True)
                self._thread.start()

    def remove(self, run_id: str) -> None:
        with self._lock:
            self._runs.pop(run_id, None)

    def _beat(self) -> None:
        while True:
            time.sleep(min(1.0, HEARTBEAT_S))
            now = time.monotonic()
            with self._lock:
                due = [(r, c) for r, (c, last) in self._runs.items() if now - last >= HEARTBEAT_S]
                for run_id, client in due:
                    self._runs[run_id] = (client, now)
            for run_id, client in due:
                # Never fatal: a store that is briefly unreachable only delays the next beat.
                with contextlib.suppress(Exception):
                    client.set_tag(run_id, HEARTBEAT_TAG, str(now_ms()))


_HEARTBEAT = _Heartbeat()


@contextlib.contextmanager
def keep_alive(client: MlflowClient, run_id: str) -> Iterator[None]:
    """While inside, this process refreshes the heartbeat of a run it owns (owner_tags)."""
    _HEARTBEAT.add(client, run_id)
    try:
        yield
    finally:
        _HEARTBEAT.remove(run_id)


@dataclass(frozen=True)
class DeadRun:
    run_id: str
    name: str
    owner: str
    reason: str
    end_time_ms: int


def _verdict(run, grace_s: float, now: int) -> str | None:
    """Why the run's owner is gone, or None while it may be alive (or is unknown)."""
    tags = run.data.tags
    owner = tags.get(OWNER_TAG)
    if not owner:
        return None
    alive = owner_alive(owner)
    if alive is False:
        return f"process {owner} is gone"
    heartbeat = int(tags.get(HEARTBEAT_TAG) or run.info.start_time or now)
    if alive is None and now - heartbeat > grace_s * 1000:
        return f"no heartbeat from {owner} for {(now - heartbeat) / 1000:.0f} s"
    return None


def _last_sign_of_life(client: MlflowClient, run) -> int:
    """The last heartbeat or metric timestamp: when the run really stopped."""
    times = [run.info.start_time or 0, int(run.data.tags.get(HEARTBEAT_TAG) or 0)]
    for key in run.data.metrics:
        times += [m.timestamp for m in client.get_metric_history(run.info.run_id, key)]
    return max(times)


def running_runs(client: MlflowClient, run_ids: Iterable[str] | None = None) -> list:
    """RUNNING runs of every experiment, or just the given ones that are RUNNING."""
    if run_ids is not None:
        runs = [client.get_run(run_id) for run_id in dict.fromkeys(run_ids) if run_id]
        return [run for run in runs if run.info.status == "RUNNING"]
    experiments = [e.experiment_id for e in client.search_experiments()]
    found, token = [], None
    while experiments:
        page = client.search_runs(
            experiments, "attributes.status = 'RUNNING'", max_results=1000, page_token=token
        )
        found += list(page)
        token = page.token
        if not token:
            break
    return found


def find_dead_runs(
    client: MlflowClient, run_ids: Iterable[str] | None = None, grace_s: float = GRACE_S
) -> list[DeadRun]:
    now = now_ms()
    dead = []
    for run in running_runs(client, run_ids):
        reason = _verdict(run, grace_s, now)
        if reason is not None:
            name = run.info.run_name or ""
            owner = run.data.tags[OWNER_TAG]
            dead.append(
                DeadRun(run.info.run_id, name, owner, reason, _last_sign_of_life(client, run))
            )
    return dead


def mark_killed(client: MlflowClient, run: DeadRun) -> None:
    """KILLED, ended at its last sign of life, tagged with who found it and why."""
    found_by = f"{run.reason}; closed by process {this_process()} at {time.strftime('%FT%T%z')}"
    client.set_tag(run.run_id, CLOSED_TAG, found_by)
    client.set_terminated(run.run_id, "KILLED", end_time=run.end_time_ms)


def close_run(client: MlflowClient, run_id: str, reason: str) -> DeadRun | None:
    """Close one RUNNING run whose end something else established (Optuna failed its trial as
    stale); None if it is not RUNNING."""
    for run in running_runs(client, [run_id]):
        owner = run.data.tags.get(OWNER_TAG, "an unrecorded process")
        dead = DeadRun(
            run_id, run.info.run_name or "", owner, reason, _last_sign_of_life(client, run)
        )
        mark_killed(client, dead)
        return dead
    return None


def close_dead_runs(
    client: MlflowClient,
    run_ids: Iterable[str] | None = None,
    grace_s: float = GRACE_S,
    dry_run: bool = False,
) -> list[DeadRun]:
    """Close (or with dry_run only list) the RUNNING runs whose owner is gone."""
    dead = find_dead_runs(client, run_ids, grace_s)
    if dry_run:
        return dead
    closed = []
    for run in dead:
        # Read again just before: a process may have reopened it (resumed) since the search.
        now = client.get_run(run.run_id)
        if now.info.status == "RUNNING" and now.data.tags.get(OWNER_TAG) == run.owner:
            mark_killed(client, run)
            closed.append(run)
    return closed


_last_sweep: dict[str, float] = {}  # tracking URI -> when this process last swept it


def sweep_if_due(client: MlflowClient, every_s: float = HEARTBEAT_S) -> list[DeadRun]:
    """close_dead_runs at most once per `every_s` per store: for processes that open the store
    once and run for hours (tuning workers), so that a sibling's dead runs do not wait."""
    now = time.monotonic()
    uri = client.tracking_uri
    if now - _last_sweep.get(uri, -every_s) < every_s:
        return []
    _last_sweep[uri] = now
    closed = close_dead_runs(client)
    if closed:
        import sys

        names = ", ".join(f"{run.name or run.run_id} ({run.reason})" for run in closed)
        print(
            f"note: marked {len(closed)} run(s) of dead processes KILLED: {names}", file=sys.stderr
        )
    return closed
