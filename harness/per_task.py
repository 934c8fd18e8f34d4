"""What a cell does differently on binary and on multi-class data, decided in one place.

The rules (the dataset's class count C decides the task, once it is loaded):

- **Metrics.** A spec names metrics of either registry (:mod:`harness.metrics`,
  :mod:`harness.metrics_multiclass`). On multi-class data a binary name stands for its
  multi-class counterpart (``metrics_multiclass.COUNTERPARTS``: ``average_precision`` →
  ``average_precision_macro``, ``ece`` → ``top_label_ece``, ...; the names both registries hold,
  e.g. ``accuracy``, mean the same). Any other mismatch (``gmean`` on multi-class data, a
  multi-class-only metric on binary data) is a one-line error naming metric and dataset.
  So the default tuning metric ``average_precision`` tunes ``average_precision_macro`` on
  multi-class data, and ``evaluation.metrics`` left out means every metric of the dataset's task.
- **Calibration variants.** ``isotonic`` stands for ``vector_scaling`` on multi-class data
  (``calibration_multiclass.COUNTERPARTS``); ``vector_scaling`` on binary data is an error.
- **Search space.** A parameter that loss_zoo declares binary-only (``Range.binary_only``:
  focal's scalar α) is fixed to None for C > 2 — shown as ``= None`` in the cell's space, never
  tuned where it would be dead; a spec that fixes or narrows it errs on multi-class data.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import replace
from typing import TYPE_CHECKING

import numpy as np

from . import metrics as binary_metrics
from . import metrics_multiclass

if TYPE_CHECKING:

    from .methods import Method
    from .spec import DatasetSpec, Spec

BINARY, MULTICLASS = "binary", "multiclass"
BINARY_VARIANTS = ("raw", "temperature", "closed_form", "isotonic")  # = harness.calibration.VARIANTS
MULTICLASS_VARIANTS = ("raw", "temperature", "closed_form", "vector_scaling")  # = calibration_multiclass.VARIANTS
VARIANT_COUNTERPARTS = {"isotonic": "vector_scaling"}  # binary variant -> the multi-class one in its place
HEADLINE_MULTICLASS = ["average_precision_macro", "balanced_accuracy", "tail_accuracy", "top_label_ece",
                       "classwise_ece", "true_calibration_error"]


def task_of(n_classes: int) -> str:
    """``binary`` for C = 2, else ``multiclass``."""
    return BINARY if n_classes <= 2 else MULTICLASS


def n_classes_of(logits: np.ndarray) -> int:
    """C of a model's logits: 2 for (N,), else the width of (N, C)."""
    return 2 if np.ndim(logits) == 1 else int(np.shape(logits)[1])


def all_metrics() -> dict[str, binary_metrics.Metric]:
    """Every metric name a spec may use, binary meaning first where both registries hold it."""
    binary = binary_metrics.available()
    return {**binary, **{k: m for k, m in metrics_multiclass.available().items() if k not in binary}}


def all_variants() -> tuple[str, ...]:
    return tuple(dict.fromkeys(BINARY_VARIANTS + MULTICLASS_VARIANTS))


def higher_is_better(name: str) -> bool:
    """The direction of a metric name of either registry, or of ``<name>_val_threshold``
    (counterparts share it)."""
    known = all_metrics()
    base = name if name in known else name.removesuffix(binary_metrics.VAL_THRESHOLD_SUFFIX)
    if base not in known:
        raise ValueError(f"metric: unknown name {name!r}; known: {', '.join(sorted(known))}")
    return known[base].higher_is_better


def metric_name(name: str, n_classes: int) -> str | None:
    """The metric that ``name`` stands for on data with ``n_classes``; None where none does."""
    if task_of(n_classes) == BINARY:
        return name if name in binary_metrics.available() else None
    if name in metrics_multiclass.available():
        return name
    return metrics_multiclass.COUNTERPARTS.get(name)


