"""Multi-class LightGBM: the hand-written gradient and diagonal Hessian of every loss with
multi-class terms against torch autograd through the zoo's own functions, CE against LightGBM's
built-in ``multiclass`` objective (gradients, Hessians K/(K−1) p (1 − p), predictions), the
positive surrogate, the per-class optimal constant, and the learner on multi-class data."""

from __future__ import annotations

import lightgbm as lgb
import numpy as np
import pytest
import torch
from scipy.optimize import minimize
from scipy.special import softmax

import loss_zoo
from harness.learners import lightgbm_multiclass as mc
from harness.learners.base import FitTask
from harness.learners.lightgbm_learner import LightGBMLearner, booster_params, cannot_take
from harness.metrics import per_task

C = 4
COUNTS = [500, 30, 70, 12]
WITH_TERMS = [name for name, e in loss_zoo.available().items() if e.multiclass and e.multiclass_terms is not None]


def _params(name: str, where: float) -> dict:
    """The loss's own parameters with every (multi-class) tuned parameter inside its range."""
    entry = loss_zoo.entry(name)
    tuned = {k: r.low + where * (r.high - r.low) for k, r in entry.space.items() if not r.binary_only}
    return entry.loss_params(tuned, COUNTS)


def _scores(n: int = 300, scale: float = 4.0, seed: int = 0) -> tuple[torch.Tensor, torch.Tensor]:
    g = torch.Generator().manual_seed(seed)
    return torch.randn(n, C, generator=g, dtype=torch.float64) * scale, torch.randint(0, C, (n,), generator=g)


def _autograd(function, z: torch.Tensor, y: torch.Tensor) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(ℓ, ∂ℓ/∂z, diagonal ∂²ℓ/∂z_j²) per sample by double backward (each ℓ_i sees row i only)."""
    z = z.clone().requires_grad_()
    loss = function(z)
    grad, = torch.autograd.grad(loss.sum(), z, create_graph=True)
    diag = [torch.autograd.grad(grad[:, j].sum(), z, retain_graph=True)[0][:, j] for j in range(C)]
    return loss.detach().numpy(), grad.detach().numpy(), torch.stack(diag, 1).numpy()


@pytest.mark.parametrize("name", WITH_TERMS)
@pytest.mark.parametrize("where", [0.2, 0.9])
def test_gradient_and_diagonal_hessian_equal_autograd_through_the_zoo(name, where):
    """ℓ, ∂ℓ/∂z and ∂²ℓ/∂z_j² equal autograd through ``entry.function(reduction='none')`` in
    float64, scores N(0, 4²). Dual focal: torch's double backward of its log-sum-exp with −inf (a
    target whose probability is the smallest: no p_j) is NaN; there the loss is focal's, and the
    check uses focal's autograd. Largest differences seen: 9e-14 (class-balanced focal)."""
    entry, params = loss_zoo.entry(name), _params(name, where)
    terms = mc.terms_of(name, params, C)
    z, y = _scores()
    loss, grad, hess = _autograd(lambda t: entry.function(t, y, reduction="none", **params), z, y)
    if name == "dual_focal":
        plain = _autograd(lambda t: loss_zoo.focal_loss(t, y, gamma=params["gamma"], reduction="none"), z, y)[2]
        smallest = z.numpy()[np.arange(len(y)), y.numpy()] == z.numpy().min(axis=1)
        assert smallest.any() and np.isnan(hess[smallest]).any()
        hess = np.where(smallest[:, None], plain, hess)
    ours_grad, ours_hess = mc.derivatives(terms, z.numpy(), y.numpy())
    np.testing.assert_allclose(mc.per_sample_loss(terms, z.numpy(), y.numpy()), loss, rtol=1e-12, atol=1e-12)
    np.testing.assert_allclose(ours_grad, grad, rtol=1e-10, atol=1e-12)
    np.testing.assert_allclose(ours_hess, hess, rtol=1e-9, atol=1e-12)


@pytest.mark.parametrize("name", WITH_TERMS)
def test_surrogate_is_k_over_k_minus_1_times_the_exact_diagonal_floored_positive(name):
    """Boosting's Hessian: K/(K−1) · max(exact, Gauss-Newton floor) > 0 and finite, even at scores
    of ±1e3; where the exact diagonal is above the floor it is the exact one, scaled."""
    terms = mc.terms_of(name, _params(name, 0.9), C)
    for scale in (4.0, 1e3):
        z, y = (t.numpy() for t in _scores(scale=scale))
        grad, hess = mc.objective_hessian(terms, z, y)
        exact = mc.derivatives(terms, z, y)[1]
        assert np.isfinite(grad).all() and np.isfinite(hess).all() and (hess >= 0).all()
        assert (hess >= C / (C - 1) * exact - 1e-12).all()
    z, y = (t.numpy() for t in _scores())
    assert (mc.objective_hessian(terms, z, y)[1] > 0).all()


