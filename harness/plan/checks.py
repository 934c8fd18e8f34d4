"""Checks across registries, made when a spec is planned: a method entry's own loss function
loads, passes its probes and is registered (:mod:`harness.methods.user_losses`), every method name is a known method,
``tuned_loss``'s choices are known losses and samplers, every model can train every loss it is
given, every ``search_space`` key belongs to a method or model of the spec, and (once a
dataset is loaded) the spec's metrics and settings apply to its task.

The schema (:mod:`harness.spec`) validates names and shapes only; these checks need the
method, loss and learner registries. :func:`parse_spec` and :func:`load_spec` do both, and
every error is one line naming the field (:class:`~harness.errors.UserError`, exit code 2).
"""

from __future__ import annotations

from difflib import get_close_matches
from pathlib import Path
from typing import Any

from harness import learners
from harness.errors import UserError
from harness.methods import registry as methods_registry
from harness.methods import user_losses
from harness.metrics.per_task import listed_metrics, metric_name, variant_name
from harness.plan.resolve import binary_only_params, method_of, models_for, trial_budget, tuned_loss
from harness.space import Fixed
from harness.spec import schema
from harness.spec.schema import DatasetSpec, Spec
from harness.vocabulary import BINARY, MULTICLASS, task_of


def parse_spec(data: Any, *, source: str = "spec") -> Spec:
    """Validate a spec given as a mapping, then check it across the registries."""
    return check(schema.parse_spec(data, source=source), source=source)


def load_spec(path: str | Path) -> Spec:
    """Read, validate and check a YAML spec."""
    return check(schema.load_spec(path), source=str(path))


def check(spec: Spec, *, source: str = "spec") -> Spec:
    """``spec`` itself when every name it uses resolves in the registries; else a
    :class:`UserError` of one line: ``<source>: <field>: <what is wrong>``."""
    try:
        user_losses.register(spec)  # a method entry's own function: a loss from then on
        _known_methods(spec)
        _losses_fit_models(spec)
        _search_space_keys(spec)
        _untuned_fixed(spec)
    except ValueError as exc:
        raise UserError(f"{source}: {exc}") from None
    return spec


def _known_methods(spec: Spec) -> None:
    for entry in spec.methods:
        try:
            methods_registry.get(entry if isinstance(entry, str) else entry.name)
        except ValueError as exc:
            raise ValueError(f"methods: {exc}") from None
    try:
        tuned_loss(spec)
    except ValueError as exc:
        raise ValueError(f"tuning.tuned_loss: {exc}") from None


def _pairs_with(spec: Spec, key: str) -> list:
    """The models method ``key`` may run on: every one, but those whose ``only.methods`` leaves it
    out or that the method's ``only.models`` leaves out."""
    allowed = spec.method_entry(key).only.models
    return [m for m in spec.models if (m.only.methods is None or key in m.only.methods)
            and (allowed is None or m.key in allowed)]


def _losses_fit_models(spec: Spec) -> None:
    for i, key in enumerate(spec.method_keys):
        losses = methods_registry.get(spec.method_entry(key).name, tuned=tuned_loss(spec)).losses
        for model in _pairs_with(spec, key):
            for loss in losses:
                if (why := learners.cannot_take(model.name, loss)) is not None:
                    raise ValueError(f"methods[{i}]: model {model.key!r} cannot train with loss {loss!r} ({why})")


def _search_space_keys(spec: Spec) -> None:
    spaces = {key: [method_of(spec, key, model).full_space for model in models_for(spec, key)]
              for key in spec.method_keys}
    known = sorted({k for per_model in spaces.values() for space in per_model for k in space})
    for i, key in enumerate(spec.method_keys):
        own = {k for space in spaces[key] for k in space}
        for name in spec.method_entry(key).search_space:
            if name not in own:
                raise ValueError(f"methods[{i}].search_space.{name}: not a parameter of method {key!r}; "
                                 f"known: {', '.join(sorted(own))}")
    for key in spec.tuning.search_space:
        if key not in known:
            owners = [m for m in learners.available() if key in learners.space(m)]
            if owners:
                raise ValueError(f"tuning.search_space.{key}: a parameter of model {owners[0]!r}, which this spec "
                                 f"does not train (models: {', '.join(m.key for m in spec.models)})")
            close = get_close_matches(key, known, n=3)
            hint = f" (did you mean {', '.join(close)}?)" if close else ""
            raise ValueError(f"tuning.search_space.{key}: unknown parameter{hint}; known for these methods: {', '.join(known)}")


