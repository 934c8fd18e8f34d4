"""The shipped cnn_tiny spec end to end: the CNN on the digits as images, CE and focal, tuned,
evaluated, its NLL curves and results written (about a minute on 2 cores: slow)."""

from __future__ import annotations

import json
import time

import pandas as pd
import pytest
from conftest import ROOT

import runner


@pytest.mark.slow
def test_cnn_tiny_runs_end_to_end_well_under_five_minutes(workdir):
    start = time.perf_counter()
    code = runner.main(["run", str(ROOT / "benchmarks" / "cnn_tiny.yaml"), "--quiet", "--no-tracking",
                        "--results-dir", str(workdir / "results")])
    elapsed = time.perf_counter() - start
    assert code == 0 and elapsed < 300
    out = workdir / "results" / "cnn_tiny"
    table = pd.read_csv(out / "results.csv")
    assert set(table["model"]) == {"cnn"} and set(table["method"]) == {"ce", "focal"}
    assert set(table["repetition"]) == {0, 1} and set(table["n_classes"]) == {2}
    ap = table[(table["metric"] == "average_precision") & (table["calibration"] == "raw")]["value"]
    assert (ap > 0.5).all()  # the positives are 1 in 11: chance AP is about 0.09
    for method in ("ce", "focal"):
        curves = json.loads(next((out / "curves").glob(f"*{method}.json")).read_text())
        for rep in curves["repetitions"]:
            assert len(rep["train_nll"]) == len(rep["val_nll"]) == rep["epochs"] > 0
            assert rep["train_nll_final"] >= 0
