"""Dual focal loss (Tao et al. 2023): focal loss whose factor also sees the runner-up probability."""

from __future__ import annotations

import math

import torch
import torch.nn.functional as F
from torch import nn

from ._checks import check_binary_inputs, check_gamma, check_multiclass_inputs, check_reduction, reduce
from .entry import INF, BinaryTerms, LossEntry, MulticlassTerms, Range


def dual_log_base(log_p: torch.Tensor, log_pt: torch.Tensor, log_1m_pt: torch.Tensor) -> torch.Tensor:
    """log(1 - p_y + p_j), p_j the largest probability strictly below p_y (0 if none), from
    log-probabilities (..., C), log p_y and log(1 - p_y) (...); p_j keeps its gradient, as in
    the authors' code."""
    below = log_p.masked_fill(log_p >= log_pt.unsqueeze(-1), float("-inf")).amax(dim=-1)  # log p_j
    return torch.logaddexp(log_1m_pt, below)


def dual_focal_loss(
    logits: torch.Tensor, targets: torch.Tensor, *, gamma: float = 2.0, reduction: str = "mean"
) -> torch.Tensor:
    r"""Dual focal loss, :math:`-(1 - p_y + p_j)^{\gamma} \log p_y`, p_j the largest probability
    below p_y (0 when p_y is the smallest).

    Tao, Dong, Xu, "Dual Focal Loss for Calibration", ICML 2023; authors' code ``DualFocalLoss``
    in ``dual_focal_loss.py`` of Linwei94/DualFocalLoss. Chosen over AdaFocal (Ghosh et al.,
    NeurIPS 2022) for this zoo: dual focal is a per-sample term of the logits alone, whereas
    AdaFocal updates γ per confidence bin from the validation set between epochs — state that a
    loss function here (and the stacked trainer, LightGBM's objective and the posterior analysis)
    cannot hold. Binary (N,) logits are the two-class case: p_j = 1 − p_t where p_t > 1/2, so
    the factor is (2 (1 − p_t))^γ there and (1 − p_t)^γ elsewhere. The loss jumps at p_t = 1/2,
    so the binary risk minimiser jumps over a gap of logits as η crosses 1/2 (−0.52 to 0.52 at
    γ = 2): a model logit in the gap is the minimiser for no posterior, and the multi-class p_j
    has no closed form either, so no posterior map is declared. Computed in log space; finite
    for logits in [-1e4, 1e4].

    Parameters
    ----------
    logits : Tensor, shape (N,) (binary, p = sigmoid) or (N, C) (multi-class, p = softmax)
    targets : Tensor, shape (N,), values in {0, 1} (binary) or [0, C) (multi-class)
    gamma : float >= 0, default 2.0
        γ = 0 is cross-entropy.
    reduction : {"none", "mean", "sum"}, default "mean"
        "mean" divides the sum by N.

    Examples
    --------
    >>> z, y = torch.tensor([2.0]), torch.tensor([1])
    >>> from loss_zoo import focal_loss
    >>> round(dual_focal_loss(z, y, gamma=1.0).item() / focal_loss(z, y, gamma=1.0).item(), 6)
    2.0
    """
    check_reduction(reduction)
    check_gamma(gamma)
    if logits.ndim == 1:
        check_binary_inputs(logits, targets)
        signed = torch.where(targets.bool(), logits, -logits)
        log_pt, log_1m_pt = F.logsigmoid(signed), F.logsigmoid(-signed)
        log_base = torch.where(signed > 0, log_1m_pt + math.log(2.0), log_1m_pt)
    else:
        check_multiclass_inputs(logits, targets)
        log_p = F.log_softmax(logits, dim=1)
        index = targets.long().unsqueeze(1)
        log_pt = log_p.gather(1, index).squeeze(1)
        log_1m_pt = torch.logsumexp(log_p.scatter(1, index, float("-inf")), dim=1)
        log_base = dual_log_base(log_p, log_pt, log_1m_pt)
    return reduce(-torch.exp(float(gamma) * log_base) * log_pt, reduction)


class DualFocalLoss(nn.Module):
    """Module form of :func:`dual_focal_loss`; stores γ."""

    def __init__(self, *, gamma: float = 2.0, reduction: str = "mean") -> None:
        super().__init__()
        check_reduction(reduction)
        check_gamma(gamma)
        self.gamma, self.reduction = float(gamma), reduction

    def forward(self, logits: torch.Tensor, targets: torch.Tensor) -> torch.Tensor:
        return dual_focal_loss(logits, targets, gamma=self.gamma, reduction=self.reduction)


DUAL_FOCAL = LossEntry(
    "dual_focal", dual_focal_loss, DualFocalLoss, "Tao et al., ICML 2023",
    params=lambda p, counts: {"gamma": p["dual_focal_gamma"]},
    space={"dual_focal_gamma": Range(0.0, 5.0, valid=(0.0, INF), default=2.0)},
    estimator={"gamma": "dual_focal_gamma"},
    binary_terms=lambda loss: BinaryTerms(g0=loss.gamma, g1=loss.gamma, dual=True),
    multiclass_terms=lambda loss: MulticlassTerms(g0=loss.gamma, g1=loss.gamma, dual=True),
)
