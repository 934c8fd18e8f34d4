"""Provenance: the code and package versions a result was made with, and the machine.

No torch here (the store reads results without the training stack): the math backend torch
computed with is :func:`harness.learners.torch_backend.math_backend`, which the command line
hands to the published provenance as plain data.
"""

from __future__ import annotations

import functools
import os
import platform
import subprocess
import sys
from importlib import metadata
from pathlib import Path

PACKAGES = ("torch", "numpy", "scikit-learn", "imbalanced-learn", "optuna", "mlflow", "pandas")


@functools.cache
def package_versions() -> dict[str, str]:
    versions = {"python": platform.python_version()}
    for name in PACKAGES:
        try:
            versions[name] = metadata.version(name)
        except metadata.PackageNotFoundError:
            versions[name] = "absent"
    return versions


@functools.cache
def git_commit() -> str:
    """The checkout's commit, with ``-dirty`` when tracked files differ from it; ``unknown`` outside git."""
    root = Path(__file__).resolve().parent.parent
    try:
        commit = subprocess.run(
            ["git", "rev-parse", "HEAD"], cwd=root, capture_output=True, text=True, timeout=10, check=True
        ).stdout.strip()
        dirty = subprocess.run(
            ["git", "status", "--porcelain", "--untracked-files=no"],
            cwd=root, capture_output=True, text=True, timeout=10, check=True,
        ).stdout.strip()
    except (OSError, subprocess.SubprocessError):
        return "unknown"
    return commit + ("-dirty" if dirty else "")


def versions_string() -> str:
    return ";".join(f"{k}={v}" for k, v in package_versions().items())


def machine_info() -> dict:
    """The machine a run was measured on: ``cpus`` logical CPUs (``cpus_usable`` of them this
    process may run on), the CPU's model name, memory and platform."""
    import psutil

    return {"platform": platform.platform(), "processor": platform.processor() or platform.machine(),
            "cpu_model": cpu_model(), "cpus": os.cpu_count(), "cpus_usable": usable_cpus(),
            "memory_gib": round(psutil.virtual_memory().total / 2**30, 1)}


@functools.cache
def cpu_model() -> str:
    """The CPU's model name: ``model name`` in /proc/cpuinfo on Linux, ``sysctl`` on macOS, else
    :func:`platform.processor` or the machine type; ``unknown`` when nothing says. Never raises."""
    name = None
    try:
        if sys.platform.startswith("linux"):
            name = cpuinfo_model(Path("/proc/cpuinfo"))
        elif sys.platform == "darwin":
            name = subprocess.run(["sysctl", "-n", "machdep.cpu.brand_string"], capture_output=True, text=True,
                                  timeout=5, check=True).stdout.strip()
    except (OSError, subprocess.SubprocessError, ValueError):
        name = None
    return name or platform.processor() or platform.machine() or "unknown"


def cpuinfo_model(path: Path) -> str | None:
    """The first ``model name`` of a /proc/cpuinfo-formatted file, whitespace collapsed (None: none)."""
    for line in path.read_text(errors="replace").splitlines():
        key, _, value = line.partition(":")
        if key.strip() == "model name" and value.strip():
            return " ".join(value.split())
    return None


def usable_cpus() -> int | None:
    """The logical CPUs this process may run on (its affinity where the OS has one, else all)."""
    try:
        return len(os.sched_getaffinity(0))
    except (AttributeError, OSError):
        return os.cpu_count()
