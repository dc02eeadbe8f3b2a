"""Which process is this, and is that one still alive: the OS-level evidence that decides whether
a RUNNING MLflow run or Optuna trial still has an owner.

An owner is written `host:pid:start`, where start is the process's start time in clock ticks
since boot (/proc/<pid>/stat): a PID the kernel has since given to another process does not pass
for the dead owner.
"""

from __future__ import annotations

import os
import socket
from pathlib import Path


def _start_ticks(pid: int) -> str | None:
    """The process's start time (field 22 of /proc/<pid>/stat), or None without /proc."""
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except (OSError, IndexError):
        return None
    return fields[19] if len(fields) > 19 else None


def this_process() -> str:
    """`host:pid:start` of the calling process."""
    pid = os.getpid()
    return f"{socket.gethostname()}:{pid}:{_start_ticks(pid) or ''}"


def pid_alive(pid: int) -> bool:
    """Whether a process with this PID runs (a zombie its parent has not reaped yet does not)."""
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    stat = Path(f"/proc/{pid}/stat")
    try:
        return stat.read_text().rsplit(")", 1)[1].split()[0] != "Z"
    except (OSError, IndexError):
        return True


def owner_alive(owner: str) -> bool | None:
    """True or False for an owner on this host; None for another host's (this one cannot tell)."""
    host, _, rest = owner.partition(":")
    pid, _, start = rest.partition(":")
    if host != socket.gethostname() or not pid.isdigit():
        return None
    if not pid_alive(int(pid)):
        return False
    return not start or _start_ticks(int(pid)) in (None, start)
