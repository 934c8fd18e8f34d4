r"""Multi-class boosting objectives: every loss of the zoo with :class:`~loss_zoo.MulticlassTerms`,
as LightGBM's custom objective on K = C raw scores per sample (one tree per class and round).

A loss's multi-class terms give its per-sample form on the raw scores z (C,), with s = z + δ,
p = softmax(s), P = p_y and L = −log P:

.. math:: \ell = a\, w_y B^{\gamma_t} L + \varepsilon (s_y - \bar s) + b (1 - P) + c \sum_k (p_k - e_k)^2,

B = 1 − P (plus p_m, the largest probability below P, for dual focal), γ_t = g0 where
P < threshold else g1 (piecewise constant: no derivative), e the one-hot target. Label
smoothing's term ε(log p_y − mean_k log p_k) is ε(s_y − mean_k s_k): linear in s.

LightGBM grows one tree per class on that class's gradient and Hessian, so an objective gives
the gradient ∂ℓ/∂z_j and the **diagonal** of the Hessian, ∂²ℓ/∂z_j² (the softmax couples the
classes; the off-diagonal terms have no place in per-class trees). With the chain rule on
u ∈ {B, L, P, p_m} (∂L/∂s_j = p_j − e_j, ∂²L/∂s_j² = p_j (1 − p_j); for any q = p_k,
∂q/∂s_j = q ([j = k] − p_j), ∂²q/∂s_j² = q (([j = k] − p_j)² − p_j (1 − p_j))) and
F(B, L) = a w B^γ L:

    ∂ℓ/∂s_j   = F_B ∂B_j + F_L ∂L_j
    ∂²ℓ/∂s_j² = F_B ∂²B_j + F_L ∂²L_j + F_BB (∂B_j)² + 2 F_BL ∂B_j ∂L_j

(F_B = a w γ B^{γ−1} L, F_L = a w B^γ, F_BB = a w γ (γ − 1) B^{γ−2} L, F_BL = a w γ B^{γ−1}),
plus −b ∂P_j, −b ∂²P_j (poly-1) and, with D = Σ_k p_k² − P, 2 c p_j (p_j − e_j − D) and its
derivative (Brier). No library gives these with respect to the raw scores; the tests check
them against torch autograd through the zoo's own loss functions.

The Hessian boosting uses is **K/(K−1) · max(exact, floor)**. The floor is the Gauss-Newton
(Fisher) form of each term, a w B^γ p_j (1 − p_j) + 2 c Σ_k (∂p_k/∂s_j)², positive where the
exact diagonal is not (focal for badly misclassified samples, poly-1 with b > 1, Brier). The
factor K/(K−1) is Friedman's for simultaneous per-class Newton steps in the over-parameterised
softmax (Friedman, "Greedy function approximation", Ann. Statist. 2001, Algorithm 6: leaf values
scaled by (K−1)/K), the one LightGBM's built-in ``multiclass`` objective applies
(``hessian = K/(K−1) p (1 − p)``, ``src/objective/multiclass_objective.hpp``): for CE this
objective is the built-in one, so the two grow the same trees (the tests check it to 1e-6).

Boosting starts from the loss's own optimal constant score per class
(:func:`optimal_constant`, the multi-class counterpart of ``boost_from_average``).
"""

from __future__ import annotations

import numpy as np
from scipy.optimize import minimize
from scipy.special import log_softmax, logsumexp

import loss_zoo

BOUND = 30.0  # |constant score| at most (a class absent from the training split)
_TINY = 1e-150  # B's floor inside B^(γ−2): finite products where 1 − p_y underflows


def cannot_take(loss: str) -> str | None:
    """Why multi-class LightGBM cannot train with ``loss`` (None: it can)."""
    entry = loss_zoo.entry(loss)
    if not entry.multiclass:
        return "not a multi-class loss"
    if entry.multiclass_terms is None:
        return entry.no_terms or "its entry declares no per-sample multi-class terms for a custom objective"
    return None


def terms_of(loss: str, loss_params, n_classes: int) -> loss_zoo.MulticlassTerms:
    """The multi-class per-sample form of ``loss`` with ``loss_params`` for ``n_classes``; a clear
    error where it has none."""
    why = cannot_take(loss)
    terms = None if why else loss_zoo.entry(loss).multiclass_terms(loss_zoo.get(loss, **loss_params))
    for name in ("weight", "shift"):
        values = None if terms is None else getattr(terms, name)
        if values is not None and len(values) != n_classes:
            why = f"{name} has {len(values)} values for {n_classes} classes"
            terms = None
    if terms is None:
        raise ValueError(f"loss: multi-class LightGBM cannot train {loss!r} with {dict(loss_params)} "
                         f"({why or 'this configuration has no multi-class per-sample form'})")
    return terms


def _state(t: loss_zoo.MulticlassTerms, z: np.ndarray, y: np.ndarray) -> dict:
    """The per-sample quantities every formula reads: p, one-hot e, P, log L, B and its parts."""
    z = np.asarray(z, dtype=np.float64)
    n, c = z.shape
    s = z if t.shift is None else z + np.asarray(t.shift, dtype=np.float64)
    log_p = log_softmax(s, axis=1)
    p, rows, y = np.exp(log_p), np.arange(n), np.asarray(y, dtype=np.int64)
    e = np.zeros_like(p)
    e[rows, y] = 1.0
    log_pt = log_p[rows, y]
    log_b = logsumexp(np.where(e > 0, -np.inf, log_p), axis=1)  # log(1 − P), accurate near P = 1
    m = None
    if t.dual:  # p_m: the largest probability strictly below P (none: 0, no gradient)
        below = np.where(log_p >= log_pt[:, None], -np.inf, log_p)
        top = below.max(axis=1)
        m = np.zeros_like(p)
        m[rows, below.argmax(axis=1)] = np.where(np.isfinite(top), 1.0, 0.0)
        log_b = np.logaddexp(log_b, top)
    gamma = np.where(np.exp(log_pt) < t.threshold, t.g0, t.g1)
    weight = np.ones(n) if t.weight is None else np.asarray(t.weight, dtype=np.float64)[y]
    return {"s": s, "p": p, "e": e, "P": np.exp(log_pt)[:, None], "L": -log_pt[:, None], "log_b": log_b[:, None],
            "m": m, "gamma": gamma[:, None], "aw": (t.nll * weight)[:, None], "c": c}


