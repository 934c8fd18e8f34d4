"""LDAM with deferred re-weighting (Cao et al. 2019): per-class margins that grow as a class
shrinks, on a cosine-normalised score scaled by s, and class-balanced weights switched on late."""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn

from ._checks import check_binary_inputs, check_multiclass_inputs, check_reduction, class_weight_tensor, reduce
from .entry import INF, LossEntry, Range
from .weights import class_weights

#: the authors' scale s of the normalised score (``LDAMLoss(s=30)`` in cifar_train.py)
SCALE = 30.0
#: the authors' β of the effective number for the deferred weights (``betas = [0, 0.9999]``)
DRW_BETA = 0.9999


def ldam_margins(counts: Sequence[int], max_margin: float) -> list[float]:
    r"""Per-class margins :math:`\Delta_j = K / n_j^{1/4}`, K such that the largest is ``max_margin``.

    Cao et al. 2019, eq. (12); authors' ``LDAMLoss.__init__`` (kaidic/LDAM-DRW, losses.py):
    ``m_list = 1 / sqrt(sqrt(n)); m_list *= max_m / max(m_list)``.

    Parameters
    ----------
    counts : sequence of int, each >= 1
        Training samples per class.
    max_margin : float > 0
        The margin of the smallest class (the authors' ``max_m``, 0.5).
    """
    n = np.asarray(counts, dtype=np.float64)
    if n.ndim != 1 or n.size < 2 or not np.all(n >= 1):
        raise ValueError(f"counts: expected >= 2 class counts, each >= 1, got {list(counts)}")
    if not 0.0 <= float(max_margin) < INF:
        raise ValueError(f"max_margin: expected a finite real >= 0, got {max_margin!r}")
    m = n ** -0.25
    return [float(v) for v in m * (max_margin / m.max())]


def drw_weights(counts: Sequence[int], beta: float = DRW_BETA) -> list[float]:
    r"""The deferred weights: class-balanced by the effective number of samples,
    :math:`w_j \propto (1 - \beta) / (1 - \beta^{n_j})` (Cui et al., CVPR 2019), scaled so the mean
    weight per training sample is 1 (:func:`loss_zoo.class_weights`). The authors normalise to
    :math:`\sum_j w_j = C` and take torch's weighted mean (divided by the batch's weight sum);
    the zoo's mean divides by N, and this scale makes that the same loss on average over an epoch.
    """
    return class_weights(counts, scheme="effective_number", beta=beta)


def _check(margins, scale: float, drw_epoch: int, logits: torch.Tensor) -> torch.Tensor:
    if not 0.0 < float(scale) < INF:
        raise ValueError(f"scale: expected a finite real > 0, got {scale!r}")
    if int(drw_epoch) != drw_epoch or drw_epoch < 0:
        raise ValueError(f"drw_epoch: expected an integer >= 0, got {drw_epoch!r}")
    n_classes = 2 if logits.ndim == 1 else logits.shape[1]
    m = class_weight_tensor(margins, n_classes, logits, name="margins")
    if m is None:
        raise ValueError("margins: expected one margin per class, got None")
    return m


def _margin_ce(logits: torch.Tensor, targets: torch.Tensor, margins: torch.Tensor) -> torch.Tensor:
    """Per-sample CE with the true class's logit lowered by its ``margins`` entry (per class);
    binary: the logits (0, z)."""
    if logits.ndim == 1:
        check_binary_inputs(logits, targets)
        return F.softplus(margins[targets.long()] - torch.where(targets.bool(), logits, -logits))
    check_multiclass_inputs(logits, targets)
    index = targets.long().unsqueeze(1)
    shifted = logits - torch.zeros_like(logits).scatter(1, index, margins[targets.long()].unsqueeze(1))
    return -F.log_softmax(shifted, dim=1).gather(1, index).squeeze(1)


