"""A cell's method, resolved once: the spec's entry, the learner's search space, the spec's and
the entry's overrides, the task's dead parameters fixed, and the trial budget that follows.

Everything downstream (tuning, evaluation, tracking, the cost model, workers) reads the
resolved method and budget from the planned :class:`~harness.plan.cells.Cell`.
"""

from __future__ import annotations

from dataclasses import replace
from typing import Any

from harness.methods import registry as methods_registry
from harness.methods.registry import Method
from harness.space import Fixed
from harness.spec.schema import EnsembleModel, Spec
from harness.vocabulary import MULTICLASS, task_of


def tuned_loss(spec: Spec) -> Method:
    """``tuned_loss`` as this spec configures its choices."""
    return methods_registry.tuned_loss(spec.tuning.tuned_loss.losses, spec.tuning.tuned_loss.samplers)


def is_ensemble(spec: Spec, key: str) -> bool:
    """Whether method ``key`` (a name or label) is an ensemble (its own learner, no loss)."""
    return methods_registry.get(spec.method_entry(key).name).ensemble is not None


def models_for(spec: Spec, key: str) -> list:
    """The model entries method ``key`` runs on: every model, or the ensemble's own."""
    return [EnsembleModel(spec.method_entry(key).name)] if is_ensemble(spec, key) else list(spec.models)


def method_of(spec: Spec, key: str, model: Any = None) -> Method:
    """Method ``key`` (a name or label) as this spec configures it for ``model`` (default: the
    first): the learner's search space, tuned_loss choices, the spec's narrowed or fixed
    parameters and then the entry's own. Task-independent; :func:`method_for` adds the task."""
    entry = spec.method_entry(key)
    found = methods_registry.get(entry.name, tuned=tuned_loss(spec))
    overrides = {**spec.tuning.search_space, **entry.search_space}
    configured = found.for_learner((model or spec.model).name).with_overrides(overrides)
    return replace(configured, n_trials=entry.n_trials)


def binary_only_params() -> set[str]:
    """Tuned parameters that loss_zoo declares meaningful for binary problems only."""
    import loss_zoo

    return {name for entry in loss_zoo.available().values() for name, r in entry.space.items() if r.binary_only}


def method_for(method: Method, n_classes: int) -> Method:
    """``method`` on data with ``n_classes``: on multi-class data (C > 2) its binary-only
    parameters are fixed to None, so a parameter that would be dead is never tuned there."""
    return _for_task(method, task_of(n_classes))


def _for_task(method: Method, task: str) -> Method:
    dead = binary_only_params() & set(method.full_space) if task == MULTICLASS else set()
    return replace(method, overrides={**method.overrides, **{k: Fixed(None) for k in dead}}) if dead else method


def trial_budget(spec: Spec, method: Method) -> int:
    """The cell's number of trials: the method entry's ``n_trials``, else ``tuning.n_trials``,
    raised by ``tuning.trials_per_parameter`` times the method's tuned parameters (those of its
    full space the spec does not fix; for ``tuned_loss`` every loss's and sampler's, plus the
    choices). ``method`` as :func:`method_of` configures it (which carries the entry's budget)."""
    n_params = sum(1 for dist in method.full_space.values() if not isinstance(dist, Fixed))
    return spec.tuning.budget(n_params, method.n_trials)


def cell_method(spec: Spec, task: str, key: str, model: Any) -> Method:
    """The method a cell of ``task`` (``binary`` or ``multiclass``) trains: :func:`method_of`
    for its model, and on multi-class data :func:`method_for`."""
    return _for_task(method_of(spec, key, model), task)
