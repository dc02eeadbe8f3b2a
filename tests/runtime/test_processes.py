"""Who owns a run, and whether that process still lives: the OS-level evidence."""

from __future__ import annotations

import os
import socket
import subprocess
import sys

from src.runtime.processes import owner_alive, pid_alive, this_process


def dead_pid() -> int:
    """The PID of a process that has exited and been reaped."""
    proc = subprocess.Popen([sys.executable, "-c", "pass"])
    proc.wait()
    return proc.pid


def test_this_process_is_host_pid_and_start_time() -> None:
    host, pid, start = this_process().split(":")
    assert (host, int(pid)) == (socket.gethostname(), os.getpid())
    assert start.isdigit()


def test_this_process_is_alive_and_an_exited_one_is_not() -> None:
    assert pid_alive(os.getpid())
    assert not pid_alive(dead_pid())
    assert owner_alive(this_process()) is True
    assert owner_alive(f"{socket.gethostname()}:{dead_pid()}:123") is False


def test_an_unreaped_zombie_counts_as_dead() -> None:
    proc = subprocess.Popen([sys.executable, "-c", "pass"])
    try:
        os.waitid(os.P_PID, proc.pid, os.WEXITED | os.WNOWAIT)  # exited, not reaped yet
        assert not pid_alive(proc.pid)
    finally:
        proc.wait()


def test_a_pid_now_used_by_another_process_is_not_the_old_owner() -> None:
    host, pid, start = this_process().split(":")
    assert owner_alive(f"{host}:{pid}:{int(start) + 1}") is False  # same PID, later start


def test_another_hosts_owner_cannot_be_judged_here() -> None:
    assert owner_alive(f"not-{socket.gethostname()}:{os.getpid()}:1") is None
