"""Which runner is this, and is another one still alive: one answer for the ledger's cell
claims and for tracking's orphaned runs."""

from __future__ import annotations

import os
import socket

import psutil

HOST = socket.gethostname()


def me() -> str:
    """This process as ``"<host> <pid> <start time>"``: the start time tells this process from
    a later one the system gave the same pid."""
    return f"{HOST} {os.getpid()} {psutil.Process().create_time():.2f}"


def alive(host: str, pid: str | int, started: str = "") -> bool:
    """Whether the process ``pid`` on ``host`` still runs (and, where ``started`` is given, is
    the one that started then). A process on another host cannot be checked and is trusted to
    be alive; a malformed pid is not alive, nor one that has exited and waits for its parent to
    collect its status (a zombie: it holds its pid, but will never release a claim)."""
    if host != HOST:
        return True
    if not str(pid).isdigit():
        return False
    # psutil, not os.kill(pid, 0): on Windows signal 0 is CTRL_C_EVENT and would stop the process
    try:
        process = psutil.Process(int(pid))
        if process.status() == psutil.STATUS_ZOMBIE:
            return False
        return not started or abs(process.create_time() - float(started)) < 0.01
    except psutil.NoSuchProcess:
        return False
    except (psutil.AccessDenied, ValueError):  # another user's process; an unreadable time: trust the pid
        return True


def holder_alive(text: str) -> bool:
    """:func:`alive` for a ``"<host> <pid> [<start time>]"`` string as :func:`me` writes it (the
    start time is missing from claims written before it was added)."""
    host, pid, started = (text.strip().split(" ") + ["", ""])[:3]
    return alive(host, pid, started)


def process_tree_cpu_seconds() -> float:
    """User + system CPU time of this process and of its finished worker processes."""
    import resource

    own, workers = resource.getrusage(resource.RUSAGE_SELF), resource.getrusage(resource.RUSAGE_CHILDREN)
    return own.ru_utime + own.ru_stime + workers.ru_utime + workers.ru_stime
