"""Methods (a loss, optionally with a sampler) and their search spaces, declared in one place each.

Parameter names are flat and namespaced by loss (``focal_gamma``, ``weighted_ce_beta``) so
that Optuna's parameters, MLflow's params and the results table share one vocabulary.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from difflib import get_close_matches
from typing import Any

from torch import nn

import loss_zoo

from . import samplers as samplers_registry
from .space import Dist, Float, OptionalFloat

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
    """Loss methods by name; any of them combines with a sampler as ``<loss>+<sampler>``."""
    return dict(_METHODS)


def _unknown(kind: str, name: str, known: list[str]) -> ValueError:
    close = get_close_matches(name, known, n=3)
    hint = f" (did you mean {', '.join(close)}?)" if close else ""
    return ValueError(f"unknown {kind} {name!r}{hint}; known: {', '.join(sorted(known))}")


def get(name: str) -> Method:
    """The method called ``name``: a loss, ``<loss>+<sampler>``, or a sampler alone (``ce+<sampler>``).

    Unknown names list close matches and the known losses and samplers.
    """
    if name in _METHODS:
        return _METHODS[name]
    samplers = samplers_registry.available()
    loss_name, _, sampler_name = name.partition("+")
    if not sampler_name and loss_name in samplers:
        loss_name, sampler_name = "ce", loss_name
    if not sampler_name:
        close = get_close_matches(name, list(_METHODS) + list(samplers), n=3)
        hint = f" (did you mean {', '.join(close)}?)" if close else ""
        raise ValueError(
            f"unknown method {name!r}{hint}; known: {', '.join(sorted(_METHODS))}, a sampler "
            f"({', '.join(sorted(samplers))}) or <loss>+<sampler>"
        )
    if loss_name not in _METHODS:
        raise _unknown("loss", loss_name, list(_METHODS))
    if sampler_name not in samplers:
        raise _unknown("sampler", sampler_name, list(samplers))
    base = _METHODS[loss_name]
    return Method(name, base.loss, {**base.space, **samplers[sampler_name].space}, base.loss_params,
                  sampler=sampler_name)
