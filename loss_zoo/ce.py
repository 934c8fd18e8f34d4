"""Cross-entropy: the maximum-likelihood baseline, with and without class weights."""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn

from ._checks import (
    check_binary_inputs,
    check_multiclass_inputs,
    check_reduction,
    class_weight_tensor,
    reduce,
)
from .corrections import logit_adjusted_posterior_logits, weighted_ce_posterior_logits
from .entry import INF, BinaryTerms, LossEntry, MulticlassTerms, Range
from .weights import class_weights


def _log_p_target(logits: torch.Tensor, targets: torch.Tensor) -> torch.Tensor:
    """log p_t for binary (N,) or multi-class (N, C) logits, computed in log space."""
    if logits.ndim == 1:
        check_binary_inputs(logits, targets)
        signed = torch.where(targets.bool(), logits, -logits)
        return F.logsigmoid(signed)
    check_multiclass_inputs(logits, targets)
    return F.log_softmax(logits, dim=1).gather(1, targets.long().unsqueeze(1)).squeeze(1)


def ce_loss(logits: torch.Tensor, targets: torch.Tensor, *, reduction: str = "mean") -> torch.Tensor:
    r"""Cross-entropy, :math:`\mathrm{CE} = -\log p_t`.

    Binary: ``logits`` of shape (N,) and ``targets`` in {0, 1}, p = sigmoid(logit).
    Multi-class: ``logits`` of shape (N, C) and integer ``targets`` in [0, C), p = softmax.

    Parameters
    ----------
    logits : Tensor, shape (N,) or (N, C)
    targets : Tensor, shape (N,)
    reduction : {"none", "mean", "sum"}, default "mean"
        "mean" divides the sum by N.

    Returns
    -------
    Tensor, shape (N,) for ``reduction="none"``, else a scalar.

    Examples
    --------
    >>> ce_loss(torch.tensor([0.0, 2.0]), torch.tensor([0, 1])).item() > 0
    True
    """
    check_reduction(reduction)
    return reduce(-_log_p_target(logits, targets), reduction)


def weighted_ce_loss(
    logits: torch.Tensor,
    targets: torch.Tensor,
    *,
    weight: Sequence[float] | torch.Tensor,
    reduction: str = "mean",
) -> torch.Tensor:
    r"""Class-weighted cross-entropy, :math:`-w_{y} \log p_y`.

    Weights usually come from :func:`loss_zoo.class_weights` (inverse frequency to a power
    β, or the effective number of samples of Cui et al., CVPR 2019). Binary weights are
    ``(w_negative, w_positive)``; ``weight = (1, w)`` equals torch's ``BCEWithLogitsLoss(pos_weight=w)``.

    Parameters
    ----------
    logits : Tensor, shape (N,) or (N, C)
    targets : Tensor, shape (N,)
    weight : sequence of float, length 2 (binary) or C, each >= 0
    reduction : {"none", "mean", "sum"}, default "mean"
        "mean" divides the weighted sum by N (not by the sum of weights).
    """
    check_reduction(reduction)
    log_pt = _log_p_target(logits, targets)
    n_classes = 2 if logits.ndim == 1 else logits.shape[1]
    w = class_weight_tensor(weight, n_classes, logits)
    if w is None:
        raise ValueError("weight: expected class weights, got None (use ce_loss for no weights)")
    return reduce(-w[targets.long()] * log_pt, reduction)


class CELoss(nn.Module):
    """Module form of :func:`ce_loss`."""

    def __init__(self, *, reduction: str = "mean") -> None:
        super().__init__()
        check_reduction(reduction)
        self.reduction = reduction

    def forward(self, logits: torch.Tensor, targets: torch.Tensor) -> torch.Tensor:
        return ce_loss(logits, targets, reduction=self.reduction)


class WeightedCELoss(nn.Module):
    """Module form of :func:`weighted_ce_loss`; stores the class weights."""

    def __init__(self, *, weight: Sequence[float], reduction: str = "mean") -> None:
        super().__init__()
        check_reduction(reduction)
        self.weight = [float(w) for w in weight]
        self.reduction = reduction

    def forward(self, logits: torch.Tensor, targets: torch.Tensor) -> torch.Tensor:
        return weighted_ce_loss(logits, targets, weight=self.weight, reduction=self.reduction)


