"""Posterior corrections, verified by minimising each loss's pointwise risk numerically."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from scipy.optimize import minimize, minimize_scalar
from scipy.special import softmax

import loss_zoo

ETAS = np.linspace(0.02, 0.98, 13)


def _risk_minimiser_binary(loss_fn, eta: float) -> float:
    """argmin_z  η·L(z, 1) + (1 - η)·L(z, 0), with L from loss_zoo in float64."""

    def risk(z):
        x = torch.tensor([z, z], dtype=torch.float64)
        per = loss_fn(x, torch.tensor([1, 0]))
        return float(eta * per[0] + (1 - eta) * per[1])

    return minimize_scalar(risk, bounds=(-40, 40), method="bounded", options={"xatol": 1e-12}).x


def _risk_minimiser_multiclass(loss_fn, eta: np.ndarray) -> np.ndarray:
    c = len(eta)

    def risk(v):
        z = torch.tensor(np.concatenate([[0.0], v]), dtype=torch.float64).repeat(c, 1)
        per = loss_fn(z, torch.arange(c))
        return float((torch.tensor(eta) * per).sum())

    res = minimize(risk, np.log(eta[1:] / eta[0]), method="Nelder-Mead",
                   options={"xatol": 1e-11, "fatol": 1e-15, "maxiter": 20000})
    return np.concatenate([[0.0], res.x])


def _sigmoid(z):
    return 1 / (1 + np.exp(-z))


BINARY_CASES = (
    [("focal", {"gamma": g, "alpha": a}) for g in (0.0, 0.5, 1.0, 2.0, 5.0) for a in (None, 0.25, 0.8)]
    + [("weighted_ce", {"weight": w}) for w in ((1.0, 9.0), (2.0, 0.5))]
    + [("logit_adjusted_ce", {"prior": (0.9, 0.1), "tau": t}) for t in (0.5, 1.0, 2.0)]
    + [("class_balanced_focal", {"counts": (900, 100), "beta": 0.99, "gamma": 1.5})]
)


@pytest.mark.parametrize("name,params", BINARY_CASES, ids=[f"{n}-{p}" for n, p in BINARY_CASES])
def test_binary_map_returns_eta(name, params):
    """The closed form maps the minimiser of each loss's pointwise risk back to η."""
    loss = loss_zoo.get(name, reduction="none", **params)
    for eta in ETAS:
        z = _risk_minimiser_binary(loss, eta)
        corrected = loss_zoo.posterior_logits(name, np.array([z]), **params)
        assert _sigmoid(corrected[0]) == pytest.approx(eta, abs=1e-6)


def test_focal_probabilities_are_pulled_toward_half():
    """The uncorrected minimiser is less extreme than η (Charoenphakdee et al. 2021)."""
    loss = loss_zoo.get("focal", gamma=2.0, reduction="none")
    for eta in (0.05, 0.2, 0.8, 0.95):
        q = _sigmoid(_risk_minimiser_binary(loss, eta))
        assert abs(q - 0.5) < abs(eta - 0.5)


@pytest.mark.parametrize("name,params", [
    ("focal", {"gamma": 2.0}),
    ("focal", {"gamma": 0.5, "alpha": (0.5, 1.0, 2.0)}),
    ("weighted_ce", {"weight": (0.2, 1.0, 3.0)}),
    ("logit_adjusted_ce", {"prior": (0.7, 0.2, 0.1), "tau": 1.0}),
    ("class_balanced_focal", {"counts": (700, 200, 100), "beta": 0.99, "gamma": 2.0}),
])
@pytest.mark.parametrize("eta", [(0.6, 0.3, 0.1), (0.1, 0.2, 0.7), (1 / 3, 1 / 3, 1 / 3)])
def test_multiclass_map_returns_eta(name, params, eta):
    eta = np.array(eta)
    z = _risk_minimiser_multiclass(loss_zoo.get(name, reduction="none", **params), eta)
    got = softmax(loss_zoo.posterior_logits(name, z[None, :], **params)[0])
    np.testing.assert_allclose(got, eta, atol=2e-6)


