r"""Closed-form posterior corrections: from a trained model's logits to the class posterior.

A loss whose pointwise risk is not minimised by the posterior η leaves the model's probability
q distorted. Each map here inverts the first-order condition of the loss's pointwise risk, so
that for the risk minimiser q*(η) it returns η exactly. Inputs and outputs are logits, which
keeps the maps finite as q → 0 or 1 and strictly monotone (ranking is kept).

Binary focal loss with class weights (w_0, w_1) (α: w_1 = α, w_0 = 1 - α) has the pointwise risk
:math:`R(q) = -\eta w_1 (1-q)^\gamma \log q - (1-\eta) w_0 q^\gamma \log(1-q)`; setting
:math:`R'(q) = 0` gives :math:`\eta w_1 A(q) = (1-\eta) w_0 B(q)` with
:math:`A(q) = (1-q)^{\gamma-1}\,[(1-q)/q - \gamma\log q]` and
:math:`B(q) = q^{\gamma-1}\,[q/(1-q) - \gamma\log(1-q)]`, so in logits (z = logit q)

.. math:: \operatorname{logit}\eta = (\gamma - 1) z + \log T_2 - \log T_1 + \log(w_0 / w_1),

:math:`T_1 = e^{-z} + \gamma\,\mathrm{softplus}(-z)`, :math:`T_2 = e^{z} + \gamma\,\mathrm{softplus}(z)`.
Multi-class focal: :math:`\eta_k \propto 1 / (w_k A(q_k))` (Charoenphakdee, Vongkulbhisal, Chairatanakul,
Sugiyama, "On Focal Loss for Class-Posterior Probability Estimation: A Theoretical
Perspective", CVPR 2021). Weighted cross-entropy: :math:`\eta_k \propto q_k / w_k`. Logit
adjustment (Menon et al. 2021): :math:`\eta = \mathrm{softmax}(f + \tau\log\pi)`.

Poly-1, :math:`-\log q_y + \varepsilon (1 - q_y)`: its risk is convex in q (a linear term added to
cross-entropy's), and the Lagrange condition :math:`\eta_k (1/q_k + \varepsilon) = \lambda` gives
:math:`\eta_k \propto q_k / (1 + \varepsilon q_k)`; binary,
:math:`\operatorname{logit}\eta = z + \log(1 + \varepsilon(1 - q)) - \log(1 + \varepsilon q)`, strictly
increasing in z for every ε ≥ -1. Label smoothing's risk is minimised by the smoothed
posterior :math:`q^* = (1 - \varepsilon)\eta + \varepsilon / C`, so
:math:`\eta = (q - \varepsilon / C) / (1 - \varepsilon)` on the reachable range
[ε/C, 1 − ε + ε/C]; outside it (a model past every risk minimiser) the map clips to the simplex.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
from scipy.special import log_expit, log_softmax, logsumexp


def _log_softplus(x: np.ndarray) -> np.ndarray:
    """log(softplus(x)) without underflow to -inf for very negative x."""
    with np.errstate(divide="ignore", over="ignore"):
        return np.where(x < -30.0, x, np.log(np.logaddexp(0.0, np.maximum(x, -30.0))))


def _class_weights(weight, alpha, n_classes: int) -> np.ndarray | None:
    if weight is not None and alpha is not None:
        raise ValueError("weight: give class weights or alpha, not both")
    if alpha is not None:
        if n_classes == 2 and np.ndim(alpha) == 0:
            if not 0.0 < float(alpha) < 1.0:
                raise ValueError(f"alpha: expected a value in (0, 1) for the correction, got {alpha!r}")
            return np.array([1.0 - float(alpha), float(alpha)])
        weight = alpha
    if weight is None:
        return None
    w = np.asarray(weight, dtype=np.float64)
    if w.shape != (n_classes,) or not np.all(w > 0) or not np.all(np.isfinite(w)):
        raise ValueError(f"weight: expected {n_classes} positive finite class weights, got {np.asarray(weight).tolist()}")
    return w


def _check_gamma(gamma: float) -> float:
    if not (float(gamma) >= 0) or not np.isfinite(gamma):
        raise ValueError(f"gamma: expected a finite real >= 0, got {gamma!r}")
    return float(gamma)


def focal_posterior_logits(
    logits: np.ndarray,
    *,
    gamma: float,
    alpha: float | Sequence[float] | None = None,
    weight: Sequence[float] | None = None,
) -> np.ndarray:
    """Posterior logits from the logits of a model trained with focal loss.

    Parameters
    ----------
    logits : array, shape (N,) (binary) or (N, C)
    gamma : float >= 0
    alpha : float in (0, 1) (binary) or C weights, optional
        As in :func:`loss_zoo.focal_loss`.
    weight : C positive class weights, optional
        E.g. class-balanced focal's effective-number weights.

    Returns
    -------
    array like ``logits``: logit η (binary) or log η (multi-class, rows normalised).
    """
    gamma = _check_gamma(gamma)
    z = np.asarray(logits, dtype=np.float64)
    if z.ndim == 1:
        w = _class_weights(weight, alpha, 2)
        if gamma == 0:
            out = z.copy()
        else:
            log_gamma = np.log(gamma)
            log_t1 = np.logaddexp(-z, log_gamma + _log_softplus(-z))
            log_t2 = np.logaddexp(z, log_gamma + _log_softplus(z))
            out = (gamma - 1.0) * z + log_t2 - log_t1
        return out if w is None else out + np.log(w[0] / w[1])
    w = _class_weights(weight, alpha, z.shape[1])
    log_q = log_softmax(z, axis=1)
    if gamma == 0:
        log_inv_a = log_q
    else:
        log_1m_q = _log_one_minus(log_q)
        with np.errstate(divide="ignore"):
            log_t1 = np.logaddexp(log_1m_q - log_q, np.log(gamma) + np.log(-log_q))
        log_inv_a = -((gamma - 1.0) * log_1m_q + log_t1)
    if w is not None:
        log_inv_a = log_inv_a - np.log(w)
    return log_softmax(log_inv_a, axis=1)


def _log_one_minus(log_q: np.ndarray) -> np.ndarray:
    """log(1 - q_k) per class from (N, C) log-probabilities, as a log-sum-exp over the other
    classes: exact near q_k = 1."""
    c = log_q.shape[1]
    others = np.where(np.eye(c, dtype=bool)[None, :, :], -np.inf, log_q[:, None, :])
    return logsumexp(others, axis=2)


def weighted_ce_posterior_logits(logits: np.ndarray, *, weight: Sequence[float]) -> np.ndarray:
    """Posterior logits for class-weighted cross-entropy: η_k ∝ q_k / w_k."""
    z = np.asarray(logits, dtype=np.float64)
    w = _class_weights(weight, None, 2 if z.ndim == 1 else z.shape[1])
    if z.ndim == 1:
        return z + np.log(w[0] / w[1])
    return log_softmax(z - np.log(w), axis=1)


def logit_adjusted_posterior_logits(logits: np.ndarray, *, prior: Sequence[float], tau: float = 1.0) -> np.ndarray:
    """Posterior logits for logit-adjusted cross-entropy: η = softmax(f + τ log π)."""
    z = np.asarray(logits, dtype=np.float64)
    pi = np.asarray(prior, dtype=np.float64)
    n_classes = 2 if z.ndim == 1 else z.shape[1]
    if pi.shape != (n_classes,) or not np.all(pi > 0):
        raise ValueError(f"prior: expected {n_classes} positive class priors, got {np.asarray(prior).tolist()}")
    log_pi = np.log(pi / pi.sum())
    if z.ndim == 1:
        return z + tau * (log_pi[1] - log_pi[0])
    return log_softmax(z + tau * log_pi, axis=1)


def _log_probabilities(z: np.ndarray) -> np.ndarray:
    """(N, C) log-probabilities: log softmax of (N, C) logits, (log(1 - q), log q) of (N,) ones."""
    return np.stack([log_expit(-z), log_expit(z)], axis=1) if z.ndim == 1 else log_softmax(z, axis=1)


def _as_output(log_eta: np.ndarray, binary: bool) -> np.ndarray:
    """Posterior logits from (N, C) unnormalised log η: logit η for binary, log η otherwise."""
    return log_eta[:, 1] - log_eta[:, 0] if binary else log_softmax(log_eta, axis=1)


def poly1_posterior_logits(logits: np.ndarray, *, epsilon: float) -> np.ndarray:
    """Posterior logits for poly-1 (Leng et al. 2022): η_k ∝ q_k / (1 + ε q_k), ε >= -1.

    1 + ε q is computed as (1 - q) + (1 + ε) q in log space, so ε = -1 (η_k ∝ q_k / (1 - q_k))
    and extreme logits stay finite.
    """
    if not float(epsilon) >= -1.0 or not np.isfinite(epsilon):
        raise ValueError(f"epsilon: expected a finite real >= -1, got {epsilon!r}")
    z = np.asarray(logits, dtype=np.float64)
    log_q = _log_probabilities(z)
    log_1m_q = log_q[:, ::-1] if z.ndim == 1 else _log_one_minus(log_q)
    with np.errstate(divide="ignore"):
        log_denominator = np.logaddexp(log_1m_q, np.log1p(float(epsilon)) + log_q)  # log(1 + ε q_k)
    return _as_output(log_q - log_denominator, z.ndim == 1)


#: the share of the model's own probability mixed into a clipped posterior: keeps the map finite
#: and strictly increasing (ranking kept) where it clips, and moves it by < 1e-6 elsewhere
IDENTITY_SHARE = 1e-6


def label_smoothing_posterior_logits(logits: np.ndarray, *, epsilon: float) -> np.ndarray:
    """Posterior logits for label smoothing: η = (q − ε/C) / (1 − ε), clipped to the simplex.

    Each class's max(q_k − ε/C, 0) is renormalised (on the reachable range the sum is 1 − ε, so
    this is the exact inverse), then mixed with :data:`IDENTITY_SHARE` of q so that a model
    past the reachable range still gets finite, strictly increasing posterior logits.
    """
    if not 0.0 <= float(epsilon) < 1.0:
        raise ValueError(f"epsilon: expected a value in [0, 1), got {epsilon!r}")
    z = np.asarray(logits, dtype=np.float64)
    log_q = _log_probabilities(z)
    with np.errstate(divide="ignore"):
        log_c = np.log(np.maximum(np.exp(log_q) - float(epsilon) / log_q.shape[1], 0.0))
    log_c = log_c - logsumexp(log_c, axis=1, keepdims=True)
    log_eta = np.logaddexp(np.log1p(-IDENTITY_SHARE) + log_c, np.log(IDENTITY_SHARE) + log_q)
    return _as_output(log_eta, z.ndim == 1)
