"""Poly-1 (Leng et al. 2022): cross-entropy with its leading polynomial coefficient moved by ε."""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn

from ._checks import check_binary_inputs, check_multiclass_inputs, check_reduction, reduce
from .corrections import poly1_posterior_logits
from .entry import INF, BinaryTerms, LossEntry, MulticlassTerms, Range


def check_poly_epsilon(epsilon: float) -> None:
    if not float(epsilon) >= -1.0 or epsilon == INF:
        raise ValueError(f"epsilon: expected a finite real >= -1, got {epsilon!r}")


def poly1_loss(
    logits: torch.Tensor, targets: torch.Tensor, *, epsilon: float = 1.0, reduction: str = "mean"
) -> torch.Tensor:
    r"""Poly-1 loss, :math:`-\log p_t + \varepsilon (1 - p_t)`.

    Leng, Tan, Liu, Cubuk, Shi, Cheng, Anguelov, "PolyLoss: A Polynomial Expansion Perspective
    of Classification Loss Functions", ICLR 2022, Eq. (3) and the paper's listing
    ``poly1_cross_entropy`` (``CE + epsilon * (1 - pt)``, "epsilon >= -1"; no separate code
    release). Cross-entropy is :math:`\sum_j (1 - p_t)^j / j`; Poly-1 moves the first
    coefficient to 1 + ε (ε = -1 drops that term). Its risk is convex in the probabilities, so
    it has a closed-form posterior map (:func:`loss_zoo.poly1_posterior_logits`).

    Parameters
    ----------
    logits : Tensor, shape (N,) (binary, p = sigmoid) or (N, C) (multi-class, p = softmax)
    targets : Tensor, shape (N,), values in {0, 1} (binary) or [0, C) (multi-class)
    epsilon : float >= -1, default 1.0
        The change of the leading coefficient; 0 is cross-entropy.
    reduction : {"none", "mean", "sum"}, default "mean"
        "mean" divides the sum by N.

    Examples
    --------
    >>> z, y = torch.tensor([0.0]), torch.tensor([1])
    >>> round(poly1_loss(z, y, epsilon=2.0).item() - poly1_loss(z, y, epsilon=0.0).item(), 6)
    1.0
    """
    check_reduction(reduction)
    check_poly_epsilon(epsilon)
    if logits.ndim == 1:
        check_binary_inputs(logits, targets)
        signed = torch.where(targets.bool(), logits, -logits)
        return reduce(-F.logsigmoid(signed) + float(epsilon) * torch.sigmoid(-signed), reduction)
    check_multiclass_inputs(logits, targets)
    log_pt = F.log_softmax(logits, dim=1).gather(1, targets.long().unsqueeze(1)).squeeze(1)
    return reduce(-log_pt + float(epsilon) * (1.0 - log_pt.exp()), reduction)


class Poly1Loss(nn.Module):
    """Module form of :func:`poly1_loss`; stores ε."""

    def __init__(self, *, epsilon: float = 1.0, reduction: str = "mean") -> None:
        super().__init__()
        check_reduction(reduction)
        check_poly_epsilon(epsilon)
        self.epsilon, self.reduction = float(epsilon), reduction

    def forward(self, logits: torch.Tensor, targets: torch.Tensor) -> torch.Tensor:
        return poly1_loss(logits, targets, epsilon=self.epsilon, reduction=self.reduction)


POLY1 = LossEntry(
    "poly1", poly1_loss, Poly1Loss, "Leng et al., ICLR 2022",
    params=lambda p, counts: {"epsilon": p["poly1_epsilon"]},
    space={"poly1_epsilon": Range(-1.0, 3.0, valid=(-1.0, INF), default=1.0)},
    binary_terms=lambda loss: BinaryTerms(poly=loss.epsilon),
    multiclass_terms=lambda loss: MulticlassTerms(poly=loss.epsilon),
    posterior=poly1_posterior_logits,
)
