"""Post-hoc calibration variants for multi-class logits (N, C), each fitted on validation only.

- ``raw``: softmax of the model's logits;
- ``temperature``: softmax(z / T), one T minimising validation log loss (Guo et al., ICML 2017);
- ``closed_form``: loss_zoo's multi-class posterior map log η = g(z) for the method's loss
  (identity for CE), plus the prior-shift correction after resampling; none for a method
  without a loss (an ensemble);
- ``vector_scaling``: softmax(w ⊙ z + b), a scale and a bias per class, fitted by validation
  log loss (Guo et al., ICML 2017).

Why vector scaling rather than one-vs-rest isotonic regression as the fourth variant. Isotonic
regression needs many validation samples per class, and the tail classes of a long-tailed split
keep few (``min_test_minority`` = 10 by default, as many in validation): C step functions fitted
on a dozen positives each overfit, and renormalising their outputs breaks the per-class
calibration each was fitted for, puts exact zeros on true classes (infinite log loss) and ties
the ranking. Vector scaling has 2C parameters fitted jointly by one likelihood, convex in (w, b);
it contains temperature scaling (w = 1/T, b = 0) and, through b, the log-prior shift that
imbalance and resampling cause (Saerens et al. 2002; Menon et al. 2021), the miscalibration this
suite studies; its outputs are strictly positive and their log is a smooth score.
The variant is therefore named ``vector_scaling``; the binary ``isotonic`` keeps its name and
meaning.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import numpy as np
from scipy.optimize import minimize, minimize_scalar
from scipy.special import log_softmax, softmax

import loss_zoo
from harness.evaluation.calibration import Calibrated
from harness.vocabulary import MULTICLASS_VARIANTS as VARIANTS

LOG_T_BOUNDS = (-5.0, 5.0)
VECTOR_BOUNDS = ((np.exp(-5.0), np.exp(5.0)), (-50.0, 50.0))  # per-class scale, bias


def _nll(z: np.ndarray, y: np.ndarray) -> float:
    return float(-log_softmax(z, axis=1)[np.arange(y.size), y].mean())


def fit_temperature(logits: np.ndarray, y: np.ndarray) -> float:
    """The temperature T in [e^-5, e^5] minimising the log loss of softmax(z / T) on (logits (N, C), y (N,))."""
    z, y = np.asarray(logits, dtype=np.float64), np.asarray(y)
    res = minimize_scalar(lambda log_t: _nll(z / np.exp(log_t), y), bounds=LOG_T_BOUNDS, method="bounded",
                          options={"xatol": 1e-8})
    return float(np.exp(res.x))


def fit_vector_scaling(logits: np.ndarray, y: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    r"""Per-class scale w (C,) and bias b (C,) minimising the log loss of softmax(w ⊙ z + b).

    L-BFGS-B with the analytic gradient (∂/∂s of the mean NLL is (softmax(s) - onehot) / N),
    from w = 1, b = 0; w in [e^-5, e^5], b in [-50, 50] so a class separable on validation
    cannot send them to infinity.
    """
    z, y = np.asarray(logits, dtype=np.float64), np.asarray(y)
    n, c = z.shape
    onehot = np.eye(c)[y]

    def objective(theta):
        w, b = theta[:c], theta[c:]
        s = z * w + b
        log_p = log_softmax(s, axis=1)
        d = (np.exp(log_p) - onehot) / n
        return float(-(log_p * onehot).sum() / n), np.concatenate([(d * z).sum(axis=0), d.sum(axis=0)])

    bounds = [VECTOR_BOUNDS[0]] * c + [VECTOR_BOUNDS[1]] * c
    res = minimize(objective, np.r_[np.ones(c), np.zeros(c)], jac=True, method="L-BFGS-B", bounds=bounds,
                   options={"ftol": 1e-12, "gtol": 1e-9, "maxiter": 1000})
    return res.x[:c], res.x[c:]


def _from_log(val: np.ndarray, test: np.ndarray) -> Calibrated:
    """Probabilities from (unnormalised) log-probabilities; the test scores are the normalised
    log-probabilities, strictly monotone in each class's probability (no ties at saturation)."""
    log_test = log_softmax(test, axis=1)
    return Calibrated(softmax(val, axis=1), np.exp(log_test), log_test)


def calibrate(
    variant: str,
    *,
    loss: str,
    loss_params: Mapping[str, Any],
    val_logits: np.ndarray,
    y_val: np.ndarray,
    test_logits: np.ndarray,
    prior_shift: np.ndarray | None = None,
    trained_log_prior: np.ndarray | None = None,
) -> Calibrated | None:
    """Validation and test probabilities (N, C) under ``variant``, and test ranking scores (N, C).

    ``prior_shift`` (closed form only), shape (C,): log π_data - log π_trained, added to the
    corrected log-posterior (the Bayes prior-shift correction, Saerens, Latinne, Decaestecker,
    Neural Computation 2002); None after no resampling. ``logit_adjusted``: z − log π_trained
    (Menon et al., ICLR 2021, τ = 1; ``trained_log_prior`` (C,), None: uniform, no shift). Returns None when the variant does not
    apply (a loss without a closed-form correction).
    """
    zv, zt = np.asarray(val_logits, dtype=np.float64), np.asarray(test_logits, dtype=np.float64)
    if variant == "raw":
        return _from_log(zv, zt)
    if variant == "temperature":
        t = fit_temperature(zv, y_val)
        return _from_log(zv / t, zt / t)
    if variant == "closed_form":
        if loss not in loss_zoo.available() or loss_zoo.available()[loss].posterior is None:
            return None  # no loss (an ensemble), or no closed form
        shift = 0.0 if prior_shift is None else np.asarray(prior_shift, dtype=np.float64)
        return _from_log(loss_zoo.posterior_logits(loss, zv, **loss_params) + shift,
                         loss_zoo.posterior_logits(loss, zt, **loss_params) + shift)
    if variant == "logit_adjusted":
        shift = 0.0 if trained_log_prior is None else np.asarray(trained_log_prior, dtype=np.float64)
        return _from_log(zv - shift, zt - shift)
    if variant == "vector_scaling":
        w, b = fit_vector_scaling(zv, y_val)
        return _from_log(zv * w + b, zt * w + b)
    raise ValueError(f"calibration: unknown multi-class variant {variant!r}; known: {', '.join(VARIANTS)}")
