"""Methods (a loss, later with a sampler) and their search spaces, declared in one place each.

Parameter names are flat and namespaced by loss (``focal_gamma``, ``weighted_ce_beta``) so
that Optuna's parameters, MLflow's params and the results table share one vocabulary.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from difflib import get_close_matches
from typing import Any

import loss_zoo
from torch import nn


@dataclass(frozen=True)
class Float:
    """A float in [low, high], sampled on a log scale when ``log``."""

    low: float
    high: float
    log: bool = False

    def suggest(self, trial, name: str) -> float:
        return trial.suggest_float(name, self.low, self.high, log=self.log)

    def describe(self) -> str:
        return f"[{self.low:g}, {self.high:g}]" + (" log" if self.log else "")


@dataclass(frozen=True)
class OptionalFloat:
    """None, or a float in [low, high]; the choice is the parameter ``<name>_enabled``."""

    low: float
    high: float

    def suggest(self, trial, name: str) -> float | None:
        if not trial.suggest_categorical(f"{name}_enabled", [False, True]):
            return None
        return trial.suggest_float(name, self.low, self.high)

    def describe(self) -> str:
        return f"none or [{self.low:g}, {self.high:g}]"


Dist = Float | OptionalFloat

#: Optimiser parameters tuned for every method.
COMMON_SPACE: dict[str, Dist] = {
    "lr": Float(1e-4, 3e-1, log=True),
    "weight_decay": Float(1e-6, 1e-2, log=True),
}


@dataclass(frozen=True)
class Method:
    """A named method: the loss it trains with, its search space, and its loss parameters.

    ``loss_params(params, class_counts)`` maps tuned parameters and the training split's
    class counts to the loss's own parameters, which build the loss module and select its
    closed-form posterior correction.
    """

    name: str
    loss: str
    space: Mapping[str, Dist]
    loss_params: Callable[[Mapping[str, Any], list[int]], dict[str, Any]]
    sampler: str | None = None

    def build(self, params: Mapping[str, Any], counts: list[int]) -> nn.Module:
        """The loss module for one training."""
        return loss_zoo.get(self.loss, **self.loss_params(params, counts))

    @property
    def full_space(self) -> dict[str, Dist]:
        return {**COMMON_SPACE, **self.space}

    def suggest(self, trial) -> dict[str, Any]:
        """Draw one configuration from the search space through an Optuna trial."""
        return {name: dist.suggest(trial, name) for name, dist in self.full_space.items()}


_METHODS: dict[str, Method] = {
    m.name: m
    for m in (
        Method("ce", "ce", {}, lambda p, counts: {}),
        Method(
            "weighted_ce",
            "weighted_ce",
            {"weighted_ce_beta": Float(0.0, 1.0)},
            lambda p, counts: {"weight": loss_zoo.class_weights(counts, beta=p["weighted_ce_beta"])},
        ),
        Method(
            "focal",
            "focal",
            {"focal_gamma": Float(0.0, 5.0), "focal_alpha": OptionalFloat(0.05, 0.95)},
            lambda p, counts: {"gamma": p["focal_gamma"], "alpha": p["focal_alpha"]},
        ),
    )
}


def available() -> dict[str, Method]:
    """Methods usable in specs, by name."""
    return dict(_METHODS)


def get(name: str) -> Method:
    """The method called ``name``; an unknown name lists close matches and the known ones."""
    if name not in _METHODS:
        close = get_close_matches(name, list(_METHODS), n=3)
        hint = f" (did you mean {', '.join(close)}?)" if close else ""
        raise ValueError(f"unknown method {name!r}{hint}; known: {', '.join(sorted(_METHODS))}")
    return _METHODS[name]
