"""loss_zoo: losses for imbalanced classification and their posterior corrections.

Each loss is one pure function (``<name>_loss``) plus a thin ``nn.Module``. The registry maps
the names used in benchmark specs to modules, and to the closed-form map from a trained
model's logits to posterior logits::

    >>> import loss_zoo
    >>> loss_zoo.get("focal", gamma=2.0)
    FocalLoss()
    >>> sorted(loss_zoo.available())[:3]
    ['ce', 'class_balanced_focal', 'focal']
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from difflib import get_close_matches

import numpy as np
from torch import nn

from .ce import (
    CELoss,
    LogitAdjustedCELoss,
    WeightedCELoss,
    ce_loss,
    logit_adjusted_ce_loss,
    weighted_ce_loss,
)
from .corrections import (
    focal_posterior_logits,
    logit_adjusted_posterior_logits,
    weighted_ce_posterior_logits,
)
from .focal import (
    ClassBalancedFocalLoss,
    FocalFLSDLoss,
    FocalLoss,
    class_balanced_focal_loss,
    focal_flsd_loss,
    focal_loss,
)
from .weights import class_weights


def _identity(logits: np.ndarray, **params) -> np.ndarray:
    z = np.asarray(logits, dtype=np.float64)
    return z.copy() if z.ndim == 1 else z - np.logaddexp.reduce(z, axis=1, keepdims=True)


def _cb_focal(logits, *, counts, beta=0.999, gamma=2.0):
    return focal_posterior_logits(logits, gamma=gamma, weight=class_weights(counts, scheme="effective_number", beta=beta))


@dataclass(frozen=True)
class LossInfo:
    """What a registered loss supports, and its posterior correction (None: no closed form)."""

    name: str
    module: type[nn.Module]
    binary: bool
    multiclass: bool
    posterior: Callable[..., np.ndarray] | None
    citation: str


_REGISTRY: dict[str, LossInfo] = {
    info.name: info
    for info in (
        LossInfo("ce", CELoss, True, True, _identity, "maximum likelihood"),
        LossInfo("weighted_ce", WeightedCELoss, True, True, weighted_ce_posterior_logits,
                 "class-weighted cross-entropy; weights from loss_zoo.class_weights"),
        LossInfo("focal", FocalLoss, True, True,
                 lambda z, *, gamma=2.0, alpha=None: focal_posterior_logits(z, gamma=gamma, alpha=alpha),
                 "Lin et al., ICCV 2017"),
        LossInfo("focal_flsd", FocalFLSDLoss, True, True, None, "Mukhoti et al., NeurIPS 2020"),
        LossInfo("class_balanced_focal", ClassBalancedFocalLoss, True, True, _cb_focal, "Cui et al., CVPR 2019"),
        LossInfo("logit_adjusted_ce", LogitAdjustedCELoss, True, True, logit_adjusted_posterior_logits,
                 "Menon et al., ICLR 2021"),
    )
}


def _info(name: str) -> LossInfo:
    if name not in _REGISTRY:
        close = get_close_matches(name, list(_REGISTRY), n=3)
        hint = f" (did you mean {', '.join(close)}?)" if close else ""
        raise ValueError(f"loss: unknown name {name!r}{hint}; known: {', '.join(sorted(_REGISTRY))}")
    return _REGISTRY[name]


def available() -> dict[str, LossInfo]:
    """Registered losses by name, with the problem types each supports."""
    return dict(_REGISTRY)


def get(name: str, **params) -> nn.Module:
    """Build the registered loss ``name`` with its parameters; unknown names list the known ones."""
    return _info(name).module(**params)


def posterior_logits(name: str, logits, **params) -> np.ndarray:
    """Posterior logits (binary: logit η; multi-class: log η) for a model trained with loss ``name``.

    ``params`` are the loss's own parameters (as for :func:`get`, without ``reduction``).
    Raises ValueError for a loss without a closed-form correction.
    """
    info = _info(name)
    if info.posterior is None:
        raise ValueError(f"loss: {name!r} has no closed-form posterior correction")
    params.pop("reduction", None)
    return info.posterior(logits, **params)


__all__ = [
    "CELoss",
    "ClassBalancedFocalLoss",
    "FocalFLSDLoss",
    "FocalLoss",
    "LogitAdjustedCELoss",
    "LossInfo",
    "WeightedCELoss",
    "available",
    "ce_loss",
    "class_balanced_focal_loss",
    "class_weights",
    "focal_flsd_loss",
    "focal_loss",
    "focal_posterior_logits",
    "get",
    "logit_adjusted_ce_loss",
    "logit_adjusted_posterior_logits",
    "posterior_logits",
    "weighted_ce_loss",
    "weighted_ce_posterior_logits",
]
