"""Online hard example mining (OHEM): cross-entropy on the hardest part of each batch only."""

from __future__ import annotations

import math

import torch
from torch import nn

from ._checks import check_reduction
from .ce import ce_loss
from .entry import LossEntry, Range


def check_mining(keep: float, neg_pos_ratio: float | None) -> None:
    if not 0.0 < float(keep) <= 1.0:
        raise ValueError(f"keep: expected a share in (0, 1], got {keep!r}")
    if neg_pos_ratio is not None and not 0.0 < float(neg_pos_ratio) < math.inf:
        raise ValueError(f"neg_pos_ratio: expected None or a finite value > 0, got {neg_pos_ratio!r}")


def _kept(per_sample: torch.Tensor, targets: torch.Tensor, keep: float, neg_pos_ratio: float | None) -> torch.Tensor:
    """Boolean mask of the samples kept: the hardest ⌈keep · N⌉ (highest loss) among those left
    once negatives are capped at the hardest ⌈ratio · max(positives, 1)⌉; no gradient."""
    hardness = per_sample.detach().clone()
    if neg_pos_ratio is not None:
        negative = targets == 0
        cap = math.ceil(neg_pos_ratio * max(int((~negative).sum()), 1))
        if int(negative.sum()) > cap:
            drop = hardness.masked_fill(~negative, math.inf).topk(int(negative.sum()) - cap, largest=False).indices
            hardness[drop] = -math.inf
    eligible = int(torch.isfinite(hardness).sum())
    mask = torch.zeros_like(per_sample, dtype=torch.bool)
    mask[hardness.topk(min(math.ceil(keep * len(per_sample)), eligible)).indices] = True
    return mask


def ohem_loss(
    logits: torch.Tensor,
    targets: torch.Tensor,
    *,
    keep: float = 0.25,
    neg_pos_ratio: float | None = None,
    reduction: str = "mean",
) -> torch.Tensor:
    r"""Online hard example mining: the mean cross-entropy of the hardest samples of the batch,
    :math:`\frac{1}{|S|}\sum_{i \in S} -\log p_{t,i}`, S the ⌈keep · N⌉ samples of highest loss.

    Shrivastava, Gupta, Girshick, "Training Region-based Object Detectors with Online Hard
    Example Mining", CVPR 2016 (top-k of a batch by loss); the negative : positive cap is SSD's
    hard negative mining (Liu et al., ECCV 2016, 3 : 1): with ``neg_pos_ratio`` r (binary), only
    the hardest ⌈r · max(n_pos, 1)⌉ negatives of the batch may be kept. A batch-level loss: which
    samples count depends on the rest of the batch, so it has no per-sample form (it trains one
    model at a time and LightGBM refuses it) and no posterior map. The selection carries no
    gradient. ``reduction="none"`` gives ℓ_i · N / |S| on kept samples and 0 elsewhere, so that
    "mean" (the sum over N) is the mean over the kept ones.

    Parameters
    ----------
    logits : Tensor, shape (N,) (binary, p = sigmoid) or (N, C) (multi-class, p = softmax)
    targets : Tensor, shape (N,), values in {0, 1} (binary) or [0, C) (multi-class)
    keep : float in (0, 1], default 0.25
        The share of the batch kept; 1 without a cap is cross-entropy.
    neg_pos_ratio : float > 0 or None, default None
        Binary only: at most this many negatives per positive of the batch.
    reduction : {"none", "mean", "sum"}, default "mean"

    Examples
    --------
    >>> z, y = torch.tensor([3.0, -3.0, 0.0, 0.5]), torch.tensor([1, 0, 1, 0])
    >>> bool(ohem_loss(z, y, keep=0.5) > ce_loss(z, y))
    True
    """
    check_reduction(reduction)
    check_mining(keep, neg_pos_ratio)
    if neg_pos_ratio is not None and logits.ndim != 1:
        raise ValueError("neg_pos_ratio: expected None for multi-class logits (it caps binary negatives)")
    per_sample = ce_loss(logits, targets, reduction="none")
    if per_sample.numel() == 0:
        return per_sample if reduction == "none" else per_sample.sum()
    mask = _kept(per_sample, targets, float(keep), neg_pos_ratio)
    kept = torch.where(mask, per_sample, 0.0)
    if reduction == "none":
        return kept * (len(per_sample) / int(mask.sum()))
    return kept.sum() / int(mask.sum()) if reduction == "mean" else kept.sum() * (len(per_sample) / int(mask.sum()))