@pytest.mark.parametrize("name", ["focal", "brier", "poly1"])
def test_the_exact_diagonal_is_negative_somewhere_so_a_surrogate_is_needed(name):
    terms = mc.terms_of(name, _params(name, 0.9), C)
    z, y = (t.numpy() for t in _scores())
    assert (mc.derivatives(terms, z, y)[1] < 0).any()


def _multiclass_data(n: int = 1200, seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng(seed)
    X = rng.normal(size=(n, 5))
    y = np.argmax(X[:, :C] * [1.0, 1.5, 2.0, 1.0] + rng.normal(size=(n, C)) + [2.0, 0.0, -0.5, -1.0], axis=1)
    return X, y


def test_ce_objective_matches_lightgbms_builtin_multiclass():
    """CE's gradient is p − e and its Hessian K/(K−1) p (1 − p), LightGBM's own multiclass
    objective (src/objective/multiclass_objective.hpp); from the same init score the two grow
    the same trees: raw scores after 20 rounds agree to 1e-6 (measured: 0 here)."""
    X, y = _multiclass_data()
    terms = mc.terms_of("ce", {}, C)
    z, yy = (t.numpy() for t in _scores())
    p, e = softmax(z, axis=1), np.eye(C)[yy]
    grad, hess = mc.objective_hessian(terms, z, yy)
    np.testing.assert_allclose(grad, p - e, rtol=0, atol=1e-15)
    # a few ulp apart (3e-14 measured on one machine): the objective computes p(1 - p) from its own softmax parts
    np.testing.assert_allclose(hess, C / (C - 1) * p * (1 - p), rtol=1e-12, atol=1e-300)
    init = mc.optimal_constant(terms, y, C)
    params = {**booster_params({"lgbm_num_leaves": 7}, 0), "num_class": C}
    scores = np.tile(init, (len(y), 1))
    builtin = lgb.train({**params, "objective": "multiclass"}, lgb.Dataset(X, y, init_score=scores), 20)
    custom = lgb.train({**params, "objective": lambda s, d: mc.objective_hessian(terms, s, d.get_label().astype(int))},
                       lgb.Dataset(X, y, init_score=scores), 20)
    np.testing.assert_allclose(custom.predict(X, raw_score=True), builtin.predict(X, raw_score=True), rtol=0,
                               atol=1e-6)
    assert not np.allclose(init, 0.0)  # the trees were grown from the per-class constant, not from 0


@pytest.mark.parametrize("name", ["ce", "weighted_ce", "focal", "label_smoothing", "brier"])
def test_init_score_is_the_losss_optimal_constant(name):
    """The per-class constant minimises the mean loss: CE's is log π (up to a common shift), and
    each loss's is where an independent Nelder-Mead search over the zoo's own function finds no
    lower mean loss."""
    y = np.repeat(np.arange(C), COUNTS)
    params = _params(name, 0.5)
    init = mc.optimal_constant(mc.terms_of(name, params, C), y, C)
    entry = loss_zoo.entry(name)

    def mean_loss(c: np.ndarray) -> float:
        z = torch.as_tensor(np.tile(c, (len(y), 1)))
        return float(entry.function(z, torch.as_tensor(y), **params))

    if name == "ce":
        np.testing.assert_allclose(init - init.mean(), np.log(COUNTS) - np.log(COUNTS).mean(), atol=1e-6)
    search = minimize(mean_loss, init + 0.3, method="Nelder-Mead", options={"xatol": 1e-10, "fatol": 1e-14,
                                                                              "maxiter": 20000})
    assert mean_loss(init) <= search.fun + 1e-9


def test_learner_trains_multiclass_tasks_deterministically():
    X, y = _multiclass_data(1500)
    task = FitTask(X[:1000], y[:1000], X[1000:], y[1000:], "focal", {"gamma": 2.0, "alpha": None},
                   {"lgbm_learning_rate": 0.2}, seed=3)
    learner = LightGBMLearner(per_task.monitor("average_precision"), True, max_rounds=200, patience=10)
    a, b = learner.fit([task, task])
    logits = a.predict_logits(X[1000:])
    assert logits.shape == (500, C) and np.isfinite(logits).all()
    np.testing.assert_array_equal(logits, b.predict_logits(X[1000:]))
    assert a.report.stopped_by == "early_stopping" and a.report.best_score > 0.5
    assert (np.argmax(logits, axis=1) == y[1000:]).mean() > 0.6


def test_a_loss_without_multiclass_terms_says_so():
    for name in ("ohem", "mmce"):
        assert cannot_take(name, n_classes=3) == "its entry declares no per-sample multi-class terms for a custom objective"
    assert cannot_take("asl", n_classes=3) == "not a multi-class loss"
    with pytest.raises(ValueError, match=r"^loss: multi-class LightGBM cannot train 'weighted_ce' .*"
                                         r"\(weight has 3 values for 4 classes\)"):
        mc.terms_of("weighted_ce", {"weight": [1.0, 2.0, 3.0]}, C)