def ldam_loss(
    logits: torch.Tensor,
    targets: torch.Tensor,
    *,
    margins: Sequence[float],
    scale: float = SCALE,
    weight: Sequence[float] | None = None,
    drw_epoch: int = 0,
    epoch: int | None = None,
    reduction: str = "mean",
) -> torch.Tensor:
    r"""LDAM loss, :math:`-w_y \log \frac{e^{z_y - s\Delta_y}}{e^{z_y - s\Delta_y} + \sum_{k \ne y} e^{z_k}}`,
    with deferred re-weighting: :math:`w_y = 1` before epoch ``drw_epoch``, the class weights after.

    Cao, Wei, Gaidon, Arechiga, Ma, "Learning Imbalanced Datasets with Label-Distribution-Aware
    Margin Loss", NeurIPS 2019; authors' code kaidic/LDAM-DRW (``LDAMLoss`` in losses.py, the
    ``DRW`` rule in cifar_train.py). The logits z are the model's outputs including the scale:
    z = s · cos(h, w_k) from a cosine-normalised last layer (``NormedLinear`` in the authors'
    models/resnet_cifar.py; here :class:`harness.learners.models.CosineLinear`, which the learners
    build for this loss). The authors' ``LDAMLoss(x)`` on cosines x is this loss at z = s x:
    :math:`\mathrm{CE}(s (x - \Delta_y e_y))`. With all margins 0 (or s Δ → 0) and no weights it is
    cross-entropy. Binary (N,) logits are the two-class case with logits (0, z):
    :math:`w_y\,\mathrm{softplus}(s\Delta_y - u)`, u = ±z (+ for y = 1).

    The margin enforces a larger gap between the true class and the others for rare classes; a
    margin shifts the loss's minimiser, so no posterior map is declared. The weights depend on
    the training epoch (a schedule: no per-sample form for the stacked trainer or LightGBM).

    Parameters
    ----------
    logits : Tensor, shape (N,) (binary) or (N, C) (multi-class), the scaled scores s · cos
    targets : Tensor, shape (N,), values in {0, 1} (binary) or [0, C) (multi-class)
    margins : sequence of float >= 0, length 2 (binary) or C
        Δ_j in units of the normalised score, e.g. :func:`ldam_margins`.
    scale : float > 0, default 30.0
        s: the margins enter the logits as s Δ_j.
    weight : sequence of float >= 0, length 2 or C, optional
        The deferred class weights (:func:`drw_weights`); None: no re-weighting.
    drw_epoch : int >= 0, default 0
        The first epoch trained with ``weight``.
    epoch : int or None, default None
        The current training epoch; None: after the switch (``weight`` applies).
    reduction : {"none", "mean", "sum"}, default "mean"
        "mean" divides the (weighted) sum by N.

    Examples
    --------
    >>> z, y = torch.tensor([[2.0, 0.5, -1.0]]), torch.tensor([2])
    >>> bool(ldam_loss(z, y, margins=[0.1, 0.2, 0.5]) > F.cross_entropy(z, y))
    True
    """
    check_reduction(reduction)
    loss = _margin_ce(logits, targets, float(scale) * _check(margins, scale, drw_epoch, logits))
    if weight is not None and (epoch is None or epoch >= drw_epoch):
        loss = class_weight_tensor(weight, 2 if logits.ndim == 1 else logits.shape[1], logits)[targets.long()] * loss
    return reduce(loss, reduction)


class LDAMLoss(nn.Module):
    """Module form of :func:`ldam_loss`, and the schedule's state: the trainer calls
    :meth:`start_epoch` before each epoch, and arms early stopping from :attr:`stopping_from`
    (the switch: an epoch before it trained another loss, so it may be neither kept nor the one
    patience counts from). Not driven by a trainer (``epoch`` None), the weights apply."""

    def __init__(self, *, margins: Sequence[float], scale: float = SCALE, weight: Sequence[float] | None = None,
                 drw_epoch: int = 0, reduction: str = "mean") -> None:
        super().__init__()
        check_reduction(reduction)
        self.margins, self.scale = [float(v) for v in margins], float(scale)
        self.weight = None if weight is None else [float(w) for w in weight]
        self.drw_epoch, self.reduction, self.epoch = int(drw_epoch), reduction, None
        probe = torch.zeros(1) if len(self.margins) == 2 else torch.zeros(1, len(self.margins))
        _check(self.margins, self.scale, drw_epoch, probe)

    def start_epoch(self, epoch: int) -> None:
        """The training epoch about to run (from 0): the weights apply from ``drw_epoch`` on."""
        self.epoch = int(epoch)

    @property
    def stopping_from(self) -> int:
        """The first epoch early stopping may keep: the switch (0 without deferred weights)."""
        return self.drw_epoch if self.weight is not None else 0

    def forward(self, logits: torch.Tensor, targets: torch.Tensor) -> torch.Tensor:
        return ldam_loss(logits, targets, margins=self.margins, scale=self.scale, weight=self.weight,
                         drw_epoch=self.drw_epoch, epoch=self.epoch, reduction=self.reduction)


def _params(p, counts: list[int]) -> dict:
    return {"margins": ldam_margins(counts, p["ldam_max_margin"]), "scale": SCALE,
            "weight": drw_weights(counts), "drw_epoch": int(p["ldam_drw_epoch"])}


LDAM = LossEntry(
    "ldam", ldam_loss, LDAMLoss, "Cao et al., NeurIPS 2019 (LDAM-DRW)",
    params=_params,
    space={"ldam_max_margin": Range(0.1, 1.0, valid=(0.0, INF), default=0.5),
           # the switch epoch, drawn as a float and rounded down; the authors switch at 160 of 200
           "ldam_drw_epoch": Range(0.0, 30.0, valid=(0.0, INF), default=10.0)},
    head=lambda loss: loss.scale,
    no_terms="LDAM-DRW's margins are on a cosine-normalised score scaled by s and its re-weighting is an "
             "epoch schedule; a boosted raw score has neither",
)
