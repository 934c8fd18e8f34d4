"""Methods and their search spaces, each declared in one place.

A method trains with a loss, optionally on a resampled training split:

- a loss name: any loss registered in loss_zoo (its entry declares its tuned parameters and
  their map to the loss's own parameters);
- ``<loss>+<sampler>``, or a sampler alone meaning ``ce+<sampler>``;
- ``tuned_loss``: the loss (and optionally the sampler) is itself a categorical hyperparameter,
  with each choice's own parameters conditional on it, tuned with the same trial budget;
- an ensemble, imbalanced-learn's (``balanced_random_forest``, ...) or a plain scikit-learn
  counterpart (``random_forest``, ``bagging``): no loss; the method is its own learner (model
  ``ensemble``), see :mod:`harness.learners.ensembles`.

A method's search space is its learner's (``lr``, ``weight_decay`` for the torch learner;
``lgbm_*`` for LightGBM; each ensemble its own), then its loss's, then its sampler's:
:meth:`Method.for_learner` attaches the learner's part (default: the torch learner's).

Parameter names are flat and namespaced by loss or sampler (``focal_gamma``,
``smote_k_neighbors``) so that Optuna's parameters, MLflow's params and the results share one
vocabulary. A spec can narrow or fix any of them (``tuning.search_space``).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field, replace
from difflib import get_close_matches
from typing import TYPE_CHECKING, Any

import loss_zoo
from harness.methods import samplers as samplers_registry
from harness.space import Choice, Dist, Float, Int, OptionalFloat, narrow
from harness.vocabulary import NO_LOSS, NO_SAMPLER, TUNED, TUNED_LOSS_DEFAULTS

if TYPE_CHECKING:
    from torch import nn



@dataclass(frozen=True)
class LossSpace:
    """A loss's tuned parameters as search-space distributions, and the map from them (and
    training class counts) to the loss's own parameters, read from its loss_zoo entry."""

    name: str
    space: Mapping[str, Dist]
    params: Callable[[Mapping[str, Any], list[int]], dict[str, Any]]


def _dist(r: loss_zoo.Range) -> Dist:
    """The distribution of a loss's declared range."""
    if r.optional:
        return OptionalFloat(r.low, r.high, valid=r.valid)
    return Float(r.low, r.high, log=r.log, valid=r.valid)


def loss_space(name: str) -> LossSpace:
    """The search space and parameter map of the registered loss ``name``."""
    entry = loss_zoo.entry(name)
    return LossSpace(entry.name, {k: _dist(r) for k, r in entry.space.items()}, entry.params)


class _LossSpaces(Mapping):
    """Every registered loss's :class:`LossSpace`, by name: a live, read-only view of the loss_zoo
    registry (a loss registered later appears here, and in every method built after)."""

    def __getitem__(self, name: str) -> LossSpace:
        if name not in loss_zoo.available():
            raise KeyError(name)
        return loss_space(name)

    def __iter__(self):
        return iter(loss_zoo.available())

    def __len__(self) -> int:
        return len(loss_zoo.available())


LOSSES: Mapping[str, LossSpace] = _LossSpaces()


