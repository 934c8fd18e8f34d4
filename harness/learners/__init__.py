"""Learners: the model families a cell can train, by the name used in specs (``models[].name``).

Adding a model family is one module implementing :class:`~harness.learners.base.Learner`
(with its search space, ``SPACE``) and one entry in :data:`_FACTORIES` and :data:`_SPACES`.
The imbalanced-learn ensembles are methods that are their own learner (model ``ensemble``):
:mod:`harness.learners.ensembles`.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from importlib import import_module
from typing import TYPE_CHECKING, Any

from harness.learners.base import FitReport, FitTask, Fitted, Learner

if TYPE_CHECKING:
    from harness.space import Dist
    from harness.spec.schema import Spec


def _torch_learner(spec: Spec, model: Any) -> Learner:
    from harness.learners.torch_mlp import TorchLearner

    return TorchLearner.from_spec(spec, model)


def _lightgbm_learner(spec: Spec, model: Any) -> Learner:
    from harness.learners.lightgbm_learner import LightGBMLearner

    return LightGBMLearner.from_spec(spec, model)


def _ensemble_learner(spec: Spec, model: Any) -> Learner:
    from harness.learners.ensembles import EnsembleLearner

    return EnsembleLearner.from_spec(spec, model)


_FACTORIES: dict[str, Callable[[Spec, Any], Learner]] = {
    "mlp": _torch_learner,
    "logistic": _torch_learner,
    "lightgbm": _lightgbm_learner,
    "ensemble": _ensemble_learner,
}

#: the module declaring each learner's search space (``SPACE``; ensembles: ``SPACES[name]``)
_SPACES = {"mlp": "torch_mlp", "logistic": "torch_mlp", "lightgbm": "lightgbm_learner"}


def available() -> list[str]:
    """Model names a spec may use."""
    return [name for name in _FACTORIES if name != "ensemble"]


def space(name: str) -> Mapping[str, Dist]:
    """The search space of learner ``name`` (a model name, or an ensemble method's name)."""
    if name in _SPACES:
        return import_module(f".{_SPACES[name]}", __name__).SPACE
    from harness.learners.ensembles import SPACES

    return SPACES[name]


#: the learners that train multi-class data (the others take binary labels only, for now)
MULTICLASS = frozenset({"mlp", "logistic"})


def cannot_take(model: str, loss: str) -> str | None:
    """Why learner ``model`` cannot train with ``loss`` (None: it can)."""
    if model != "lightgbm":
        return None
    from harness.learners.lightgbm_learner import cannot_take as lightgbm_cannot

    return lightgbm_cannot(loss)


def for_model(spec: Spec, model: Any = None) -> Learner:
    """The learner that trains ``model`` (an entry of ``spec.models``; default the first),
    configured from it and the spec's training settings."""
    model = model if model is not None else spec.model
    return _FACTORIES[model.name](spec, model)


def for_spec(spec: Spec) -> Learner:
    """The learner of the spec's first model."""
    return for_model(spec)


__all__ = ["FitReport", "FitTask", "Fitted", "Learner", "available", "cannot_take", "for_model", "for_spec", "space"]