def test_multiclass_focal_reduces_to_binary_for_two_classes():
    z = np.linspace(-20, 20, 41)
    binary = loss_zoo.focal_posterior_logits(z, gamma=2.0, alpha=0.3)
    two = loss_zoo.focal_posterior_logits(np.stack([np.zeros_like(z), z], 1), gamma=2.0, alpha=(0.7, 0.3))
    np.testing.assert_allclose(two[:, 1] - two[:, 0], binary, rtol=1e-9, atol=1e-9)


@pytest.mark.parametrize("name,params", [
    ("ce", {}), ("focal", {"gamma": 0.25}), ("focal", {"gamma": 5.0, "alpha": 0.25}),
    ("weighted_ce", {"weight": (1.0, 50.0)}), ("logit_adjusted_ce", {"prior": (0.99, 0.01)}),
    ("class_balanced_focal", {"counts": (990, 10), "gamma": 2.0}),
    ("balanced_softmax", {"prior": (0.99, 0.01)}), ("brier", {}), ("label_smoothing", {"epsilon": 0.2}),
    ("label_smoothing", {"epsilon": 0.0}), ("poly1", {"epsilon": -1.0}), ("poly1", {"epsilon": 3.0}),
])
def test_binary_maps_are_finite_and_strictly_increasing(name, params):
    z = np.concatenate([[-1e4, -1e3], np.linspace(-50, 50, 2001), [1e3, 1e4]])
    out = loss_zoo.posterior_logits(name, z, **params)
    assert np.all(np.isfinite(out))
    assert np.all(np.diff(out) > 0)


@pytest.mark.parametrize("name,params", [("focal", {"gamma": g}) for g in (0.0, 0.5, 2.0, 5.0)]
                         + [("label_smoothing", {"epsilon": 0.1}), ("poly1", {"epsilon": -1.0}),
                            ("poly1", {"epsilon": 3.0}), ("brier", {})])
def test_multiclass_maps_are_finite_and_keep_order_at_extreme_logits(name, params):
    z = np.array([[1e4, -1e4, 0.0], [-1e4, 1e4, 1e4 - 1], [0.0, 0.0, 0.0], [30.0, 0.0, -30.0]])
    out = loss_zoo.posterior_logits(name, z, **params)
    assert np.all(np.isfinite(out))
    np.testing.assert_array_equal(np.argsort(out, axis=1, kind="stable"), np.argsort(z, axis=1, kind="stable"))


def test_no_closed_form_and_bad_parameters():
    with pytest.raises(ValueError, match="no closed-form"):
        loss_zoo.posterior_logits("focal_flsd", np.zeros(3))
    with pytest.raises(ValueError, match="alpha"):
        loss_zoo.posterior_logits("focal", np.zeros(3), gamma=2.0, alpha=1.0)
    with pytest.raises(ValueError, match="gamma"):
        loss_zoo.posterior_logits("focal", np.zeros(3), gamma=-1.0)


# -- the losses added for the literature's comparison --------------------------------------------------
@pytest.mark.parametrize("epsilon", [0.05, 0.2])
def test_label_smoothing_risk_is_minimised_by_the_smoothed_posterior_and_the_map_inverts_it(epsilon):
    """scipy's minimiser of the expected smoothed loss is q* = (1 − ε) η + ε/C; the closed form
    (η = (q − ε/C) / (1 − ε), clipped) maps it back to η."""
    loss = loss_zoo.get("label_smoothing", epsilon=epsilon, reduction="none")
    for eta in ETAS:
        z = _risk_minimiser_binary(loss, eta)
        assert _sigmoid(z) == pytest.approx((1 - epsilon) * eta + epsilon / 2, abs=1e-8)
        corrected = loss_zoo.posterior_logits("label_smoothing", np.array([z]), epsilon=epsilon)
        assert _sigmoid(corrected[0]) == pytest.approx(eta, abs=1e-6)
    for eta in map(np.array, [(0.6, 0.3, 0.1), (0.1, 0.2, 0.7), (0.02, 0.03, 0.95)]):
        z = _risk_minimiser_multiclass(loss, eta)
        np.testing.assert_allclose(softmax(z), (1 - epsilon) * eta + epsilon / 3, atol=2e-6)
        got = softmax(loss_zoo.posterior_logits("label_smoothing", z[None, :], epsilon=epsilon)[0])
        np.testing.assert_allclose(got, eta, atol=3e-6)