@dataclass(frozen=True)
class Method:
    """A named method: the loss(es) and sampler(s) it may use and its search space.

    A plain method has one loss and at most one sampler; ``tuned_loss`` has several and lets
    each trial choose (parameters ``loss`` and ``sampler``).
    """

    name: str
    losses: tuple[str, ...]
    samplers: tuple[str, ...] = (NO_SAMPLER,)
    overrides: Mapping[str, Dist] = field(default_factory=dict)
    learner_space: Mapping[str, Dist] | None = None  # None: the torch learner's
    ensemble: str | None = None  # an ensemble (imbalanced-learn's or a plain one): no loss, its own learner
    n_trials: int | None = None  # the spec entry's own trial budget (None: ``tuning.n_trials``)

    @property
    def loss(self) -> str:
        """The loss name, ``tuned_loss`` when it is chosen per trial, ``none`` for an ensemble."""
        if self.ensemble:
            return NO_LOSS
        return self.losses[0] if len(self.losses) == 1 else TUNED

    @property
    def learner(self) -> Mapping[str, Dist]:
        """The learner's part of the search space."""
        if self.learner_space is not None:
            return self.learner_space
        from harness import learners

        return learners.space("mlp")

    def for_learner(self, name: str) -> "Method":
        """The method trained by learner ``name`` (a model name, or the ensemble's own)."""
        from harness import learners

        return replace(self, learner_space=learners.space(self.ensemble or name), overrides={})

    @property
    def sampler(self) -> str | None:
        """The sampler name, None for none, ``tuned_loss`` when chosen per trial."""
        if len(self.samplers) > 1:
            return TUNED
        return None if self.samplers[0] == NO_SAMPLER else self.samplers[0]

    def _dist(self, name: str, dist: Dist) -> Dist:
        return self.overrides.get(name, dist)

    @property
    def full_space(self) -> dict[str, Dist]:
        """Every parameter this method may tune (conditional ones included), overrides applied."""
        space: dict[str, Dist] = dict(self.learner)
        if len(self.losses) > 1:
            space["loss"] = Choice(self.losses)
        for loss in self.losses:
            space.update(LOSSES[loss].space)
        if len(self.samplers) > 1:
            space["sampler"] = Choice(self.samplers)
        for sampler in self.samplers:
            if sampler != NO_SAMPLER:
                space.update(samplers_registry.available()[sampler].space)
        return {name: self._dist(name, dist) for name, dist in space.items()}

    def suggest(self, trial) -> dict[str, Any]:
        """Draw one configuration through an Optuna trial; conditional parameters only when chosen."""
        space = self.full_space
        params = {name: space[name].suggest(trial, name) for name in self.learner}
        if self.ensemble:
            return params
        loss, sampler = self.losses[0], self.samplers[0]
        if "loss" in space:
            loss = params["loss"] = space["loss"].suggest(trial, "loss")
        if "sampler" in space:
            sampler = params["sampler"] = space["sampler"].suggest(trial, "sampler")
        for name in LOSSES[loss].space:
            params[name] = space[name].suggest(trial, name)
        if sampler != NO_SAMPLER:
            for name in samplers_registry.available()[sampler].space:
                params[name] = space[name].suggest(trial, name)
        return params

    def resolve(self, params: Mapping[str, Any]) -> tuple[str, str | None]:
        """(loss, sampler or None) that a configuration trains with; (None, None) for an ensemble."""
        if self.ensemble:
            return None, None
        loss = params.get("loss", self.losses[0]) if len(self.losses) > 1 else self.losses[0]
        sampler = params.get("sampler", self.samplers[0]) if len(self.samplers) > 1 else self.samplers[0]
        return loss, (None if sampler == NO_SAMPLER else sampler)

    def loss_params(self, params: Mapping[str, Any], counts: list[int]) -> dict[str, Any]:
        """The resolved loss's own parameters for a configuration and training class counts."""
        if self.ensemble:
            return {}
        return LOSSES[self.resolve(params)[0]].params(params, counts)

    def build(self, params: Mapping[str, Any], counts: list[int]) -> nn.Module:
        """The loss module for one training."""
        return loss_zoo.get(self.resolve(params)[0], **self.loss_params(params, counts))

    def for_rows(self, n_rows: int) -> "Method":
        """The method with size-bound ranges (:meth:`harness.space.Int.for_rows`) capped for a
        training split of ``n_rows``."""
        sized = {k: d.for_rows(n_rows) for k, d in self.full_space.items() if isinstance(d, Int)}
        return replace(self, overrides={**self.overrides, **{k: d for k, d in sized.items() if d != self.full_space[k]}})

    def with_overrides(self, search_space: Mapping[str, Any]) -> "Method":
        """The method with the spec's narrowed or fixed parameters (keys it does not tune are ignored)."""
        space = self.full_space
        return replace(self, overrides={k: narrow(space[k], v, k) for k, v in search_space.items() if k in space})


def _close(name: str, known: Sequence[str]) -> str:
    close = get_close_matches(name, list(known), n=3)
    return f" (did you mean {', '.join(close)}?)" if close else ""


def _unknown(kind: str, name: str, known: Sequence[str]) -> ValueError:
    return ValueError(f"unknown {kind} {name!r}{_close(name, known)}; known: {', '.join(sorted(known))}")


def available() -> list[str]:
    """Plain method names: each loss, each sampler (= ``ce+<sampler>``), ``tuned_loss`` and each ensemble."""
    from harness.learners import ensembles

    return [*LOSSES, *samplers_registry.available(), TUNED, *ensembles.ENSEMBLES]


def tuned_loss(losses: Sequence[str] | None = None, samplers: Sequence[str] | None = None) -> Method:
    """``tuned_loss`` over ``losses`` (default: the published sweep's six, :data:`TUNED_LOSS_DEFAULTS`,
    not every registered loss: a loss added later is a choice only where a spec lists it) and
    ``samplers`` (default: none only)."""
    losses = tuple(losses or TUNED_LOSS_DEFAULTS)
    samplers = tuple(samplers or (NO_SAMPLER,))
    for loss in losses:
        if loss not in LOSSES:
            raise _unknown("loss", loss, list(LOSSES))
    for sampler in samplers:
        if sampler != NO_SAMPLER and sampler not in samplers_registry.available():
            raise _unknown("sampler", sampler, [NO_SAMPLER, *samplers_registry.available()])
    if len(set(losses)) != len(losses) or len(set(samplers)) != len(samplers):
        raise ValueError("expected distinct loss and sampler choices")
    return Method(TUNED, losses, samplers)


def get(name: str, *, tuned: Method | None = None) -> Method:
    """The method called ``name``: a loss, ``<loss>+<sampler>``, a sampler alone (``ce+<sampler>``)
    or ``tuned_loss`` (``tuned`` configures it). Unknown names list close matches."""
    from harness.learners import ensembles

    samplers = samplers_registry.available()
    if name == TUNED:
        return tuned or tuned_loss()
    if name in ensembles.ENSEMBLES:
        return Method(name, (), ensemble=name)
    if name in LOSSES:
        return Method(name, (name,))
    loss_name, _, sampler_name = name.partition("+")
    if not sampler_name and loss_name in samplers:
        loss_name, sampler_name = "ce", loss_name
    if not sampler_name:
        raise ValueError(
            f"unknown method {name!r}{_close(name, available())}; known: {', '.join(sorted(LOSSES))}, "
            f"a sampler ({', '.join(sorted(samplers))}), <loss>+<sampler>, {TUNED} or an ensemble "
            f"({', '.join(ensembles.ENSEMBLES)})"
        )
    if loss_name not in LOSSES:
        raise _unknown("loss", loss_name, list(LOSSES))
    if sampler_name not in samplers:
        raise _unknown("sampler", sampler_name, list(samplers))
    return Method(name, (loss_name,), (sampler_name,))
