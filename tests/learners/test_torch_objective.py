"""LightGBM objectives from torch per-sample losses (autograd), against independent
references: LightGBM's built-in ``binary`` objective (its documented gradient p − y and Hessian
p(1 − p), and the booster it grows), the hand-derived objectives of the zoo's CE and focal
(:mod:`harness.learners.lightgbm_learner`), and the closed form of softmax CE and of the squared
hinge."""

from __future__ import annotations

import importlib.util

import numpy as np
import pytest
import torch
import torch.nn.functional as F
from conftest import ROOT
from scipy.special import expit, softmax

import loss_zoo
from harness.learners import lightgbm_learner as lgbm
from harness.learners.torch_objective import TorchObjective, cannot_take, surrogate_floor
from harness.methods import user_losses


def user_ce(logits, targets):
    if logits.ndim == 1:
        return F.binary_cross_entropy_with_logits(logits, targets.to(logits.dtype), reduction="none")
    return F.cross_entropy(logits, targets, reduction="none")


def user_focal(logits, targets, gamma=2.0):
    u = (2.0 * targets.to(logits.dtype) - 1.0) * logits
    return -((1.0 - torch.sigmoid(u)) ** gamma) * F.logsigmoid(u)


@pytest.fixture
def scores():
    rng = np.random.default_rng(7)
    return rng.normal(0.0, 4.0, 500), (rng.random(500) < 0.2).astype(np.int64)


def test_user_ce_equals_lightgbm_binary_objective_and_the_zoo_ce(scores):
    z, y = scores
    g, h = TorchObjective(user_ce).gradient_hessian(z, y)
    p = expit(z)
    assert np.abs(g - (p - y)).max() < 1e-12  # LightGBM's binary objective: p − y
    assert np.abs(h - p * (1 - p)).max() < 1e-12  # and p (1 − p): the surrogate is the exact Hessian
    g_zoo, h_zoo = lgbm.objective_hessian(lgbm.terms_of("ce", {}), z, y)
    assert np.abs(g - g_zoo).max() < 1e-12 and np.abs(h - h_zoo).max() < 1e-12
    init = TorchObjective(user_ce).optimal_constant(y)
    assert init == pytest.approx(np.log(y.mean() / (1 - y.mean())), abs=1e-7)  # boost_from_average's start


def test_user_focal_gradient_and_exact_hessian_equal_the_hand_derived_ones(scores):
    z, y = scores
    terms = lgbm.terms_of("focal", {"gamma": 2.0})
    g, h = TorchObjective(user_focal, {"gamma": 2.0}).derivatives(z, y)
    g_ref, h_ref = lgbm.derivatives(terms, z, y)
    assert np.abs(g - g_ref).max() < 1e-12 and np.abs(h - h_ref).max() < 1e-12
    assert (h_ref < 0).any()  # the probe covers the negative-curvature region
    _, surrogate = TorchObjective(user_focal, {"gamma": 2.0}).gradient_hessian(z, y)
    _, surrogate_ref = lgbm.objective_hessian(terms, z, y)
    assert (surrogate > 0).all() and (surrogate >= surrogate_ref - 1e-15).all()
    same = h_ref >= surrogate_floor(z, y, g)  # where the exact Hessian is kept, both objectives agree
    assert same.mean() > 0.5 and np.abs(surrogate - surrogate_ref)[same].max() < 1e-12


def test_boosting_with_user_ce_grows_lightgbm_binary_booster(scores):
    import lightgbm as lgb

    rng = np.random.default_rng(1)
    X = rng.normal(size=(400, 5))
    y = (X[:, 0] + 0.5 * rng.normal(size=400) > 1.2).astype(np.int64)
    init = TorchObjective(user_ce).optimal_constant(y)
    params = {**lgbm.booster_params({}, seed=0), "min_child_samples": 10}
    builtin = lgb.train({**params, "objective": "binary"}, lgb.Dataset(X, y), num_boost_round=10)
    objective = TorchObjective(user_ce)
    custom = lgb.train({**params, "objective": lambda z, data: objective.gradient_hessian(z, data.get_label())},
                       lgb.Dataset(X, y, init_score=np.full(len(y), init)), num_boost_round=10)
    np.testing.assert_allclose(custom.predict(X, raw_score=True) + init, builtin.predict(X, raw_score=True),
                               atol=1e-6)


