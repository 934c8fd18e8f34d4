"""Label smoothing: cross-entropy against the one-hot target mixed with the uniform distribution."""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn

from ._checks import check_binary_inputs, check_multiclass_inputs, check_reduction, reduce
from .corrections import label_smoothing_posterior_logits
from .entry import BinaryTerms, LossEntry, MulticlassTerms, Range


def check_smoothing(epsilon: float) -> None:
    if not 0.0 <= float(epsilon) < 1.0:
        raise ValueError(f"epsilon: expected a value in [0, 1), got {epsilon!r}")


def label_smoothing_loss(
    logits: torch.Tensor, targets: torch.Tensor, *, epsilon: float = 0.05, reduction: str = "mean"
) -> torch.Tensor:
    r"""Cross-entropy with smoothed targets,
    :math:`-(1 - \varepsilon) \log p_y - \frac{\varepsilon}{C} \sum_k \log p_k`.

    Szegedy, Vanhoucke, Ioffe, Shlens, Wojna, "Rethinking the Inception Architecture for Computer
    Vision", CVPR 2016; compared for calibration by Müller, Kornblith, Hinton ("When does label
    smoothing help?", NeurIPS 2019) and Mukhoti et al. (NeurIPS 2020, ε = 0.05). Multi-class, it is
    ``torch.nn.functional.cross_entropy(label_smoothing=ε)``. Binary, it is the two-class form:
    BCE against targets ε/2 and 1 − ε/2, i.e. :math:`-\log p_t + \frac{\varepsilon}{2} u` with u the
    logit signed by the target (p_t = σ(u)), computed so in log space. The risk is minimised by
    the smoothed posterior (1 − ε) η + ε/C, which :func:`loss_zoo.label_smoothing_posterior_logits`
    inverts.

    Parameters
    ----------
    logits : Tensor, shape (N,) (binary, p = sigmoid) or (N, C) (multi-class, p = softmax)
    targets : Tensor, shape (N,), values in {0, 1} (binary) or [0, C) (multi-class)
    epsilon : float in [0, 1), default 0.05
        The uniform distribution's share of the target; 0 is cross-entropy.
    reduction : {"none", "mean", "sum"}, default "mean"
        "mean" divides the sum by N.

    Examples
    --------
    >>> z, y = torch.tensor([8.0, -1.0]), torch.tensor([1, 0])
    >>> bool(label_smoothing_loss(z, y, epsilon=0.1) > label_smoothing_loss(z, y, epsilon=0.0))
    True
    """
    check_reduction(reduction)
    check_smoothing(epsilon)
    if logits.ndim == 1:
        check_binary_inputs(logits, targets)
        signed = torch.where(targets.bool(), logits, -logits)
        return reduce(-F.logsigmoid(signed) + float(epsilon) / 2 * signed, reduction)
    check_multiclass_inputs(logits, targets)
    log_p = F.log_softmax(logits, dim=1)
    log_pt = log_p.gather(1, targets.long().unsqueeze(1)).squeeze(1)
    return reduce(-(1.0 - epsilon) * log_pt - epsilon * log_p.mean(dim=1), reduction)


class LabelSmoothingLoss(nn.Module):
    """Module form of :func:`label_smoothing_loss`; stores ε."""

    def __init__(self, *, epsilon: float = 0.05, reduction: str = "mean") -> None:
        super().__init__()
        check_reduction(reduction)
        check_smoothing(epsilon)
        self.epsilon, self.reduction = float(epsilon), reduction

    def forward(self, logits: torch.Tensor, targets: torch.Tensor) -> torch.Tensor:
        return label_smoothing_loss(logits, targets, epsilon=self.epsilon, reduction=self.reduction)


LABEL_SMOOTHING = LossEntry(
    "label_smoothing", label_smoothing_loss, LabelSmoothingLoss, "Szegedy et al., CVPR 2016",
    params=lambda p, counts: {"epsilon": p["label_smoothing_epsilon"]},
    space={"label_smoothing_epsilon": Range(0.0, 0.2, valid=(0.0, 0.99), default=0.05)},
    binary_terms=lambda loss: BinaryTerms(smoothing=loss.epsilon),
    multiclass_terms=lambda loss: MulticlassTerms(smoothing=loss.epsilon),
    posterior=label_smoothing_posterior_logits,
)
