"""The dense task's report section and Lin's dense check, on hand-made tables."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from harness.report import dense, literature


def _table(focal_gain: float, noise: float = 0.0, seed: int = 0) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    rows = []
    for ratio in ("100", "1000", "10000"):
        for repeat in range(3):
            share = {"100": 0.4, "1000": 0.7, "10000": 0.9}[ratio]
            for method, base in (("ce", 0.2), ("alpha_ce", 0.2), ("ohem", 0.2), ("focal", 0.2 + focal_gain),
                                 ("ce_drop_easy", 0.21)):
                values = {"average_precision": base + noise * rng.normal(), "object_average_precision": base,
                          "easy_negative_logit_share_p90": share, "easy_negative_param_share_p90": share}
                rows += [{"dataset": "canvases", "imbalance_ratio": ratio, "model": "fcn", "method": method,
                          "calibration": "raw", "repetition": repeat, "repeat": repeat, "fold": 0, "metric": m,
                          "value": v} for m, v in values.items()]
    rows.append({**rows[0], "dataset": "gauss", "metric": "average_precision"})  # a tabular row: not dense
    return pd.DataFrame(rows)


def test_paired_differences_with_interval_and_mde():
    rows = dense.dense_rows(_table(0.05, noise=0.01))
    assert set(rows["dataset"]) == {"canvases"}
    r = dense.paired(rows, "average_precision", "focal", "ce")
    assert r["n"] == 9 and r["low"] < r["mean"] < r["high"] and r["mde"] > 0
    assert r["mean"] == pytest.approx(0.05, abs=0.02)
    assert dense.paired(rows, "average_precision", "focal", "nobody") is None


@pytest.mark.parametrize("gain,noise,verdict", [(0.05, 0.002, "reproduced"), (-0.05, 0.002, "not reproduced"),
                                                (0.01, 0.05, "inconclusive")])
def test_lin_dense_check_verdicts(gain, noise, verdict):
    check = literature.lin_dense_check(_table(gain, noise), rope=0.01)
    assert check.verdict == verdict
    assert "vs ce:" in check.numbers and "vs alpha_ce:" in check.numbers and "MDE" in check.numbers


def test_no_dense_rows_no_check_and_no_section(tmp_path):
    table = _table(0.0)
    tabular = table[table["dataset"] == "gauss"]
    assert literature.lin_dense_check(tabular, rope=0.01) is None
    assert dense.dense_section(tabular, tmp_path, []) == []


def test_mechanism_frame_and_figure(tmp_path):
    table = _table(0.03, noise=0.001)
    frame = dense.mechanism_frame(dense.dense_rows(table))
    assert len(frame) == 9 and np.allclose(frame["gain_pixel_ap"], 0.03, atol=0.01)
    assert sorted(frame["rho"].unique()) == [100.0, 1000.0, 10000.0]
    figures = []
    md = dense.dense_section(table, tmp_path, figures)
    assert figures and figures[0].exists()
    assert any("intervention" in line for line in md) and any("Spearman" in line for line in md)
    # a constant gain has no rank correlation: no line, no warning
    assert not any("Spearman" in line for line in dense.dense_section(_table(0.03), tmp_path, []))