def ohem_terms(
    logits: torch.Tensor,
    targets: torch.Tensor,
    *,
    keep: float = 0.25,
    neg_pos_ratio: float | None = None,
    groups: torch.Tensor | None = None,
) -> torch.Tensor:
    r"""OHEM's per-sample terms: cross-entropy on the mined samples, 0 elsewhere, mining done
    within each group (e.g. each image of a dense batch, as Shrivastava et al. mine per image and
    SSD caps negatives at r per positive of the image); their sum is the mined total
    :math:`\sum_{i \in S} -\log p_{t,i}` (unnormalised: the caller divides, e.g. by positives).

    Parameters
    ----------
    logits : Tensor, shape (N,) (binary) or (N, C)
    targets : Tensor, shape (N,)
    keep, neg_pos_ratio : as in :func:`ohem_loss`, applied per group
    groups : Tensor of int, shape (N,), optional
        The group of each sample; None: one group (the whole batch, as :func:`ohem_loss`).

    Examples
    --------
    >>> z, y = torch.tensor([3.0, -3.0, 0.0, 0.5]), torch.tensor([1, 0, 1, 0])
    >>> int((ohem_terms(z, y, keep=0.5, groups=torch.tensor([0, 0, 1, 1])) > 0).sum())
    2
    """
    check_mining(keep, neg_pos_ratio)
    per_sample = ce_loss(logits, targets, reduction="none")
    if groups is None:
        groups = torch.zeros(len(per_sample), dtype=torch.long, device=per_sample.device)
    mask = torch.zeros_like(per_sample, dtype=torch.bool)
    for g in torch.unique(groups):
        at = torch.nonzero(groups == g).squeeze(1)
        mask[at] = _kept(per_sample[at], targets[at], float(keep), neg_pos_ratio)
    return torch.where(mask, per_sample, 0.0)


class OHEMLoss(nn.Module):
    """Module form of :func:`ohem_loss`."""

    def __init__(self, *, keep: float = 0.25, neg_pos_ratio: float | None = None, reduction: str = "mean") -> None:
        super().__init__()
        check_reduction(reduction)
        check_mining(keep, neg_pos_ratio)
        self.keep, self.reduction = float(keep), reduction
        self.neg_pos_ratio = None if neg_pos_ratio is None else float(neg_pos_ratio)

    def forward(self, logits: torch.Tensor, targets: torch.Tensor) -> torch.Tensor:
        return ohem_loss(logits, targets, keep=self.keep, neg_pos_ratio=self.neg_pos_ratio, reduction=self.reduction)

    def grouped_terms(self, logits: torch.Tensor, targets: torch.Tensor, groups: torch.Tensor) -> torch.Tensor:
        """Per-sample terms with mining per group (:func:`ohem_terms`): what a dense learner sums
        and normalises itself, whatever ``reduction`` says."""
        return ohem_terms(logits, targets, keep=self.keep, neg_pos_ratio=self.neg_pos_ratio, groups=groups)


OHEM = LossEntry(
    "ohem", ohem_loss, OHEMLoss, "Shrivastava et al., CVPR 2016; negative cap: Liu et al. (SSD), ECCV 2016",
    params=lambda p, counts: {"keep": p["ohem_keep"], "neg_pos_ratio": p["ohem_neg_pos_ratio"]},
    space={"ohem_keep": Range(0.1, 1.0, valid=(0.01, 1.0), default=0.25),
           "ohem_neg_pos_ratio": Range(1.0, 10.0, valid=(0.1, 1000.0), optional=True, binary_only=True)},
)
