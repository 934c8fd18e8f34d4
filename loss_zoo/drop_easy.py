"""Cross-entropy without the easy negatives: the intervention on the mechanism focal loss is said
to work by (Lin et al. 2017, § 3): if easy negatives swamp CE's gradient, zeroing their loss
should recover focal's gain."""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn

from ._checks import check_binary_inputs, check_reduction, reduce
from .entry import LossEntry


def check_threshold(threshold: float) -> None:
    if not 0.0 < float(threshold) < 1.0:
        raise ValueError(f"threshold: expected a probability in (0, 1), got {threshold!r}")


def ce_drop_easy_loss(
    logits: torch.Tensor, targets: torch.Tensor, *, threshold: float = 0.9, reduction: str = "mean"
) -> torch.Tensor:
    r"""Binary cross-entropy with the loss of easy negatives set to zero:

    .. math:: \ell_i = -[\,y_i = 1 \ \lor\ p_{t,i} \le \tau\,] \log p_{t,i},

    p_t = σ(z) for a positive and 1 − σ(z) for a negative, τ = ``threshold``. Which negatives are
    easy is decided from the current p_t without gradient; positives always count. The arm of
    issue 27's intervention: Lin, Goyal, Girshick, He, Dollár, "Focal Loss for Dense Object
    Detection", ICCV 2017, argue that easy negatives (p_t > 0.5, most at p_t ≫ 0.5) dominate
    CE's gradient; this loss removes exactly those above τ and changes nothing else, so its gain
    over CE is what that mechanism alone explains. A hard cut has no per-sample form in the
    stacked trainer's terms (it trains one model at a time) and no closed-form posterior map.

    Parameters
    ----------
    logits : Tensor, shape (N,)
    targets : Tensor, shape (N,), values in {0, 1}
    threshold : float in (0, 1), default 0.9
        τ: negatives with p_t > τ contribute nothing.
    reduction : {"none", "mean", "sum"}, default "mean"
        "mean" divides the sum by N (dropped samples included).

    Examples
    --------
    >>> z, y = torch.tensor([-4.0, 4.0, 0.0]), torch.tensor([0, 0, 1])
    >>> ce_drop_easy_loss(z, y, reduction="none")[0].item()   # p_t = 0.982 > 0.9: dropped
    0.0
    """
    check_reduction(reduction)
    check_threshold(threshold)
    check_binary_inputs(logits, targets)
    signed = torch.where(targets.bool(), logits, -logits)
    nll = -F.logsigmoid(signed)
    with torch.no_grad():
        easy = (~targets.bool()) & (torch.sigmoid(signed) > float(threshold))
    return reduce(torch.where(easy, 0.0, nll), reduction)


class CEDropEasyLoss(nn.Module):
    """Module form of :func:`ce_drop_easy_loss`; stores τ."""

    def __init__(self, *, threshold: float = 0.9, reduction: str = "mean") -> None:
        super().__init__()
        check_reduction(reduction)
        check_threshold(threshold)
        self.threshold, self.reduction = float(threshold), reduction

    def forward(self, logits: torch.Tensor, targets: torch.Tensor) -> torch.Tensor:
        return ce_drop_easy_loss(logits, targets, threshold=self.threshold, reduction=self.reduction)


CE_DROP_EASY = LossEntry(
    "ce_drop_easy", ce_drop_easy_loss, CEDropEasyLoss, "Intervention on Lin et al., ICCV 2017, § 3 (issue 27)",
    multiclass=False,  # τ stays the 0.9: the arm is one fixed intervention, not a tuned loss
)