def get_metric(name: str, n_classes: int) -> binary_metrics.Metric:
    resolved = metric_name(name, n_classes)
    if resolved is None:
        raise ValueError(f"metric: {name!r} has no {task_of(n_classes)} form")
    return binary_metrics.get(resolved) if n_classes <= 2 else metrics_multiclass.get(resolved)


def tuning_metrics(spec: Spec, n_classes: int) -> list[str]:
    return [metric_name(m, n_classes) or m for m in spec.tuning.metrics]


def evaluation_metrics(spec: Spec, n_classes: int) -> list[str]:
    """The metric names a cell on this data reports (``evaluation.metrics`` left out: all of its task)."""
    if "metrics" not in spec.evaluation.model_fields_set:
        return list(binary_metrics.DEFAULT if n_classes <= 2 else metrics_multiclass.DEFAULT)
    return list(dict.fromkeys(metric_name(m, n_classes) or m for m in spec.evaluation.metrics))


def variant_name(name: str, n_classes: int) -> str | None:
    if n_classes <= 2:
        return name if name in BINARY_VARIANTS else None
    return VARIANT_COUNTERPARTS.get(name, name)


def variants(spec: Spec, n_classes: int) -> list[str]:
    return list(dict.fromkeys(variant_name(v, n_classes) or v for v in spec.evaluation.calibration))


def binary_only_params() -> set[str]:
    """Tuned parameters that loss_zoo declares meaningful for binary problems only."""
    import loss_zoo  # torch: not on import (reading results needs no torch)

    return {name for entry in loss_zoo.available().values() for name, r in entry.space.items() if r.binary_only}


def method_for(method: Method, n_classes: int) -> Method:
    """``method`` with its binary-only parameters fixed to None on multi-class data."""
    from .space import Fixed

    if n_classes <= 2:
        return method
    dead = binary_only_params() & set(method.full_space)
    return replace(method, overrides={**method.overrides, **{k: Fixed(None) for k in dead}}) if dead else method


def problems(spec: Spec, ds: DatasetSpec, n_classes: int) -> str | None:
    """The first thing of ``spec`` that does not apply to dataset ``ds`` with ``n_classes``, as one line."""
    task = task_of(n_classes)
    if task == BINARY and (ds.profile is not None or ds.minority_fraction is not None):
        given = "profile" if ds.profile is not None else "minority_fraction"
        return f"{ds.key}: {given}: expected none on binary data (profiles are multi-class), got {getattr(ds, given)!r}"
    listed = spec.evaluation.metrics if "metrics" in spec.evaluation.model_fields_set else []
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


def monitor(name: str) -> Callable[[np.ndarray, np.ndarray], float]:
    """The per-epoch validation score of tuning metric ``name`` on either task (the probabilities'
    shape says which): the binary metric's own monitor, or the multi-class counterpart (NaN for
    non-finite input)."""
    def score(y: np.ndarray, prob: np.ndarray) -> float:
        if np.ndim(prob) == 1:
            return get_metric(name, 2).monitor(y, prob)
        p = np.asarray(prob, dtype=np.float64)
        if not np.all(np.isfinite(p)):
            return float("nan")
        return get_metric(name, p.shape[1]).monitor(y, p / p.sum(axis=1, keepdims=True))

    return score


def probabilities(logits: np.ndarray) -> np.ndarray:
    """σ(z) of (N,) logits, softmax(z) of (N, C) ones."""
    import torch

    z = torch.from_numpy(np.asarray(logits))
    return (torch.sigmoid(z) if z.dim() == 1 else torch.softmax(z, dim=1)).numpy()


def tuning_values(spec: Spec, y_val: np.ndarray, logits: np.ndarray) -> list[float]:
    """The tuning metrics' validation values of a trial's logits."""
    n_classes, prob = n_classes_of(logits), probabilities(logits)
    return [get_metric(m, n_classes)(y_val, prob) for m in spec.tuning.metrics]
