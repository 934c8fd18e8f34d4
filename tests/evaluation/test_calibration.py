"""Post-hoc calibration variants."""

from __future__ import annotations

import numpy as np
import pytest
from scipy.special import expit

from harness.evaluation.calibration import VARIANTS, calibrate, fit_temperature
from harness.metrics import binary as metrics


def _logits(seed=0, n=2000, scale=3.0, true_t=2.5):
    rng = np.random.default_rng(seed)
    true_logit = rng.normal(0, scale, n)
    y = (rng.random(n) < expit(true_logit)).astype(int)
    return true_logit * true_t, y  # an over-confident model: logits T times too large


def test_temperature_recovers_the_true_temperature_and_minimises_log_loss():
    z, y = _logits(n=20000)
    t = fit_temperature(z, y)
    assert t == pytest.approx(2.5, rel=0.05)
    nll = lambda tt: metrics.get("log_loss")(y, expit(z / tt))  # noqa: E731
    assert nll(t) <= min(nll(tt) for tt in np.linspace(0.5, 5, 91)) + 1e-9


@pytest.mark.parametrize("loss,params", [("ce", {}), ("focal", {"gamma": 2.0, "alpha": 0.25}),
                                         ("weighted_ce", {"weight": [0.6, 4.0]})])
def test_ranking_is_unchanged_by_monotone_variants(loss, params):
    z, y = _logits(1)
    zt, yt = _logits(2)
    raw = metrics.evaluate(["roc_auc", "average_precision"], yt, expit(zt), scores=zt)
    for variant in VARIANTS:
        out = calibrate(variant, loss=loss, loss_params=params, val_logits=z, y_val=y, test_logits=zt)
        assert out.test_prob.min() >= 0 and out.test_prob.max() <= 1
        got = metrics.evaluate(["roc_auc", "average_precision"], yt, out.test_prob, scores=out.test_score)
        for name in ("roc_auc", "average_precision"):
            a, b = raw[name], got[name]
            if variant == "isotonic":  # monotone but with ties: near, not equal
                assert b == pytest.approx(a, abs=0.02)
            else:
                assert b == pytest.approx(a, abs=1e-12)


def test_calibration_reduces_ece_of_an_overconfident_model():
    z, y = _logits(3)
    zt, yt = _logits(4)
    ece = {v: metrics.get("ece")(yt, calibrate(v, loss="ce", loss_params={}, val_logits=z, y_val=y, test_logits=zt).test_prob)
           for v in ("raw", "temperature", "isotonic")}
    assert ece["temperature"] < ece["raw"] / 2 and ece["isotonic"] < ece["raw"] / 2


def test_closed_form_is_identity_for_ce_and_absent_without_a_correction():
    z, y = _logits(5, n=50)
    out = calibrate("closed_form", loss="ce", loss_params={}, val_logits=z, y_val=y, test_logits=z)
    np.testing.assert_allclose(out.test_prob, expit(z), rtol=1e-12)
    assert calibrate("closed_form", loss="focal_flsd", loss_params={}, val_logits=z, y_val=y, test_logits=z) is None
    with pytest.raises(ValueError, match="unknown variant"):
        calibrate("platt", loss="ce", loss_params={}, val_logits=z, y_val=y, test_logits=z)


def test_logit_adjustment_is_the_posterior_at_a_balanced_prior():
    """Menon et al. 2021 (τ = 1): on Gaussian classes with known likelihood ratio, the true
    posterior logit at training prior π, minus log(π / (1 − π)), is the log-likelihood ratio —
    the posterior at a balanced prior; ranking scores move by a constant (ranks unchanged)."""
    from harness.evaluation.calibration import calibrate
    from harness.evaluation.calibration_multiclass import calibrate as calibrate_multiclass

    rng = np.random.default_rng(0)
    y = (rng.random(5000) < 0.1).astype(int)
    x = rng.normal(size=5000) + 1.5 * y
    llr = 1.5 * x - 1.5**2 / 2  # log N(x; 1.5, 1) / N(x; 0, 1)
    prior = np.log(0.1 / 0.9)
    cal = calibrate("logit_adjusted", loss="ce", loss_params={}, val_logits=llr + prior, y_val=y,
                    test_logits=llr + prior, trained_logit_prior=prior)
    np.testing.assert_allclose(cal.test_score, llr, atol=1e-12)
    np.testing.assert_allclose(cal.test_prob, 1 / (1 + np.exp(-llr)), atol=1e-12)
    assert (np.argsort(cal.test_score, kind="stable") == np.argsort(llr + prior, kind="stable")).all()
    # multi-class: z − log π_trained, softmax-normalised; with C = 2 the same as the binary map
    z = np.stack([np.zeros_like(llr), llr + prior], axis=1)
    multi = calibrate_multiclass("logit_adjusted", loss="ce", loss_params={}, val_logits=z, y_val=y, test_logits=z,
                                 trained_log_prior=np.log([0.9, 0.1]))
    np.testing.assert_allclose(multi.test_prob[:, 1], cal.test_prob, atol=1e-12)
