"""check_plan: every (dataset, ratio) checked against the cells of its dataset, the grid built once."""

from __future__ import annotations

import pytest
from conftest import TINY_SPEC

from harness.errors import UserError
from harness.plan import cells
from harness.plan.data import DataProvider
from harness.running import benchmark
from harness.spec.schema import parse_spec


def _spec(**changes):
    data = {k: v for k, v in TINY_SPEC.items() if k != "model"}
    return parse_spec({**data, "models": [{"name": "mlp", "hidden_sizes": [8]}, {"name": "lightgbm", "max_rounds": 5}],
                       **changes})


def test_the_grid_is_built_once_for_every_dataset_and_ratio(monkeypatch):
    """The checks once rebuilt the whole grid per (dataset, ratio): quadratic in the datasets
    (keel-binary with the full sweep's and the zoo's methods: 382 s of CPU; now 5.7 s)."""
    calls = []
    real = cells.grid
    spy = lambda spec: calls.append(1) or real(spec)  # noqa: E731
    monkeypatch.setattr(benchmark, "grid", spy)
    spec = _spec(datasets=[{"name": "synthetic/gaussian", "label": f"g{i}", "params": {"n_samples": 2400, "n_features": 4}}
                           for i in range(4)])
    assert benchmark.check_plan(spec, DataProvider(spec)) == {}
    assert len(calls) == 1


def test_the_dataset_s_own_cells_still_decide(monkeypatch):
    """A multi-class set meets LightGBM with a binary-only loss: refused, naming the set."""
    spec = _spec(datasets=[{"name": "synthetic/gaussian", "label": "bin", "params": {"n_samples": 600, "n_features": 4}},
                           {"name": "sklearn/wine", "label": "wine"}],
                 imbalance_ratios=["natural"], methods=["ce", "asl"])
    with pytest.raises(UserError, match=r"'asl'.*wine"):
        benchmark.check_plan(spec, DataProvider(spec))
