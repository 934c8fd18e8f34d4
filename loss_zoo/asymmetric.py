"""Asymmetric loss (ASL, Ridnik et al. 2021): focusing and a probability margin on negatives only."""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn

from ._checks import check_binary_inputs, check_gamma, check_reduction, reduce
from .entry import INF, LossEntry, Range


def check_clip(clip: float) -> None:
    if not 0.0 <= float(clip) < 1.0:
        raise ValueError(f"clip: expected a value in [0, 1), got {clip!r}")


def _negative_terms(logits: torch.Tensor, clip: float) -> tuple[torch.Tensor, torch.Tensor]:
    """(log p_m, log(1 - p_m)) of the shifted probability p_m = max(p - m, 0), in log space;
    log p_m = -inf where p <= m (written so that no gradient there is 0 * inf)."""
    if clip == 0:
        return F.logsigmoid(logits), F.logsigmoid(-logits)
    log_1m_pm = torch.log(torch.sigmoid(-logits) + clip).clamp(max=0.0)  # log min(1 - p + m, 1), 1 - p + m >= m
    p = torch.sigmoid(logits)
    above = p > clip
    log_pm = torch.where(above, torch.log(torch.where(above, p - clip, 1.0)), float("-inf"))
    return log_pm, log_1m_pm


def asl_loss(
    logits: torch.Tensor,
    targets: torch.Tensor,
    *,
    gamma_neg: float = 4.0,
    gamma_pos: float = 0.0,
    clip: float = 0.05,
    reduction: str = "mean",
) -> torch.Tensor:
    r"""Asymmetric loss, binary (one sigmoid per logit: the per-label form of multi-label ASL).

    .. math:: \ell = -y (1 - p)^{\gamma_+} \log p - (1 - y)\, p_m^{\gamma_-} \log(1 - p_m),
              \qquad p_m = \max(p - m, 0)

    Ridnik, Ben-Baruch, Zamir, Noy, Friedman, Protter, Zelnik-Manor, "Asymmetric Loss for
    Multi-Label Classification", ICCV 2021; authors' code ``AsymmetricLoss`` in
    ``src/loss_functions/losses.py`` of Alibaba-MIIL/ASL (recommended γ− = 4, γ+ = 0, m = 0.05).
    Negatives are down-weighted by p_m^γ− and those with p <= m dropped altogether (the
    probability margin m, the authors' ``clip``). Differences from the authors' code: computed in
    log space (theirs clamps probabilities at 1e-8 before the log), and the focusing weight is
    part of the loss, so its gradient flows (their ``disable_torch_grad_focal_loss=False``; the
    training script sets True, which changes the gradient, not the value). Binary only: the zoo's
    (N, C) form is single-label softmax.

    Parameters
    ----------
    logits : Tensor, shape (N,), p = sigmoid
    targets : Tensor, shape (N,), values in {0, 1}
    gamma_neg, gamma_pos : float >= 0, defaults 4.0 and 0.0
        Focusing of negatives and positives; both 0 and m = 0 is cross-entropy.
    clip : float in [0, 1), default 0.05
        The probability margin m of negatives.
    reduction : {"none", "mean", "sum"}, default "mean"
        "mean" divides the sum by N.

    Examples
    --------
    >>> z, y = torch.tensor([-4.0, 2.0]), torch.tensor([0, 1])
    >>> bool(asl_loss(z, y) < asl_loss(z, y, gamma_neg=0.0, clip=0.0))
    True
    """
    check_reduction(reduction)
    check_gamma(gamma_neg, "gamma_neg")
    check_gamma(gamma_pos, "gamma_pos")
    check_clip(clip)
    check_binary_inputs(logits, targets)
    positive = -F.logsigmoid(logits)
    if gamma_pos > 0:
        positive = torch.exp(gamma_pos * F.logsigmoid(-logits)) * positive
    log_pm, log_1m_pm = _negative_terms(logits, float(clip))
    negative = -log_1m_pm if gamma_neg == 0 else -torch.exp(gamma_neg * log_pm) * log_1m_pm
    return reduce(torch.where(targets.bool(), positive, negative), reduction)


class AsymmetricLoss(nn.Module):
    """Module form of :func:`asl_loss`; stores γ−, γ+ and the margin."""

    def __init__(self, *, gamma_neg: float = 4.0, gamma_pos: float = 0.0, clip: float = 0.05,
                 reduction: str = "mean") -> None:
        super().__init__()
        check_reduction(reduction)
        check_gamma(gamma_neg, "gamma_neg")
        check_gamma(gamma_pos, "gamma_pos")
        check_clip(clip)
        self.gamma_neg, self.gamma_pos, self.clip = float(gamma_neg), float(gamma_pos), float(clip)
        self.reduction = reduction

    def forward(self, logits: torch.Tensor, targets: torch.Tensor) -> torch.Tensor:
        return asl_loss(logits, targets, gamma_neg=self.gamma_neg, gamma_pos=self.gamma_pos, clip=self.clip,
                        reduction=self.reduction)


ASL = LossEntry(
    "asl", asl_loss, AsymmetricLoss, "Ridnik et al., ICCV 2021",
    params=lambda p, counts: {"gamma_neg": p["asl_gamma_neg"], "clip": p["asl_clip"]},
    space={"asl_gamma_neg": Range(0.0, 5.0, valid=(0.0, INF), default=4.0),
           "asl_clip": Range(0.0, 0.2, valid=(0.0, 0.9), default=0.05)},
    multiclass=False,
    # each sample's term is its own: boosting differentiates it by autograd (as Luo et al. 2025 boost ASL
    # in their gbdtcbl package)
    per_sample=lambda logits, targets, **params: asl_loss(logits, targets, reduction="none", **params),
)