def test_multiclass_ce_gradient_diagonal_hessian_and_constant():
    rng = np.random.default_rng(3)
    z, y = rng.normal(0, 3, (200, 4)), rng.integers(0, 4, 200)
    g, h = TorchObjective(user_ce).gradient_hessian(z, y)
    p = softmax(z, axis=1)
    assert np.abs(g - (p - np.eye(4)[y])).max() < 1e-12
    # the exact diagonal p(1 − p); LightGBM's built-in multiclass uses K/(K−1)·p(1 − p) (a
    # heuristic scaling of the same curvature), which this objective does not copy
    assert np.abs(h - p * (1 - p)).max() < 1e-12
    prior = np.log(np.bincount(y, minlength=4) / len(y))
    np.testing.assert_allclose(TorchObjective(user_ce).optimal_constant(y, 4), prior - prior.mean(), atol=1e-6)


def test_the_example_squared_hinge_against_its_closed_form(scores):
    spec = importlib.util.spec_from_file_location("squared_hinge_example", ROOT / "benchmarks/examples/squared_hinge.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    z, y = scores
    g, h = TorchObjective(module.squared_hinge, {"margin": 1.5}).derivatives(z, y)
    s = 2.0 * y - 1.0
    slack = np.maximum(1.5 - s * z, 0.0)
    assert np.abs(g - (-2.0 * s * slack)).max() < 1e-12
    assert np.abs(h - 2.0 * (slack > 0)).max() < 1e-12


def test_lightgbm_refuses_a_batch_level_function_and_takes_a_per_sample_one(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    (tmp_path / "losses.py").write_text(
        "import torch.nn.functional as F\n"
        "def normalised(logits, targets):\n"
        "    return F.softplus(-(2.0 * targets - 1) * logits) / logits.abs().mean()\n"
        "def plain(logits, targets):\n"
        "    return F.softplus(-(2.0 * targets - 1) * logits)\n")
    with loss_zoo.registered(user_losses.entry_for("normalised", "losses.py:normalised"),
                             user_losses.entry_for("plain", "losses.py:plain")):
        assert "not per-sample" in lgbm.cannot_take("normalised")
        assert lgbm.cannot_take("plain") is None
        objective = lgbm.Objective.of("plain", {}, np.array([0, 0, 0, 1]), 2)
        assert objective.init == pytest.approx(np.log(1 / 3), abs=1e-7)
        assert cannot_take(loss_zoo.entry("ce")) == "its entry declares no per-sample loss"


def test_a_user_multiclass_ce_boosts_as_the_zoos_multiclass_ce(tmp_path, monkeypatch):
    """LightGBM's objective from a user's multi-class CE (autograd) equals the zoo's multi-class
    CE objective, K/(K−1) factor included, and starts from the same constant scores."""
    monkeypatch.chdir(tmp_path)
    (tmp_path / "mc.py").write_text("import torch.nn.functional as F\n"
                                    "def ce(logits, targets):\n    return F.cross_entropy(logits, targets, reduction='none')\n")
    rng = np.random.default_rng(3)
    y, z = rng.integers(0, 4, 300), rng.normal(0, 2, (300, 4))
    with loss_zoo.registered(user_losses.entry_for("user_ce", "mc.py:ce")):
        mine = lgbm.Objective.of("user_ce", {}, y, 4)
        zoo = lgbm.Objective.of("ce", {}, y, 4)
        (g1, h1), (g2, h2) = mine.derivatives(z, y), zoo.derivatives(z, y)
    assert np.abs(g1 - g2).max() < 1e-12 and np.abs(h1 - h2).max() < 1e-12
    assert np.allclose(mine.init - mine.init.mean(), zoo.init - zoo.init.mean(), atol=1e-5)
