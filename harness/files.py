"""Atomic file writes: every file the suite writes appears whole or not at all."""

from __future__ import annotations

import os
import tempfile
from collections.abc import Callable
from pathlib import Path

from harness.faults import fault_point


def write_atomic(path: Path, write: Callable[[Path], object], fault: str = "write") -> Path:
    """Write through ``write(tmp_path)`` to a temporary file beside ``path``, then rename it.

    The temporary file is named ``.<name>.<random>`` (a killed writer leaves at most such a
    file behind, never a truncated ``path``) and gets the permissions a new file would.
    Returns ``path``.
    """
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", dir=path.parent)
    os.close(fd)
    umask = os.umask(0)
    os.umask(umask)
    try:
        os.chmod(tmp, 0o666 & ~umask)
        write(Path(tmp))
        fault_point(fault)
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
    return path
