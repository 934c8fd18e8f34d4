"""The regression gate: passes on an identical rerun, bites on a perturbed method, and
refuses a changed spec."""

from __future__ import annotations

import dataclasses
import json

import pandas as pd
import pytest
from conftest import write_spec

import loss_zoo
import runner
from harness.report import gate


@pytest.fixture
def gate_spec(tiny_spec):
    tiny_spec.update(methods=["ce", "focal"], imbalance_ratios=[1, 10])
    tiny_spec["evaluation"] = {"repetitions": 2, "calibration": ["raw"]}
    return tiny_spec


def _baseline(workdir, spec_path, capsys):
    assert runner.main(["run", str(spec_path), "--no-tracking", "--quiet"]) == 0
    assert runner.main(["baseline", "results/tiny", "--out", "base.json"]) == 0
    capsys.readouterr()
    return json.loads((workdir / "base.json").read_text())


def test_gate_passes_unperturbed_and_bites_on_a_bad_gamma(workdir, gate_spec, capsys):
    spec_path = write_spec(workdir, gate_spec)
    base = _baseline(workdir, spec_path, capsys)
    assert {e["method"] for e in base["entries"]} == {"ce", "focal"}
    assert all(e["tolerance"] >= 0.01 for e in base["entries"])

    # an identical rerun passes, bit for bit
    assert runner.main(["run", str(spec_path), "--no-tracking", "--quiet", "--fresh", "--baseline", "base.json"]) == 0
    out = capsys.readouterr().out
    assert "gate PASSED" in out and "0 regressions" in out

    # a regression in focal loss: γ forced to 5 with α = 0.95, whatever was tuned
    broken = dataclasses.replace(loss_zoo.entry("focal"), params=lambda p, counts: {"gamma": 5.0, "alpha": 0.95})
    with loss_zoo.registered(broken):
        code = runner.main(["run", str(spec_path), "--no-tracking", "--quiet", "--fresh", "--baseline", "base.json"])
    out = capsys.readouterr().out
    assert code == 1
    assert "REGRESSIONS" in out and "gate FAILED" in out
    report = gate.compare(base, pd.read_csv(workdir / "results" / "tiny" / "results.csv", dtype={"imbalance_ratio": str}))
    assert report.regressions
    assert {r["cell"].split()[-1] for r in report.regressions} == {"focal"}  # only the affected cells
    assert {r["metric"] for r in report.regressions} >= {"log_loss", "brier"}
    for r in report.regressions:  # each row is worse than the baseline by more than its tolerance
        assert r["worse_by"] > r["tolerance"]


def test_changed_spec_is_a_clear_error_before_any_work(workdir, gate_spec, capsys):
    spec_path = write_spec(workdir, gate_spec)
    _baseline(workdir, spec_path, capsys)
    gate_spec["tuning"]["n_trials"] = 4
    write_spec(workdir, gate_spec)
    (workdir / "results" / "tiny" / "results.csv").unlink()
    code = runner.main(["run", str(spec_path), "--no-tracking", "--quiet", "--baseline", "base.json"])
    err = capsys.readouterr().err
    assert code == 2
    assert "the benchmark changed, so re-baseline with `make baseline`" in err
    assert not (workdir / "results" / "tiny" / "results.csv").exists()


def test_improvements_are_listed_not_failed_and_missing_entries_fail():
    base = {"spec_hash": "h", "entries": [
        {"dataset": "d", "imbalance_ratio": "10", "method": "m", "calibration": "raw", "metric": "roc_auc",
         "higher_is_better": True, "baseline": 0.80, "tolerance": 0.02},
        {"dataset": "d", "imbalance_ratio": "10", "method": "m", "calibration": "raw", "metric": "ece",
         "higher_is_better": False, "baseline": 0.10, "tolerance": 0.02},
    ]}
    rows = lambda auc, ece: pd.DataFrame([  # noqa: E731
        {"dataset": "d", "imbalance_ratio": "10", "method": "m", "calibration": "raw", "metric": "roc_auc",
         "value": auc, "spec_hash": "h", "versions": "torch=1"},
        {"dataset": "d", "imbalance_ratio": "10", "method": "m", "calibration": "raw", "metric": "ece",
         "value": ece, "spec_hash": "h", "versions": "torch=1"},
    ])
    better = gate.compare(base, rows(0.90, 0.01))
    assert better.passed and len(better.improvements) == 2
    within = gate.compare(base, rows(0.79, 0.115))
    assert within.passed and not within.improvements
    worse = gate.compare(base, rows(0.77, 0.125))
    assert not worse.passed and {r["metric"] for r in worse.regressions} == {"roc_auc", "ece"}
    missing = gate.compare(base, rows(0.8, 0.1).iloc[:1])
    assert not missing.passed and missing.missing[0]["metric"] == "ece"
    assert "MISSING" in gate.format_report(missing)


def test_tolerance_rule():
    assert gate._tolerance("roc_auc", 0.9, 0.0, 2, gate.DEFAULT_RULE) == 0.01
    assert gate._tolerance("roc_auc", 0.9, 0.02, 2, gate.DEFAULT_RULE) == pytest.approx(0.06)
    assert gate._tolerance("log_loss", 2.0, 0.0, 3, gate.DEFAULT_RULE) == pytest.approx(0.1)


def test_bad_baseline_files(workdir, capsys):
    (workdir / "results" / "x").mkdir(parents=True)
    pd.DataFrame({"a": [1]}).to_csv(workdir / "results" / "x" / "results.csv", index=False)
    assert runner.main(["gate", "results/x", "--baseline", "nope.json"]) == 2
    assert "cannot read 'nope.json'" in capsys.readouterr().err
    (workdir / "bad.json").write_text("{")
    assert runner.main(["gate", "results/x", "--baseline", "bad.json"]) == 2
    assert "not valid JSON" in capsys.readouterr().err