def _untuned_fixed(spec: Spec) -> None:
    """A method without trials (``tuning.n_trials: 0``) has every parameter fixed: the evaluation
    trains that one configuration. The binary-only parameters need no value when every dataset is
    multi-class (they are fixed to None there)."""
    methods = [(i, key, model, method_of(spec, key, model)) for i, key in enumerate(spec.method_keys)
               for model in models_for(spec, key)]
    untuned = [entry for entry in methods if trial_budget(spec, entry[3]) == 0]
    if not untuned:  # nothing to check (and a file dataset's task is not asked before it is loaded)
        return
    dead = binary_only_params() if all(spec.task_of(d.key) == MULTICLASS for d in spec.datasets) else set()
    for i, key, model, method in untuned:
        free = sorted(name for name, dist in method.full_space.items() if not isinstance(dist, Fixed) and name not in dead)
        if free:
            raise ValueError(f"tuning.n_trials: 0 (no tuning) needs every parameter fixed, but method {key!r} "
                             f"(methods[{i}]) on model {model.key!r} tunes {', '.join(free)}; fix them in "
                             "tuning.search_space or the method's search_space")


def problems(spec: Spec, ds: DatasetSpec, n_classes: int) -> str | None:
    """The first thing of ``spec`` that does not apply to dataset ``ds`` with ``n_classes``, as one line."""
    task = task_of(n_classes)
    if task == BINARY and (ds.profile is not None or ds.minority_fraction is not None):
        given = "profile" if ds.profile is not None else "minority_fraction"
        return f"{ds.key}: {given}: expected none on binary data (profiles are multi-class), got {getattr(ds, given)!r}"
    listed = listed_metrics(spec) or []
    for where, names in (("tuning.metric", spec.tuning.metrics), ("evaluation.metrics", listed)):
        for name in names:
            if metric_name(name, n_classes) is None:
                return f"{where}: {name!r} is not a {task} metric, but dataset {ds.key} has {n_classes} classes"
    for name in spec.evaluation.calibration:
        if variant_name(name, n_classes) is None:
            return f"evaluation.calibration: {name!r} is a multi-class variant, but dataset {ds.key} is binary"
    fixed = sorted(binary_only_params() & set(spec.tuning.search_space))
    if task == MULTICLASS and fixed:
        return (f"tuning.search_space.{fixed[0]}: a binary-only parameter (scalar class weight), but dataset "
                f"{ds.key} has {n_classes} classes; drop it (it is not tuned on multi-class data)")
    return None


def images_problems(spec: Spec, ds: DatasetSpec, ratio, image_shape, cells: list) -> str | None:
    """Why a cell of this (dataset, ratio) has a learner that trains images only while the
    dataset's rows are not images (None: none). ``cells``: the spec's :func:`grid` entries on ``ds``."""
    if image_shape is not None:
        return None
    for dataset, r, _, model in cells:
        entry = learners.REGISTRY.get(model.name)
        if dataset.key == ds.key and r == ratio and entry is not None and entry.images:
            return (f"model {model.key!r}: trains images only, and {ds.key} has no image shape (an image "
                    f"dataset: images/...); keep it to the image datasets with only: {{datasets: [...]}}")
    return None


def learner_problems(spec: Spec, ds: DatasetSpec, ratio, n_classes: int, cells: list) -> str | None:
    """Why a cell of this (dataset, ratio) has a learner that cannot train its ``n_classes``
    classes, or a loss on them (None: none), as one line. ``cells`` as for :func:`images_problems`."""
    if n_classes <= 2:
        return None
    for dataset, r, key, model in cells:
        if dataset.key != ds.key or r != ratio:
            continue
        what = f"method {key!r}" if model.name == "ensemble" else f"model {model.key!r}"
        if model.name not in learners.MULTICLASS:
            return (f"{what}: trains binary data only, and {ds.key} has {n_classes} classes; keep it to the "
                    f"binary datasets with only: {{datasets: [...]}}")
        for loss in methods_registry.get(spec.method_entry(key).name, tuned=tuned_loss(spec)).losses:
            if (why := learners.cannot_take(model.name, loss, n_classes)) is not None:
                return (f"methods: {key!r}: {what} cannot train with loss {loss!r} on {ds.key}'s {n_classes} "
                        f"classes ({why}); keep them apart with only: {{task: binary}}")
    return None


def dense_problems(spec: Spec, ds: DatasetSpec, dense: bool, cells: list) -> str | None:
    """Why a cell of dataset ``ds`` cannot run, as one line, where canvases meet a learner or method
    that cannot take them (or the fcn meets feature rows); None where every cell can.

    Canvas rows do not line up with their per-location labels (:mod:`datasets.dense`): only the
    ``fcn`` trains them, without a sampler; the ``fcn`` trains nothing else. ``cells`` as for
    :func:`images_problems`."""
    for dataset, _, method, model in cells:
        if dataset.key != ds.key:
            continue
        if dense and model.name != "fcn":
            what = f"method {method!r}" if model.name == "ensemble" else f"model {model.key!r}"
            return (f"{what}: trains feature rows, and {ds.key} is dense canvases; use model fcn there "
                    f"(only: {{datasets: [...]}} keeps the others to the tabular sets)")
        if not dense and model.name == "fcn":
            return f"model {model.key!r}: trains dense canvases only, and {ds.key} is tabular; keep it to dense/... sets with only"
        if dense and method_of(spec, method, model).sampler is not None:
            return f"method {method!r}: resamples rows, which are canvases here ({ds.key}); drop the sampler"
    return None
