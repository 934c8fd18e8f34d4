"""Multi-class calibration variants, on logits whose true posterior is known."""

from __future__ import annotations

import numpy as np
import pytest
from scipy.optimize import minimize
from scipy.special import log_softmax, softmax

from harness.evaluation import calibration_multiclass as cm
from harness.metrics import multiclass as mm
from loss_zoo import class_weights

PRIOR = np.array([0.55, 0.25, 0.12, 0.05, 0.03])


def _truth(seed: int, n: int = 4000):
    """log η (N, 5) of a long-tailed problem and labels drawn from it."""
    rng = np.random.default_rng(seed)
    log_eta = log_softmax(1.5 * rng.normal(size=(n, 5)) + np.log(PRIOR), axis=1)
    u = rng.random(n)[:, None]
    y = (np.cumsum(np.exp(log_eta), axis=1) < u).sum(axis=1).clip(max=4)
    return log_eta, y


def _nll(z, y):
    return -log_softmax(z, axis=1)[np.arange(len(y)), y].mean()


def test_temperature_is_the_numerical_minimum_of_validation_log_loss():
    log_eta, y = _truth(0)
    z = 2.5 * log_eta
    t = cm.fit_temperature(z, y)
    ref = minimize(lambda v: _nll(z / v[0], y), x0=[1.0], method="Nelder-Mead",
                   options={"xatol": 1e-10, "fatol": 1e-14}).x[0]
    assert t == pytest.approx(ref, rel=1e-5)
    assert t == pytest.approx(2.5, rel=0.05)


def test_vector_scaling_is_the_numerical_minimum_of_validation_log_loss():
    log_eta, y = _truth(1, n=3000)
    z = log_eta * np.array([3.0, 1.0, 0.5, 2.0, 1.0]) + np.array([0.0, 1.0, -1.0, 0.5, 2.0])
    w, b = cm.fit_vector_scaling(z, y)
    ref = minimize(lambda th: _nll(z * th[:5] + th[5:], y), np.r_[np.ones(5), np.zeros(5)], method="BFGS",
                   options={"gtol": 1e-10})
    assert _nll(z * w + b, y) <= ref.fun + 1e-9
    np.testing.assert_allclose(softmax(z * w + b, axis=1), softmax(z * ref.x[:5] + ref.x[5:], axis=1), atol=1e-4)


@pytest.mark.parametrize("variant", cm.VARIANTS)
def test_calibrated_rows_sum_to_one_and_scores_are_log_probabilities(variant):
    log_eta, y = _truth(2, n=500)
    out = cm.calibrate(variant, loss="focal", loss_params={"gamma": 2.0}, val_logits=3 * log_eta, y_val=y,
                       test_logits=2 * log_eta[::-1])
    for prob in (out.val_prob, out.test_prob):
        assert prob.shape == (500, 5) and prob.min() >= 0
        np.testing.assert_allclose(prob.sum(axis=1), 1.0, atol=1e-12)
    np.testing.assert_allclose(np.exp(out.test_score), out.test_prob, rtol=1e-12)


def test_closed_form_is_identity_for_ce_and_absent_without_a_correction():
    log_eta, y = _truth(3, n=200)
    z = 1.7 * log_eta + 0.3
    out = cm.calibrate("closed_form", loss="ce", loss_params={}, val_logits=z, y_val=y, test_logits=z)
    np.testing.assert_allclose(out.test_prob, softmax(z, axis=1), rtol=1e-12)
    assert cm.calibrate("closed_form", loss="focal_flsd", loss_params={}, val_logits=z, y_val=y, test_logits=z) is None
    with pytest.raises(ValueError, match="unknown multi-class variant 'isotonic'"):
        cm.calibrate("isotonic", loss="ce", loss_params={}, val_logits=z, y_val=y, test_logits=z)


def _tce(log_eta, out):
    return mm.true_calibration_error(np.exp(log_eta), out.test_prob)


def test_variants_lower_the_true_calibration_error_of_a_mis_scaled_model():
    (val_eta, y_val), (test_eta, _) = _truth(4), _truth(5)
    mis = lambda le: 3.0 * le - np.log(PRIOR)  # noqa: E731  over-confident and prior-blind
    raw = _tce(test_eta, cm.calibrate("raw", loss="ce", loss_params={}, val_logits=mis(val_eta), y_val=y_val,
                                      test_logits=mis(test_eta)))
    for variant in ("temperature", "vector_scaling"):
        out = cm.calibrate(variant, loss="ce", loss_params={}, val_logits=mis(val_eta), y_val=y_val,
                           test_logits=mis(test_eta))
        assert _tce(test_eta, out) < raw / 2, variant
    out = cm.calibrate("vector_scaling", loss="ce", loss_params={}, val_logits=mis(val_eta), y_val=y_val,
                       test_logits=mis(test_eta))
    assert _tce(test_eta, out) < 0.03


@pytest.mark.parametrize(("loss", "params", "model"), [
    # the population minimiser of each loss, as a function of the true log-posterior
    ("logit_adjusted_ce", {"prior": PRIOR.tolist(), "tau": 1.0}, lambda le: le - np.log(PRIOR)),
    ("weighted_ce", {"weight": class_weights([550, 250, 120, 50, 30])},
     lambda le: le + np.log(class_weights([550, 250, 120, 50, 30]))),
])
def test_closed_form_recovers_the_posterior_of_a_loss_minimiser(loss, params, model):
    (val_eta, y_val), (test_eta, _) = _truth(6), _truth(7)
    raw = cm.calibrate("raw", loss=loss, loss_params=params, val_logits=model(val_eta), y_val=y_val,
                       test_logits=model(test_eta))
    out = cm.calibrate("closed_form", loss=loss, loss_params=params, val_logits=model(val_eta), y_val=y_val,
                       test_logits=model(test_eta))
    assert _tce(test_eta, raw) > 0.05 and _tce(test_eta, out) < 1e-9


def test_closed_form_applies_the_prior_shift_after_resampling():
    (val_eta, y_val), (test_eta, _) = _truth(8), _truth(9)
    balanced = lambda le: le - np.log(PRIOR)  # noqa: E731  CE trained on a class-balanced resample
    shift = np.log(PRIOR) - np.log(np.full(5, 0.2))
    out = cm.calibrate("closed_form", loss="ce", loss_params={}, val_logits=balanced(val_eta), y_val=y_val,
                       test_logits=balanced(test_eta), prior_shift=shift)
    assert _tce(test_eta, out) < 1e-9
