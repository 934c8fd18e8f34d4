"""loss_zoo: losses for imbalanced classification and their posterior corrections.

Each loss is one pure function (``<name>_loss``) plus a thin ``nn.Module``, declared once as a
:class:`LossEntry` (its tuned search space, the map to its own parameters, its stacked-trainer
form, posterior correction and citation). The registry maps the names used in benchmark specs
to entries::

    >>> import loss_zoo
    >>> loss_zoo.get("focal", gamma=2.0)
    FocalLoss()
    >>> list(loss_zoo.available())[:3]
    ['ce', 'weighted_ce', 'focal']

:func:`register` adds a loss; :func:`registered` does so for a ``with`` block.
"""

from __future__ import annotations

from .asymmetric import AsymmetricLoss, asl_loss
from .brier import BrierLoss, brier_loss
from .ce import (
    BalancedSoftmaxLoss,
    CELoss,
    LogitAdjustedCELoss,
    WeightedCELoss,
    balanced_softmax_loss,
    ce_loss,
    logit_adjusted_ce_loss,
    weighted_ce_loss,
)
from .corrections import (
    focal_posterior_logits,
    label_smoothing_posterior_logits,
    logit_adjusted_posterior_logits,
    poly1_posterior_logits,
    weighted_ce_posterior_logits,
)
from .dual_focal import DualFocalLoss, dual_focal_loss
from .entry import BinaryTerms, LossEntry, MulticlassTerms, Range
from .focal import (
    ClassBalancedFocalLoss,
    FocalFLSDLoss,
    FocalLoss,
    class_balanced_focal_loss,
    focal_flsd_loss,
    focal_loss,
)
from .drop_easy import CEDropEasyLoss, ce_drop_easy_loss
from .hard_mining import OHEMLoss, ohem_loss, ohem_terms
from .label_smoothing import LabelSmoothingLoss, label_smoothing_loss
from .ldam import LDAMLoss, drw_weights, ldam_loss, ldam_margins
from .mmce import MMCELoss, mmce_loss
from .poly import Poly1Loss, poly1_loss
from .registry import available, entry, entry_of, get, posterior_logits, register, registered
from .weights import class_weights

__all__ = [
    "AsymmetricLoss",
    "BalancedSoftmaxLoss",
    "BinaryTerms",
    "BrierLoss",
    "CEDropEasyLoss",
    "CELoss",
    "ClassBalancedFocalLoss",
    "DualFocalLoss",
    "FocalFLSDLoss",
    "FocalLoss",
    "LDAMLoss",
    "LabelSmoothingLoss",
    "LogitAdjustedCELoss",
    "LossEntry",
    "MMCELoss",
    "MulticlassTerms",
    "OHEMLoss",
    "Poly1Loss",
    "Range",
    "WeightedCELoss",
    "asl_loss",
    "available",
    "balanced_softmax_loss",
    "brier_loss",
    "ce_drop_easy_loss",
    "ce_loss",
    "class_balanced_focal_loss",
    "class_weights",
    "drw_weights",
    "dual_focal_loss",
    "entry",
    "entry_of",
    "focal_flsd_loss",
    "focal_loss",
    "focal_posterior_logits",
    "get",
    "label_smoothing_loss",
    "label_smoothing_posterior_logits",
    "ldam_loss",
    "ldam_margins",
    "logit_adjusted_ce_loss",
    "logit_adjusted_posterior_logits",
    "mmce_loss",
    "ohem_loss",
    "ohem_terms",
    "poly1_loss",
    "poly1_posterior_logits",
    "posterior_logits",
    "register",
    "registered",
    "weighted_ce_loss",
    "weighted_ce_posterior_logits",
]
