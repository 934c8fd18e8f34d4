"""The dense task through the pipeline: the plan's checks, and the tiny spec end to end."""

from __future__ import annotations

import pandas as pd
import pytest
import yaml
from conftest import ROOT, run_runner, write_spec

from harness.metrics.dense import PROBES

TINY = ROOT / "benchmarks" / "dense_tiny.yaml"


def _spec(**changes) -> dict:
    spec = yaml.safe_load(TINY.read_text())
    spec.update(changes)
    return spec


@pytest.mark.parametrize("changes,message", [
    ({"model": {"name": "mlp"}}, "model 'mlp': trains feature rows, and canvases is dense canvases; use model fcn"),
    ({"methods": ["ce+random_under"]}, "method 'ce+random_under': resamples rows, which are canvases here"),
    ({"datasets": [{"name": "synthetic/gaussian", "params": {"n_samples": 400}}], "imbalance_ratios": [2]},
     "model 'fcn': trains dense canvases only"),
    ({"methods": ["mmce"]}, "model 'fcn' cannot train with loss 'mmce' (MMCE's kernel sum is quadratic"),
    ({"model": {"name": "fcn", "channels": [4, 4], "dilations": [1]}}, "dilations: expected 2 values"),
])
def test_mismatches_are_one_line_and_exit_2(tmp_path, changes, message):
    done = run_runner("run", str(write_spec(tmp_path, _spec(**changes))), "--no-tracking", "--quiet", cwd=tmp_path)
    assert done.returncode == 2, done.stderr
    assert message in done.stderr and len(done.stderr.strip().splitlines()) == 1
    assert not (tmp_path / "results").exists()


@pytest.mark.slow
def test_the_tiny_dense_spec_runs_end_to_end(tmp_path):
    done = run_runner("run", str(TINY), "--no-tracking", "--quiet", "--results-dir", str(tmp_path), cwd=tmp_path)
    assert done.returncode == 0, done.stderr
    table = pd.read_csv(tmp_path / "dense_tiny" / "results.csv")
    assert set(table["method"]) == {"ce", "focal", "ohem_1to3"} and set(table["imbalance_ratio"]) == {100, 1000}
    raw = table[table["calibration"] == "raw"]
    assert {"average_precision", "object_average_precision", *PROBES} <= set(raw["metric"])
    shares = raw[raw["metric"].isin(PROBES)]["value"]
    assert shares.between(0, 1).all()
    # n_test counts scored locations, n_test_minority positive ones
    assert (table["n_test"] > 1000 * table["n_test_minority"] / 10).all()
