"""Focal loss (Lin et al., ICCV 2017), stable in log space for every γ >= 0."""

from __future__ import annotations

from collections.abc import Sequence

import torch
import torch.nn.functional as F
from torch import nn

from ._checks import (
    check_alpha_binary,
    check_binary_inputs,
    check_gamma,
    check_multiclass_inputs,
    check_reduction,
    class_weight_tensor,
    reduce,
)


def _log_pt_and_log_one_minus_pt(logits: torch.Tensor, targets: torch.Tensor):
    """Return (log p_t, log(1 - p_t)), both computed without forming 1 - p_t."""
    if logits.ndim == 1:
        signed = torch.where(targets.bool(), logits, -logits)
        return F.logsigmoid(signed), F.logsigmoid(-signed)
    log_p = F.log_softmax(logits, dim=1)
    index = targets.long().unsqueeze(1)
    log_pt = log_p.gather(1, index).squeeze(1)
    others = log_p.scatter(1, index, float("-inf"))
    return log_pt, torch.logsumexp(others, dim=1)


def focal_loss(
    logits: torch.Tensor,
    targets: torch.Tensor,
    *,
    gamma: float = 2.0,
    alpha: float | Sequence[float] | None = None,
    reduction: str = "mean",
) -> torch.Tensor:
    r"""Focal loss, :math:`\mathrm{FL} = -\alpha_t (1 - p_t)^{\gamma} \log p_t`.

    Lin, Goyal, Girshick, He, Dollár, "Focal Loss for Dense Object Detection", ICCV 2017.
    The modulating factor is computed as :math:`\exp(\gamma \log(1 - p_t))` with
    :math:`\log(1 - p_t)` in log space, so value and gradient stay finite for logits in
    [-1e4, 1e4] and for 0 < γ < 1, where :math:`(1 - p_t)^{\gamma}` has an infinite slope at p_t = 1.

    Parameters
    ----------
    logits : Tensor, shape (N,) (binary, p = sigmoid) or (N, C) (multi-class, p = softmax)
    targets : Tensor, shape (N,), values in {0, 1} (binary) or [0, C) (multi-class)
    gamma : float, default 2.0
        Focusing parameter, γ >= 0; γ = 0 is (weighted) cross-entropy.
    alpha : float in [0, 1], sequence of C floats >= 0, or None, default None
        Binary: α weights the positive class and 1 - α the negative (torchvision and
        kornia convention). Multi-class: one weight per class. None: no weighting.
    reduction : {"none", "mean", "sum"}, default "mean"
        "mean" divides the sum by N.

    Examples
    --------
    >>> logits, targets = torch.tensor([3.0, -1.0]), torch.tensor([1, 1])
    >>> bool(focal_loss(logits, targets, gamma=2.0) < focal_loss(logits, targets, gamma=0.0))
    True
    """
    check_reduction(reduction)
    check_gamma(gamma)
    if logits.ndim == 1:
        check_binary_inputs(logits, targets)
        check_alpha_binary(alpha)
    else:
        check_multiclass_inputs(logits, targets)
    log_pt, log_1m_pt = _log_pt_and_log_one_minus_pt(logits, targets)
    loss = -log_pt if gamma == 0 else -torch.exp(gamma * log_1m_pt) * log_pt
    if alpha is not None:
        if logits.ndim == 1:
            alpha_t = torch.where(targets.bool(), float(alpha), 1.0 - float(alpha)).to(loss.dtype)
        else:
            alpha_t = class_weight_tensor(alpha, logits.shape[1], logits, name="alpha")[targets.long()]
        loss = alpha_t * loss
    return reduce(loss, reduction)


class FocalLoss(nn.Module):
    """Module form of :func:`focal_loss`; stores γ, α and the reduction."""

    def __init__(
        self, *, gamma: float = 2.0, alpha: float | Sequence[float] | None = None, reduction: str = "mean"
    ) -> None:
        super().__init__()
        check_reduction(reduction)
        check_gamma(gamma)
        if alpha is not None and not isinstance(alpha, Sequence):
            check_alpha_binary(alpha)
        self.gamma = float(gamma)
        self.alpha = alpha
        self.reduction = reduction

    def forward(self, logits: torch.Tensor, targets: torch.Tensor) -> torch.Tensor:
        return focal_loss(logits, targets, gamma=self.gamma, alpha=self.alpha, reduction=self.reduction)