def per_sample_loss(t: loss_zoo.MulticlassTerms, z: np.ndarray, y: np.ndarray) -> np.ndarray:
    """ℓ per sample, (n,) float64, from raw scores ``z`` (n, C) and labels ``y`` in [0, C)."""
    st = _state(t, z, y)
    loss = st["aw"] * np.exp(st["gamma"] * st["log_b"]) * st["L"]
    s, p, e = st["s"], st["p"], st["e"]
    loss = loss[:, 0] + t.smoothing * ((s * e).sum(axis=1) - s.mean(axis=1)) + t.poly * (1.0 - st["P"][:, 0])
    return loss + t.brier * ((p - e) ** 2).sum(axis=1)


def _of_probability(q: np.ndarray, k: np.ndarray, p: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """(∂q/∂s_j, ∂²q/∂s_j²) of q = p_k (q (n, 1), k one-hot (n, C))."""
    d = k - p
    return q * d, q * (d**2 - p * (1.0 - p))


def derivatives(t: loss_zoo.MulticlassTerms, z: np.ndarray, y: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """(∂ℓ/∂z, exact diagonal ∂²ℓ/∂z_j²), each (n, C) float64 (see the module docstring)."""
    st = _state(t, z, y)
    p, e, gamma, aw = st["p"], st["e"], st["gamma"], st["aw"]
    dl, d2l = p - e, p * (1.0 - p)
    dp, d2p = _of_probability(st["P"], e, p)
    db, d2b = -dp, -d2p
    if st["m"] is not None:
        pm = (p * st["m"]).sum(axis=1, keepdims=True)
        dpm, d2pm = _of_probability(pm, st["m"], p)
        db, d2b = db + dpm, d2b + d2pm
    log_b = np.maximum(st["log_b"], np.log(_TINY))
    f_l = aw * np.exp(gamma * st["log_b"])
    f_bl = aw * gamma * np.exp((gamma - 1.0) * log_b)
    f_b, f_bb = f_bl * st["L"], aw * gamma * (gamma - 1.0) * np.exp((gamma - 2.0) * log_b) * st["L"]
    grad = f_b * db + f_l * dl
    hess = f_b * d2b + f_l * d2l + f_bb * db**2 + 2.0 * f_bl * db * dl
    if t.smoothing:
        grad = grad + t.smoothing * (e - 1.0 / st["c"])
    if t.poly:
        grad, hess = grad - t.poly * dp, hess - t.poly * d2p
    if t.brier:
        sq = (p**2).sum(axis=1, keepdims=True)
        r = p - e - (sq - st["P"])
        d_d = 2.0 * (p**2 - p * sq) - dp  # ∂D/∂s_j
        grad = grad + 2.0 * t.brier * p * r
        hess = hess + 2.0 * t.brier * (d2l * r + p * (d2l - d_d))
    return grad, hess


def objective_hessian(t: loss_zoo.MulticlassTerms, z: np.ndarray, y: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """(gradient, K/(K−1) · max(exact diagonal, Gauss-Newton floor)) that boosting uses, (n, C) each."""
    grad, hess = derivatives(t, z, y)
    st = _state(t, z, y)
    p, k = st["p"], st["c"]
    floor = st["aw"] * np.exp(st["gamma"] * st["log_b"]) * p * (1.0 - p)
    if t.brier:
        floor = floor + 2.0 * t.brier * p**2 * ((1.0 - p) ** 2 + (p**2).sum(axis=1, keepdims=True) - p**2)
    return grad, k / (k - 1.0) * np.maximum(hess, floor)


def optimal_constant(t: loss_zoo.MulticlassTerms, y: np.ndarray, n_classes: int) -> np.ndarray:
    """The constant scores c (C,) minimising the mean loss over ``y`` (scipy's L-BFGS-B with the
    analytic gradient, within ±30; a constant's loss depends on the class only, so it runs on
    one row per class weighted by the counts). Starts from log π (CE's minimiser up to a shift)."""
    counts = np.bincount(np.asarray(y, dtype=np.int64), minlength=n_classes).astype(np.float64)
    share, classes = counts / counts.sum(), np.arange(n_classes)

    def mean_loss(c: np.ndarray) -> tuple[float, np.ndarray]:
        z = np.tile(c, (n_classes, 1))
        value = float(share @ per_sample_loss(t, z, classes))
        return value, share @ derivatives(t, z, classes)[0]

    start = np.log(np.maximum(share, np.exp(-BOUND)))
    start = np.clip(start - start.mean(), -BOUND, BOUND)
    res = minimize(mean_loss, start, jac=True, method="L-BFGS-B", bounds=[(-BOUND, BOUND)] * n_classes,
                   options={"ftol": 1e-15, "gtol": 1e-12, "maxiter": 500})
    return np.asarray(res.x, dtype=np.float64)
