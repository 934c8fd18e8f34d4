"""The per-cell cost model: its fit, its shapes, the wall-time schedule and the list's estimate."""

from __future__ import annotations

import math

import numpy as np
import pytest
from conftest import TINY_SPEC

import runner
from harness.plan import cost
from harness.plan.cells import expand
from harness.plan.checks import parse_spec
from harness.plan.cost import CostModel, Shape
from harness.plan.data import DataProvider


def _shapes(rng, n: int, fam: str) -> list[Shape]:
    return [Shape(fam, int(rng.integers(50, 20000)), int(rng.integers(2, 80)), int(rng.integers(2, 9)),
                  int(rng.integers(5, 30))) for _ in range(n)]


def test_fit_recovers_planted_coefficients_per_family():
    rng = np.random.default_rng(0)
    planted = {"torch": [-6.0, 0.8, 0.2, 0.3], "lightgbm": [-7.0, 0.5, 0.4, 0.0]}
    shapes = _shapes(rng, 40, "torch") + _shapes(rng, 40, "lightgbm")
    seconds = [s.fits * math.exp(s.design() @ np.array(planted[s.family])) for s in shapes]
    model = CostModel.fit(shapes, seconds)
    for fam, coef in planted.items():
        assert model.coefficients[fam] == pytest.approx(coef, abs=1e-4)
    assert model.seconds(shapes[0]) == pytest.approx(seconds[0], rel=1e-3)


def test_fit_leaves_a_constant_column_out():
    rng = np.random.default_rng(1)
    shapes = [Shape("ensemble", s.rows, s.features, 2, s.fits) for s in _shapes(rng, 20, "ensemble")]
    seconds = [s.fits * math.exp(-5 + 0.7 * math.log(s.rows)) for s in shapes]
    coef = CostModel.fit(shapes, seconds).coefficients["ensemble"]
    assert coef[3] == 0.0 and coef[:2] == pytest.approx([-5, 0.7], abs=1e-4)


def test_save_and_load_round_trip(tmp_path):
    model = CostModel({"torch": [1.0, 0.5, 0.25, 0.0]}, "here")
    model.save(tmp_path / "c.json")
    assert CostModel.load(tmp_path / "c.json") == model


@pytest.mark.parametrize(("costs", "jobs", "wall"), [([5, 4, 3, 3, 3], 2, 10), ([5, 4, 3, 3, 3], 1, 18),
                                                     ([9, 1, 1, 1], 3, 9), ([], 2, 0)])
def test_wall_seconds_follows_the_runner_taking_the_next_cell(costs, jobs, wall):
    assert cost.wall_seconds(costs, jobs) == wall


def test_duration_text():
    assert (cost.duration(40), cost.duration(7 * 60 + 10), cost.duration(6120)) == ("40 s", "7 min", "1 h 42 min")


def test_shapes_count_fits_and_resampled_rows():
    spec = parse_spec({**TINY_SPEC, "imbalance_ratios": [10], "methods": ["ce", "random_under", "smote"]})
    cells = expand(spec)
    shapes = cost.shapes(spec, cells, DataProvider(spec))
    counts = np.bincount(DataProvider(spec).prepared(spec.datasets[0], 10, 0).train.y)
    ce, under, smote = shapes
    assert ce.rows == counts.sum() and ce.features == 4 and ce.classes == 2 and ce.family == "torch"
    assert ce.fits == 3 + 2  # trials + repetitions
    assert under.rows == counts.sum() - (counts.max() - counts.min()) / 2
    assert smote.rows == counts.sum() + (counts.max() - counts.min()) / 2


def test_list_prints_the_estimate(tmp_path, capsys, monkeypatch):
    monkeypatch.chdir(tmp_path)
    import yaml

    (tmp_path / "s.yaml").write_text(yaml.safe_dump(TINY_SPEC))
    assert runner.main(["list", "s.yaml", "--jobs", "3"]) == 0
    line = [x for x in capsys.readouterr().out.splitlines() if x.startswith("estimated time:")]
    assert len(line) == 1 and "with --jobs 3" in line[0] and "of CPU" in line[0]


def test_losses_without_a_common_form_are_their_own_family():
    """Losses the stacked trainer and the hand-derived boosting objectives cannot take (ASL's
    probability margin, batch-level OHEM) train by autograd: their own cost family, which falls
    back to its learner's coefficients where it is not fitted."""
    tiny = {k: v for k, v in TINY_SPEC.items() if k != "model"}
    spec = parse_spec({**tiny, "imbalance_ratios": [10], "methods": ["ce", "asl", {"name": "ohem", "only": {"models": ["mlp"]}}],
                       "models": [{"name": "mlp", "hidden_sizes": [8]}, {"name": "lightgbm", "max_rounds": 5}]})
    cells = expand(spec)
    families = {(c.method, c.model.name): s.family for c, s in zip(cells, cost.shapes(spec, cells, DataProvider(spec)))}
    assert families == {("ce", "mlp"): "torch", ("asl", "mlp"): "torch/autograd", ("ohem", "mlp"): "torch/autograd",
                        ("ce", "lightgbm"): "lightgbm", ("asl", "lightgbm"): "lightgbm/autograd"}
    model = CostModel({"torch": [0.0, 0.0, 0.0, 0.0], "torch/autograd": [math.log(3), 0.0, 0.0, 0.0]})
    assert model.seconds(Shape("torch/autograd", 100, 4, 2, 2)) == pytest.approx(6.0)
    assert model.seconds(Shape("lightgbm/autograd", 100, 4, 2, 2)) == pytest.approx(2.0)  # torch's: no lightgbm here
