"""The report's verdicts on altered copies of a results table, read back from what
``runner.py report`` writes (``report/comparisons.csv``): no claim on a null table, a planted
effect named in its regime only, an effect of 0.4 × the ROPE never called better."""

from __future__ import annotations

import pandas as pd
import pytest

from benchmarks import altered_tables
from benchmarks.perf import null_tables
from harness.report import effects
from harness.store.results import write_parquet

# true effects elsewhere (ensembles rank better, samplers calibrate worse), none of focal's own
REAL = lambda model, method, metric: 0.0 if method == "focal" else null_tables._realistic_effects(model, method, metric)


@pytest.mark.slow
def test_the_report_command_names_what_was_planted_and_nothing_on_the_null(tmp_path, capsys):
    table = null_tables.synthetic_table(24, ratios=("2", "20", "100"), folds=4, seed=11, effects_of=REAL)
    table = table.assign(benchmark="synthetic", seed=0, dataset_fingerprint="", spec_hash="", git_commit="",
                         versions="", n_test_minority=table["n_test_positive"], params="{}")
    write_parquet(table, tmp_path / "original" / "results.parquet")
    code = altered_tables.main([str(tmp_path / "original"), "--out", str(tmp_path / "altered"), "--planted", "4"])
    out = capsys.readouterr().out
    assert code == 0, out
    assert out.count(": OK —") == 3, out
    null = pd.read_csv(tmp_path / "altered" / "null" / "report" / effects.COMPARISONS)
    assert not null["verdict"].isin(["better", "worse"]).any()
    planted = pd.read_csv(tmp_path / "altered" / "planted" / "report" / effects.COMPARISONS)
    focal = planted[(planted["method"] == "focal") & (planted["metric"] == "average_precision")
                    & (planted["verdict"] == "better")]
    assert set(zip(focal["family"], focal["scope"])) == {("mlp", "ρ 10–50")}
    report = (tmp_path / "altered" / "planted" / "report.md").read_text()
    assert "| binary · mlp · ρ 10–50 |" in report and "**focal**: AP +" in report


def test_a_check_fails_where_the_report_names_something_else():
    base = {"question": "loss", "task": "binary", "baseline": "ce", "calibration": "raw"}
    row = lambda **kw: {**base, "family": "mlp", "metric": "average_precision", "method": "focal",
                        "scope": "ρ 10–50", "verdict": "better", **kw}
    original = pd.DataFrame([row(verdict="cannot resolve")])
    right = pd.DataFrame([row()])
    assert altered_tables.check("planted", right, original)[0]
    assert not altered_tables.check("planted", pd.DataFrame([row(), row(scope="ρ 1–3")]), original)[0]
    assert not altered_tables.check("planted", pd.DataFrame([row(), row(method="smote", metric="ece")]),
                                    original)[0]
    # a claim the unaltered table nearly made (Holm p 0.06) may cross once the planted one is rejected
    near = pd.DataFrame([row(verdict="cannot resolve"),
                         row(method="smote", metric="ece", verdict="not shown", holm_worse=0.06, holm_better=1.0)])
    both = pd.DataFrame([row(), row(method="smote", metric="ece", verdict="worse")])
    assert altered_tables.check("planted", both, near)[0]
    far = near.assign(holm_worse=[float("nan"), 0.5])
    assert not altered_tables.check("planted", both, far)[0]
    assert not altered_tables.check("null", right, original)[0]
    assert not altered_tables.check("small", right, original)[0]
    assert altered_tables.check("small", pd.DataFrame([row(verdict="equivalent")]), original)[0]
