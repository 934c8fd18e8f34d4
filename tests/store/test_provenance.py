"""The machine in a run's provenance: the CPU's model name read without raising on any platform,
logical and usable CPUs (torch's math backend: tests/learners/test_torch_backend.py)."""

from __future__ import annotations

import os
import platform
import subprocess
import sys

import pytest

from harness.store import provenance

CPUINFO = """processor\t: 0
vendor_id\t: GenuineIntel
model name\t: Intel(R) Xeon(R)   Platinum 8375C CPU @ 2.90GHz
flags\t\t: fpu vme

processor\t: 1
model name\t: Intel(R) Xeon(R)   Platinum 8375C CPU @ 2.90GHz
"""


@pytest.fixture
def uncached():
    provenance.cpu_model.cache_clear()
    yield
    provenance.cpu_model.cache_clear()


def test_cpuinfo_model_is_the_first_model_name_whitespace_collapsed(tmp_path):
    (tmp_path / "cpuinfo").write_text(CPUINFO)
    assert provenance.cpuinfo_model(tmp_path / "cpuinfo") == "Intel(R) Xeon(R) Platinum 8375C CPU @ 2.90GHz"
    (tmp_path / "arm").write_text("processor\t: 0\nBogoMIPS\t: 50.00\nCPU part\t: 0xd0c\n")
    assert provenance.cpuinfo_model(tmp_path / "arm") is None


@pytest.mark.parametrize("system", ["linux", "darwin", "win32"])
def test_cpu_model_falls_back_and_never_raises(monkeypatch, uncached, system):
    """/proc/cpuinfo unreadable, sysctl absent, or another OS: the processor or machine type."""
    def unreadable(path):
        raise PermissionError(path)

    def no_sysctl(*args, **kwargs):
        raise FileNotFoundError("sysctl")

    monkeypatch.setattr(sys, "platform", system)
    monkeypatch.setattr(provenance, "cpuinfo_model", unreadable)
    monkeypatch.setattr(subprocess, "run", no_sysctl)
    monkeypatch.setattr(platform, "processor", lambda: "")
    assert provenance.cpu_model() == (platform.machine() or "unknown")


def test_cpu_model_on_macos_asks_sysctl(monkeypatch, uncached):
    monkeypatch.setattr(sys, "platform", "darwin")
    monkeypatch.setattr(subprocess, "run", lambda cmd, **kw: subprocess.CompletedProcess(cmd, 0, "Apple M2\n", ""))
    assert provenance.cpu_model() == "Apple M2"


def test_machine_info_names_the_cpu_and_counts_logical_and_usable_cpus():
    machine = provenance.machine_info()
    assert machine["cpu_model"] and machine["cpus"] == os.cpu_count()
    assert 1 <= machine["cpus_usable"] <= machine["cpus"]