def _log_prior_shift(prior: Sequence[float] | torch.Tensor, tau: float, logits: torch.Tensor) -> torch.Tensor:
    """τ · log π as a logit shift: a scalar τ log(π_1 / π_0) for binary, a (C,) vector otherwise."""
    n_classes = 2 if logits.ndim == 1 else logits.shape[1]
    pi = torch.as_tensor(prior, dtype=torch.float64)
    if pi.ndim != 1 or pi.shape[0] != n_classes:
        raise ValueError(f"prior: expected {n_classes} class priors, got shape {tuple(pi.shape)}")
    if not bool((pi > 0).all()) or not bool(torch.isfinite(pi).all()):
        raise ValueError(f"prior: expected positive finite class priors, got {pi.tolist()}")
    if not (float(tau) >= 0.0) or tau == float("inf"):
        raise ValueError(f"tau: expected a finite real >= 0, got {tau!r}")
    log_pi = torch.log(pi / pi.sum())
    shift = tau * (log_pi[1] - log_pi[0]) if logits.ndim == 1 else tau * log_pi
    return shift.to(dtype=logits.dtype, device=logits.device)


def logit_adjusted_ce_loss(
    logits: torch.Tensor,
    targets: torch.Tensor,
    *,
    prior: Sequence[float] | torch.Tensor,
    tau: float = 1.0,
    reduction: str = "mean",
) -> torch.Tensor:
    r"""Logit-adjusted cross-entropy, :math:`-\log \mathrm{softmax}(f + \tau \log \pi)_y`.

    Menon, Jayasumana, Rawat, Jain, Veit, Kumar, "Long-tail learning via logit adjustment",
    ICLR 2021. Training on shifted logits makes the unshifted ``f`` a balanced classifier;
    :func:`loss_zoo.corrections.logit_adjusted_posterior` maps it back to the posterior.
    Binary (N,) logits shift by τ log(π_1 / π_0).

    Parameters
    ----------
    logits : Tensor, shape (N,) or (N, C)
    targets : Tensor, shape (N,)
    prior : sequence of float > 0, length 2 (binary) or C
        Training class frequencies (normalised here).
    tau : float >= 0, default 1.0
        τ = 0 is plain cross-entropy.
    reduction : {"none", "mean", "sum"}, default "mean"
    """
    check_reduction(reduction)
    return ce_loss(logits + _log_prior_shift(prior, tau, logits), targets, reduction=reduction)


class LogitAdjustedCELoss(nn.Module):
    """Module form of :func:`logit_adjusted_ce_loss`; stores the prior and τ."""

    def __init__(self, *, prior: Sequence[float], tau: float = 1.0, reduction: str = "mean") -> None:
        super().__init__()
        check_reduction(reduction)
        self.prior, self.tau, self.reduction = tuple(float(p) for p in prior), float(tau), reduction
        _log_prior_shift(self.prior, self.tau, torch.zeros(1) if len(self.prior) == 2 else torch.zeros(1, len(self.prior)))

    def forward(self, logits: torch.Tensor, targets: torch.Tensor) -> torch.Tensor:
        return logit_adjusted_ce_loss(logits, targets, prior=self.prior, tau=self.tau, reduction=self.reduction)


def balanced_softmax_loss(
    logits: torch.Tensor,
    targets: torch.Tensor,
    *,
    prior: Sequence[float] | torch.Tensor,
    reduction: str = "mean",
) -> torch.Tensor:
    r"""Balanced softmax, :math:`-\log \frac{n_y e^{f_y}}{\sum_k n_k e^{f_k}}`: logit-adjusted
    cross-entropy at τ = 1, under the name the long-tail literature compares it by.

    Ren, Yu, Ma, Zhao, Yi, Li, "Balanced Meta-Softmax for Long-Tailed Visual Recognition",
    NeurIPS 2020. Multiplying each class's exponential by its count n_k is adding log π_k to its
    logit, so this is :func:`logit_adjusted_ce_loss` with ``tau=1`` (Menon et al. 2021 derive the
    same loss); the tests check the two give the same values and gradients.

    Parameters
    ----------
    logits : Tensor, shape (N,) or (N, C)
    targets : Tensor, shape (N,)
    prior : sequence of float > 0, length 2 (binary) or C
        Training class counts or frequencies (normalised here).
    reduction : {"none", "mean", "sum"}, default "mean"
    """
    return logit_adjusted_ce_loss(logits, targets, prior=prior, tau=1.0, reduction=reduction)


