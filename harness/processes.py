"""Which runner is this, and is another one still alive: one answer for the ledger's cell
claims and for tracking's orphaned runs."""

from __future__ import annotations

import os
import socket

import psutil

HOST = socket.gethostname()


def me() -> str:
    """This process as ``"<host> <pid>"``."""
    return f"{HOST} {os.getpid()}"


def alive(host: str, pid: str | int) -> bool:
    """Whether the process ``pid`` on ``host`` still runs. A process on another host cannot be
    checked and is trusted to be alive; a malformed pid is not alive."""
    if host != HOST:
        return True
    if not str(pid).isdigit():
        return False
    # psutil, not os.kill(pid, 0): on Windows signal 0 is CTRL_C_EVENT and would stop the process
    return psutil.pid_exists(int(pid))


def holder_alive(text: str) -> bool:
    """:func:`alive` for a ``"<host> <pid>"`` string as :func:`me` writes it."""
    host, _, pid = text.strip().partition(" ")
    return alive(host, pid)


def process_tree_cpu_seconds() -> float:
    """User + system CPU time of this process and of its finished worker processes."""
    import resource

    own, workers = resource.getrusage(resource.RUSAGE_SELF), resource.getrusage(resource.RUSAGE_CHILDREN)
    return own.ru_utime + own.ru_stime + workers.ru_utime + workers.ru_stime
