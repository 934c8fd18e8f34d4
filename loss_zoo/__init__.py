"""loss_zoo: losses for imbalanced classification and their posterior corrections.

Each loss is one pure function (``<name>_loss``) plus a thin ``nn.Module``. The registry maps
the names used in benchmark specs to modules::

    >>> import loss_zoo
    >>> loss_zoo.get("focal", gamma=2.0)
    FocalLoss()
"""

from __future__ import annotations

from dataclasses import dataclass

from torch import nn

from .ce import CELoss, WeightedCELoss, ce_loss, weighted_ce_loss
from .focal import FocalLoss, focal_loss
from .weights import class_weights


@dataclass(frozen=True)
class LossInfo:
    """What a registered loss supports."""

    name: str
    module: type[nn.Module]
    binary: bool
    multiclass: bool


_REGISTRY: dict[str, LossInfo] = {
    "ce": LossInfo("ce", CELoss, binary=True, multiclass=True),
    "weighted_ce": LossInfo("weighted_ce", WeightedCELoss, binary=True, multiclass=True),
    "focal": LossInfo("focal", FocalLoss, binary=True, multiclass=True),
}


def available() -> dict[str, LossInfo]:
    """Registered losses by name, with the problem types each supports."""
    return dict(_REGISTRY)


def get(name: str, **params) -> nn.Module:
    """Build the registered loss ``name`` with its parameters; unknown names list the known ones."""
    if name not in _REGISTRY:
        raise ValueError(f"loss: unknown name {name!r}; known: {', '.join(sorted(_REGISTRY))}")
    return _REGISTRY[name].module(**params)


__all__ = [
    "CELoss",
    "FocalLoss",
    "LossInfo",
    "WeightedCELoss",
    "available",
    "ce_loss",
    "class_weights",
    "focal_loss",
    "get",
    "weighted_ce_loss",
]