class BalancedSoftmaxLoss(LogitAdjustedCELoss):
    """Module form of :func:`balanced_softmax_loss`: :class:`LogitAdjustedCELoss` with τ = 1."""

    def __init__(self, *, prior: Sequence[float], reduction: str = "mean") -> None:
        super().__init__(prior=prior, tau=1.0, reduction=reduction)


# -- registry entries ---------------------------------------------------------------------------
def _identity_posterior(logits, **params) -> np.ndarray:
    z = np.asarray(logits, dtype=np.float64)
    return z.copy() if z.ndim == 1 else z - np.logaddexp.reduce(z, axis=1, keepdims=True)


def _prior(counts: list[int]) -> list[float]:
    total = sum(counts)
    return [c / total for c in counts]


def _weighted_terms(loss: WeightedCELoss) -> BinaryTerms | None:
    return BinaryTerms(w0=loss.weight[0], w1=loss.weight[1]) if len(loss.weight) == 2 else None


def _logit_adjusted_terms(loss: LogitAdjustedCELoss) -> BinaryTerms | None:
    if len(loss.prior) != 2:
        return None
    prior = torch.tensor(loss.prior, dtype=torch.float64)
    log_pi = torch.log(prior / prior.sum())
    return BinaryTerms(shift=float(loss.tau * (log_pi[1] - log_pi[0])))


def _logit_adjusted_multiclass_terms(loss: LogitAdjustedCELoss) -> MulticlassTerms:
    prior = np.asarray(loss.prior, dtype=np.float64)
    return MulticlassTerms(shift=tuple(float(v) for v in loss.tau * np.log(prior / prior.sum())))


CE = LossEntry(
    "ce", ce_loss, CELoss, "maximum likelihood",
    binary_terms=lambda loss: BinaryTerms(), multiclass_terms=lambda loss: MulticlassTerms(),
    posterior=_identity_posterior,
)

WEIGHTED_CE = LossEntry(
    "weighted_ce", weighted_ce_loss, WeightedCELoss,
    "class-weighted cross-entropy; weights from loss_zoo.class_weights",
    params=lambda p, counts: {"weight": class_weights(counts, beta=p["weighted_ce_beta"])},
    space={"weighted_ce_beta": Range(0.0, 1.0, valid=(0.0, 1.0), default=1.0)},
    estimator={"beta": "weighted_ce_beta"},
    binary_terms=_weighted_terms, multiclass_terms=lambda loss: MulticlassTerms(weight=tuple(loss.weight)),
    posterior=weighted_ce_posterior_logits,
)

LOGIT_ADJUSTED_CE = LossEntry(
    "logit_adjusted_ce", logit_adjusted_ce_loss, LogitAdjustedCELoss, "Menon et al., ICLR 2021",
    params=lambda p, counts: {"prior": _prior(counts), "tau": p["logit_adjusted_ce_tau"]},
    space={"logit_adjusted_ce_tau": Range(0.0, 2.0, valid=(0.0, INF), default=1.0)},
    estimator={"tau": "logit_adjusted_ce_tau"},
    binary_terms=_logit_adjusted_terms, multiclass_terms=_logit_adjusted_multiclass_terms,
    posterior=logit_adjusted_posterior_logits,
)

BALANCED_SOFTMAX = LossEntry(
    "balanced_softmax", balanced_softmax_loss, BalancedSoftmaxLoss,
    "Ren et al., NeurIPS 2020 (= logit_adjusted_ce at tau = 1)",
    params=lambda p, counts: {"prior": _prior(counts)},
    binary_terms=_logit_adjusted_terms, multiclass_terms=_logit_adjusted_multiclass_terms,
    posterior=lambda logits, *, prior: logit_adjusted_posterior_logits(logits, prior=prior, tau=1.0),
)
