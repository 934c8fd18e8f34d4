"""The Brier loss: the squared error of the predicted probabilities, a strictly proper loss."""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn

from ._checks import check_binary_inputs, check_multiclass_inputs, check_reduction, reduce
from .ce import _identity_posterior
from .entry import BinaryTerms, LossEntry, MulticlassTerms


def brier_loss(logits: torch.Tensor, targets: torch.Tensor, *, reduction: str = "mean") -> torch.Tensor:
    r"""Brier loss, :math:`\sum_k (p_k - [k = y])^2` (binary: :math:`(p - y)^2 = (1 - p_t)^2`).

    Brier, "Verification of forecasts expressed in terms of probability", Monthly Weather
    Review 1950. Strictly proper: its risk is minimised by the posterior itself, so the posterior
    correction is the identity. Binary, it is scikit-learn's ``brier_score_loss`` per sample;
    multi-class, the sum over the C classes (also scikit-learn's), twice the binary value for C = 2.
    Bounded (at most 2), so a confidently wrong sample weighs far less than under cross-entropy,
    and non-convex in the logit (the LightGBM objective floors its Hessian).

    Parameters
    ----------
    logits : Tensor, shape (N,) (binary, p = sigmoid) or (N, C) (multi-class, p = softmax)
    targets : Tensor, shape (N,), values in {0, 1} (binary) or [0, C) (multi-class)
    reduction : {"none", "mean", "sum"}, default "mean"
        "mean" divides the sum by N.

    Examples
    --------
    >>> brier_loss(torch.tensor([0.0]), torch.tensor([1])).item()
    0.25
    """
    check_reduction(reduction)
    if logits.ndim == 1:
        check_binary_inputs(logits, targets)
        signed = torch.where(targets.bool(), logits, -logits)
        return reduce(torch.sigmoid(-signed).square(), reduction)  # 1 - p_t = σ(-u)
    check_multiclass_inputs(logits, targets)
    p = F.log_softmax(logits, dim=1).exp()
    one_hot = torch.zeros_like(p).scatter(1, targets.long().unsqueeze(1), 1.0)
    return reduce((p - one_hot).square().sum(dim=1), reduction)


class BrierLoss(nn.Module):
    """Module form of :func:`brier_loss`."""

    def __init__(self, *, reduction: str = "mean") -> None:
        super().__init__()
        check_reduction(reduction)
        self.reduction = reduction

    def forward(self, logits: torch.Tensor, targets: torch.Tensor) -> torch.Tensor:
        return brier_loss(logits, targets, reduction=self.reduction)


BRIER = LossEntry(
    "brier", brier_loss, BrierLoss, "Brier, Monthly Weather Review 1950",
    binary_terms=lambda loss: BinaryTerms(w0=0.0, w1=0.0, brier=1.0),
    multiclass_terms=lambda loss: MulticlassTerms(nll=0.0, brier=1.0),
    posterior=_identity_posterior,
)
