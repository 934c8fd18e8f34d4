"""Learners: the model families a cell can train, by the name used in specs (``models[].name``).

Each family is one module implementing :class:`~harness.learners.base.Learner` (a class with
``from_spec(spec, model)``, its search space ``SPACE``, and optionally ``cannot_take(loss, n_classes)``)
and one :class:`LearnerEntry` in :data:`REGISTRY`; its settings (``models[]`` keys) are a model
of the spec schema (:mod:`harness.spec.schema`), which validates names and shapes only. The
modules load on first use: naming a learner imports neither torch nor LightGBM.

The ensembles (imbalanced-learn's and their plain scikit-learn counterparts) are methods that are
their own learner (model ``ensemble``): :mod:`harness.learners.ensembles`, one search space per
ensemble.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from importlib import import_module
from typing import TYPE_CHECKING, Any

from harness.learners.base import FitReport, FitTask, Fitted, Learner

if TYPE_CHECKING:
    from harness.space import Dist
    from harness.spec.schema import Spec


@dataclass(frozen=True)
class LearnerEntry:
    """One model family: where it lives and what it trains.

    Parameters
    ----------
    module : str
        The module under :mod:`harness.learners` holding the learner.
    cls : str
        The :class:`Learner` class in it (``from_spec(spec, model)`` builds one).
    multiclass : bool
        Whether it trains multi-class data (else binary labels only).
    in_specs : bool
        Whether a spec may name it under ``models`` (the ensembles' learner is a method's own).
    images : bool
        Whether it trains image data only (rows with an image shape, ``Prepared.image_shape``).
    """

    module: str
    cls: str
    multiclass: bool
    in_specs: bool = True
    images: bool = False

    def load(self) -> Any:
        return import_module(f"{__name__}.{self.module}")


REGISTRY: dict[str, LearnerEntry] = {
    "mlp": LearnerEntry("torch_mlp", "TorchLearner", multiclass=True),
    "logistic": LearnerEntry("torch_mlp", "TorchLearner", multiclass=True),
    "lightgbm": LearnerEntry("lightgbm_learner", "LightGBMLearner", multiclass=True),
    "cnn": LearnerEntry("torch_cnn", "CNNLearner", multiclass=True, images=True),
    "fcn": LearnerEntry("fcn", "FCNLearner", multiclass=False),
    "ensemble": LearnerEntry("ensembles", "EnsembleLearner", multiclass=True, in_specs=False),
}

#: the learners that train multi-class data (today every one; a new learner may take binary labels only)
MULTICLASS = frozenset(name for name, entry in REGISTRY.items() if entry.multiclass)


def available() -> list[str]:
    """Model names a spec may use."""
    return [name for name, entry in REGISTRY.items() if entry.in_specs]


def space(name: str) -> Mapping[str, Dist]:
    """The search space of learner ``name`` (a model name, or an ensemble method's name)."""
    if name in REGISTRY and REGISTRY[name].in_specs:
        return REGISTRY[name].load().SPACE
    return REGISTRY["ensemble"].load().SPACES[name]


def cannot_take(model: str, loss: str, n_classes: int = 2) -> str | None:
    """Why learner ``model`` cannot train with ``loss`` on data with ``n_classes`` (None: it can)."""
    import loss_zoo  # the zoo's entries say which losses are binary only; late: nothing loads on import

    entry = loss_zoo.available().get(loss)
    if n_classes > 2 and entry is not None and not entry.multiclass:
        return "not a multi-class loss"
    check = getattr(REGISTRY[model].load(), "cannot_take", None)
    return None if check is None else check(loss, n_classes)


def for_model(spec: Spec, model: Any = None) -> Learner:
    """The learner that trains ``model`` (an entry of ``spec.models``; default the first),
    configured from it and the spec's training settings."""
    model = model if model is not None else spec.model
    entry = REGISTRY[model.name]
    return getattr(entry.load(), entry.cls).from_spec(spec, model)


def for_spec(spec: Spec) -> Learner:
    """The learner of the spec's first model."""
    return for_model(spec)


__all__ = ["REGISTRY", "FitReport", "FitTask", "Fitted", "Learner", "LearnerEntry", "available", "cannot_take",
           "for_model", "for_spec", "space"]
