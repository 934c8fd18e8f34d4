"""The ledger's table writes: at most every FLUSH_SECONDS and at the end, never parsing its own
writes again, and holding a cell's claim until its rows are on disk."""

from __future__ import annotations

import pandas as pd
from conftest import TINY_SPEC

from harness import ledger as ledger_module
from harness import results as results_store
from harness.cells import expand
from harness.ledger import Ledger
from harness.spec import parse_spec


def _setup(tmp_path, monkeypatch, flush_seconds: float):
    spec = parse_spec({**TINY_SPEC, "methods": ["ce", "focal", "weighted_ce"]})
    cells = expand(spec)
    monkeypatch.setattr(ledger_module, "FLUSH_SECONDS", flush_seconds)
    parses = []
    real = results_store.read_csv
    monkeypatch.setattr(results_store, "read_csv", lambda path: parses.append(path) or real(path))
    return Ledger(tmp_path, cells, "tiny", "h"), cells, parses


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
