"""Learners: the model families a cell can train, by the name used in specs (``model.name``).

Adding a model family is one module implementing :class:`~harness.learners.base.Learner` and
one entry in :data:`_FACTORIES`: a function from the spec to the configured learner.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING

from .base import FitReport, FitTask, Fitted, Learner

if TYPE_CHECKING:
    from ..spec import Spec


def _torch_learner(spec: Spec) -> Learner:
    from .torch_mlp import TorchLearner

    return TorchLearner.from_spec(spec)


_FACTORIES: dict[str, Callable[[Spec], Learner]] = {
    "mlp": _torch_learner,
    "logistic": _torch_learner,
}


def available() -> list[str]:
    """Model names a spec may use."""
    return list(_FACTORIES)


def for_spec(spec: Spec) -> Learner:
    """The learner that trains ``spec``'s model, configured from its model and training settings."""
    return _FACTORIES[spec.model.name](spec)


__all__ = ["FitReport", "FitTask", "Fitted", "Learner", "available", "for_spec"]
