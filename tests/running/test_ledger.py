"""The ledger's table writes: at most every FLUSH_SECONDS and at the end, never parsing its own
writes again, and holding a cell's claim until its rows are on disk."""

from __future__ import annotations

import pandas as pd
from conftest import TINY_SPEC

from harness.plan.cells import expand
from harness.plan.checks import parse_spec
from harness.running import ledger as ledger_module
from harness.running.ledger import Ledger
from harness.store import results as results_store


class _Clock:
    """A monotonic clock under the test's control; it starts where a machine booted a moment
    ago would stand (the real clock counts from boot)."""

    def __init__(self, now: float = 0.5) -> None:
        self.now = now

    def __call__(self) -> float:
        return self.now


def _setup(tmp_path, monkeypatch, flush_seconds: float, clock=None):
    spec = parse_spec({**TINY_SPEC, "methods": ["ce", "focal", "weighted_ce"]})
    cells = expand(spec)
    monkeypatch.setattr(ledger_module, "FLUSH_SECONDS", flush_seconds)
    parses = []
    real = results_store.read_table
    monkeypatch.setattr(results_store, "read_table", lambda path: parses.append(path) or real(path))
    return Ledger(tmp_path, cells, "tiny", "h", clock=clock or _Clock()), cells, parses


def _rows(cell, i: int) -> pd.DataFrame:
    return pd.DataFrame({"benchmark": "tiny", "dataset": cell.dataset.key, "imbalance_ratio": cell.ratio_label,
                         "model": cell.model_key, "method": cell.method, "metric": "m", "value": float(i),
                         "spec_hash": "h"}, index=[0])


def test_records_between_flushes_stay_in_memory_and_keep_their_claims(tmp_path, monkeypatch):
    ledger, cells, parses = _setup(tmp_path, monkeypatch, flush_seconds=3600)
    claimed = [next(ledger.claim_all()) for _ in range(1)]
    ledger.record(claimed[0], _rows(cells[claimed[0]], 0))  # the first record writes (none written before)
    assert (tmp_path / "results.csv").exists()
    for i in (2, 1, 3):
        assert ledger.try_claim(i)
        ledger.record(i, _rows(cells[i], i))
    on_disk = pd.read_csv(tmp_path / "results.csv")
    assert list(on_disk["value"]) == [0.0]  # later records wait for the next flush
    assert set(ledger.finished()) == {0, 1, 2, 3} and 1 not in ledger.pending()
    assert sorted(p.name for p in (tmp_path / "claims").iterdir()) == sorted(
        f"{results_store.slug(cells[i])}.claim" for i in (1, 2, 3))
    table = ledger.table()  # flushes
    assert list(table["value"]) == [0.0, 1.0, 2.0, 3.0]  # in cell order
    assert list(pd.read_csv(tmp_path / "results.csv")["value"]) == [0.0, 1.0, 2.0, 3.0]
    assert list((tmp_path / "claims").iterdir()) == []
    assert parses == []  # its own writes are never parsed again


def test_the_first_record_writes_on_a_machine_booted_a_moment_ago(tmp_path, monkeypatch):
    """"Never written" is no clock value: at any reading of the clock (0 s, 0.5 s after boot) the
    first record is written, and the next one waits for the interval."""
    for now in (0.0, 0.5, 19.0):
        clock = _Clock(now)
        ledger, cells, _ = _setup(tmp_path / str(now), monkeypatch, flush_seconds=20.0, clock=clock)
        for i in (0, 1):
            assert ledger.try_claim(i)
        ledger.record(0, _rows(cells[0], 0))
        ledger.record(1, _rows(cells[1], 1))
        assert list(pd.read_csv(tmp_path / str(now) / "results.csv")["value"]) == [0.0]
        clock.now += 20.0
        assert ledger.try_claim(2)
        ledger.record(2, _rows(cells[2], 2))
        assert list(pd.read_csv(tmp_path / str(now) / "results.csv")["value"]) == [0.0, 1.0, 2.0]


def test_every_record_writes_when_the_interval_has_passed(tmp_path, monkeypatch):
    ledger, cells, parses = _setup(tmp_path, monkeypatch, flush_seconds=0.0)
    for i in range(3):
        assert ledger.try_claim(i)
        ledger.record(i, _rows(cells[i], i))
        assert len(pd.read_csv(tmp_path / "results.csv")) == i + 1
    other = Ledger(tmp_path, cells, "tiny", "h")  # another runner parses the file once
    assert set(other.finished()) == {0, 1, 2} and len(parses) == 1


def test_a_failed_cell_releases_its_claim_at_once(tmp_path, monkeypatch):
    ledger, cells, _ = _setup(tmp_path, monkeypatch, flush_seconds=3600)
    assert ledger.try_claim(4)
    ledger.record(4, None)
    names = sorted(p.name for p in (tmp_path / "claims").iterdir())
    assert names == [f"{results_store.slug(cells[4])}.failed"]


def test_a_claim_is_taken_over_from_a_runner_that_exited_or_whose_pid_was_reused(tmp_path, monkeypatch):
    """A runner that died holding a claim, but whose parent has not yet collected its status (a
    zombie: its pid still exists), holds nothing: another runner waiting for that cell would
    wait forever. Nor does a later process that the system gave the same pid."""
    import os
    import subprocess
    import sys
    import time

    import psutil

    from harness.processes import HOST, holder_alive, me

    ledger, cells, _ = _setup(tmp_path, monkeypatch, flush_seconds=3600)
    exited = subprocess.Popen([sys.executable, "-c", "pass"])
    try:
        deadline = time.monotonic() + 60
        while psutil.Process(exited.pid).status() != psutil.STATUS_ZOMBIE:
            assert time.monotonic() < deadline, "the child did not exit within 60 s"
            time.sleep(0.05)
        holders = {0: f"{HOST} {exited.pid}",  # a claim written before start times were recorded
                   1: f"{HOST} {exited.pid} {psutil.Process(exited.pid).create_time():.2f}",
                   2: f"{HOST} {me().split()[1]} 12.00"}  # this pid, but another process's start
        for i, holder in holders.items():
            assert not holder_alive(holder)
            (tmp_path / "claims" / f"{results_store.slug(cells[i])}.claim").write_text(holder)
            assert ledger.try_claim(i)
    finally:
        exited.wait()
    assert holder_alive(me()) and holder_alive(" ".join(me().split()[:2]))
    (tmp_path / "claims" / f"{results_store.slug(cells[3])}.claim").write_text(f"{HOST} {os.getppid()}")
    assert not ledger.try_claim(3)  # a live runner's claim holds