def test_label_smoothing_map_clips_past_the_reachable_range_keeping_order():
    """A probability below ε/2 is the minimiser for no η; the map sends it to η below 1e-6
    (the identity share), still finite and in order."""
    z = np.array([-20.0, -8.0, np.log(0.02 / 0.98), 8.0, 20.0])  # ε/2 = 0.05: all but the middle past it
    eta = _sigmoid(loss_zoo.posterior_logits("label_smoothing", z, epsilon=0.1))
    assert eta[0] < eta[1] < 1e-6 and eta[1] < eta[2] < 1e-6 and 1 - eta[3] < 1e-6 and eta[3] < eta[4]


@pytest.mark.parametrize("epsilon", [-1.0, -0.5, 1.0, 3.0])
def test_poly1_map_returns_eta(epsilon):
    loss = loss_zoo.get("poly1", epsilon=epsilon, reduction="none")
    for eta in ETAS:
        z = _risk_minimiser_binary(loss, eta)
        corrected = loss_zoo.posterior_logits("poly1", np.array([z]), epsilon=epsilon)
        assert _sigmoid(corrected[0]) == pytest.approx(eta, abs=1e-6)
    for eta in map(np.array, [(0.6, 0.3, 0.1), (0.1, 0.2, 0.7)]):
        z = _risk_minimiser_multiclass(loss, eta)
        got = softmax(loss_zoo.posterior_logits("poly1", z[None, :], epsilon=epsilon)[0])
        np.testing.assert_allclose(got, eta, atol=2e-6)


def test_brier_risk_is_minimised_by_the_posterior_itself():
    """Strictly proper: scipy's minimiser is η, and the declared map is the identity."""
    loss = loss_zoo.get("brier", reduction="none")
    for eta in ETAS:
        z = _risk_minimiser_binary(loss, eta)
        assert _sigmoid(z) == pytest.approx(eta, abs=1e-6)
        assert loss_zoo.posterior_logits("brier", np.array([z]))[0] == z
    for eta in map(np.array, [(0.6, 0.3, 0.1), (0.1, 0.2, 0.7)]):
        z = _risk_minimiser_multiclass(loss, eta)
        np.testing.assert_allclose(softmax(z), eta, atol=2e-6)
        np.testing.assert_allclose(softmax(loss_zoo.posterior_logits("brier", z[None, :])[0]), eta, atol=2e-6)


def test_dual_focal_risk_minimiser_jumps_over_a_gap_so_no_map_is_declared():
    """Binary dual focal (γ = 2): the risk's minimiser, on a grid of logits, is below -0.5 for
    every η < 1/2 and above 0.5 for every η > 1/2, so logits in between map to no posterior."""
    loss = loss_zoo.get("dual_focal", gamma=2.0, reduction="none")
    z = torch.linspace(-12, 12, 48001, dtype=torch.float64)
    ones = torch.ones(len(z), dtype=torch.long)
    positive, negative = loss(z, ones), loss(z, 0 * ones)
    minimiser = {eta: float(z[torch.argmin(eta * positive + (1 - eta) * negative)]) for eta in (0.3, 0.45, 0.55, 0.7)}
    assert minimiser[0.3] < minimiser[0.45] < -0.5 and 0.5 < minimiser[0.55] < minimiser[0.7]
    assert loss_zoo.entry("dual_focal").posterior is None
