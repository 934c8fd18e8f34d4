"""MMCE (Kumar et al. 2018): cross-entropy plus a kernel measure of the batch's miscalibration."""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn

from ._checks import check_binary_inputs, check_multiclass_inputs, check_reduction, reduce
from .entry import INF, LossEntry, Range

#: the Laplacian kernel's width, exp(-|r - r'| / 0.4), as in the authors' code
KERNEL_WIDTH = 0.4


def check_lam(lam: float) -> None:
    if not float(lam) >= 0.0 or lam == INF:
        raise ValueError(f"lam: expected a finite real >= 0, got {lam!r}")


def _log_probabilities(logits: torch.Tensor, targets: torch.Tensor) -> torch.Tensor:
    """(N, C) log-probabilities: log softmax, or (log(1 - p), log p) for binary (N,) logits."""
    if logits.ndim == 1:
        check_binary_inputs(logits, targets)
        return torch.stack([F.logsigmoid(-logits), F.logsigmoid(logits)], dim=1)
    check_multiclass_inputs(logits, targets)
    return F.log_softmax(logits, dim=1)


def _mean_kernel(r1: torch.Tensor, w1: torch.Tensor, r2: torch.Tensor, w2: torch.Tensor) -> torch.Tensor:
    """mean over pairs (i, j) of w1_i w2_j exp(-|r1_i - r2_j| / width)."""
    kernel = torch.exp(-(r1[:, None] - r2[None, :]).abs() / KERNEL_WIDTH)
    return (w1[:, None] * w2[None, :] * kernel).mean()


def mmce_w(log_p: torch.Tensor, targets: torch.Tensor) -> torch.Tensor:
    """The weighted MMCE of a batch, as the authors' ``calibration_mmce_w_loss`` computes it: 0
    when the batch has no correct or no incorrect prediction."""
    confidence, predicted = log_p.exp().max(dim=1)  # the first maximum, as tf.argmax
    correct = predicted == targets.long()
    m, n = int(correct.sum()), int((~correct).sum())
    if m == 0 or n == 0:
        return (0.0 * confidence).sum()
    rc, ri = confidence[correct], confidence[~correct]
    squared = (_mean_kernel(rc, 1 - rc, rc, 1 - rc) / (m * m + 1e-5) + _mean_kernel(ri, ri, ri, ri) / (n * n + 1e-5)
               - 2.0 * _mean_kernel(rc, 1 - rc, ri, ri) / (m * n + 1e-5))
    return torch.sqrt(squared + 1e-10)


def mmce_loss(logits: torch.Tensor, targets: torch.Tensor, *, lam: float = 8.0, reduction: str = "mean") -> torch.Tensor:
    r"""Cross-entropy regularised by the batch's weighted MMCE, :math:`\mathrm{CE} + \lambda\,\mathrm{MMCE}_w`.

    Kumar, Sarawagi, Jain, "Trainable Calibration Measures for Neural Networks from Kernel Mean
    Embeddings", ICML 2018; authors' code ``calibration_mmce_w_loss`` and ``add_loss`` in
    ``20ng_mmce.py`` of aviralkumar2907/MMCE (λ = 8 in its README, 1 to 13 in ``run_mmce.sh``).
    With r_i the confidence (the largest probability) and the batch split into m correct and
    n incorrect predictions, MMCE_w is the RKHS norm, under the Laplacian kernel
    exp(−|r − r'| / 0.4), of Σ_correct (1 − r_i) φ(r_i) / m² − Σ_incorrect r_j φ(r_j) / n² (the
    authors' code averages each kernel sum over its pairs and then divides by m², n² or m n
    again), and 0 for a batch without a correct or an incorrect prediction. Binary (N,) logits
    are the two-class case (r = max(p, 1 − p), predicted positive where z > 0). A batch-level
    term: it trains one model at a time, LightGBM refuses it, and it has no posterior map.
    ``reduction="none"`` adds λ MMCE_w to every sample's cross-entropy, so "mean" is the loss.

    Parameters
    ----------
    logits : Tensor, shape (N,) (binary, p = sigmoid) or (N, C) (multi-class, p = softmax)
    targets : Tensor, shape (N,), values in {0, 1} (binary) or [0, C) (multi-class)
    lam : float >= 0, default 8.0
        The regulariser's weight λ; 0 is cross-entropy.
    reduction : {"none", "mean", "sum"}, default "mean"

    Examples
    --------
    >>> z, y = torch.tensor([4.0, 3.0, -2.0, 0.5]), torch.tensor([1, 0, 0, 1])
    >>> bool(mmce_loss(z, y, lam=8.0) > mmce_loss(z, y, lam=0.0))
    True
    """
    check_reduction(reduction)
    check_lam(lam)
    log_p = _log_probabilities(logits, targets)
    per_sample = -log_p.gather(1, targets.long().unsqueeze(1)).squeeze(1)
    if lam == 0 or per_sample.numel() == 0:
        return reduce(per_sample, reduction)
    return reduce(per_sample + float(lam) * mmce_w(log_p, targets), reduction)


class MMCELoss(nn.Module):
    """Module form of :func:`mmce_loss`; stores λ."""

    def __init__(self, *, lam: float = 8.0, reduction: str = "mean") -> None:
        super().__init__()
        check_reduction(reduction)
        check_lam(lam)
        self.lam, self.reduction = float(lam), reduction

    def forward(self, logits: torch.Tensor, targets: torch.Tensor) -> torch.Tensor:
        return mmce_loss(logits, targets, lam=self.lam, reduction=self.reduction)


MMCE = LossEntry(
    "mmce", mmce_loss, MMCELoss, "Kumar et al., ICML 2018",
    params=lambda p, counts: {"lam": p["mmce_lambda"]},
    space={"mmce_lambda": Range(1.0, 13.0, valid=(0.0, INF), default=8.0)},
)
