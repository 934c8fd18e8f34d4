"""Which metric or calibration variant a name means on binary and on multi-class data.

The rules (the dataset's class count C decides the task, once it is loaded):

- **Metrics.** A spec names metrics of either registry (:mod:`harness.metrics.binary`,
  :mod:`harness.metrics.multiclass`). On multi-class data a binary name stands for its
  multi-class counterpart (``metrics_multiclass.COUNTERPARTS``: ``average_precision`` →
  ``average_precision_macro``, ``ece`` → ``top_label_ece``, ...; the names both registries hold,
  e.g. ``accuracy``, mean the same). Any other mismatch (``gmean`` on multi-class data, a
  multi-class-only metric on binary data) is a one-line error naming metric and dataset.
  So the default tuning metric ``average_precision`` tunes ``average_precision_macro`` on
  multi-class data, and ``evaluation.metrics`` left out means every metric of the dataset's task.
- **Calibration variants.** ``isotonic`` stands for ``vector_scaling`` on multi-class data
  (``calibration_multiclass.COUNTERPARTS``); ``vector_scaling`` on binary data is an error.

The search space per task (a binary-only parameter fixed to None for C > 2) is decided when a
cell is planned: :func:`harness.plan.resolve.method_for`; what a spec may ask of a dataset's
task: :func:`harness.plan.checks.problems`.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING

import numpy as np

from harness.metrics import binary as binary_metrics
from harness.metrics import dense as metrics_dense
from harness.metrics import multiclass as metrics_multiclass
from harness.vocabulary import BINARY, BINARY_VARIANTS, VARIANT_COUNTERPARTS, task_of

if TYPE_CHECKING:
    from harness.spec.schema import Spec


def n_classes_of(logits: np.ndarray) -> int:
    """C of a model's logits: 2 for (N,), else the width of (N, C)."""
    return 2 if np.ndim(logits) == 1 else int(np.shape(logits)[1])


def all_metrics() -> dict[str, binary_metrics.Metric]:
    """Every metric name a spec may use, binary meaning first where both registries hold it."""
    binary = binary_metrics.available()
    return {**binary, **{k: m for k, m in metrics_multiclass.available().items() if k not in binary}}


def higher_is_better(name: str) -> bool:
    """The direction of a metric name of either registry, or of ``<name>_val_threshold``
    (counterparts share it)."""
    known = {**all_metrics(), **metrics_dense.available()}  # the dense task's records too
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


def listed_metrics(spec: Spec) -> list[str] | None:
    """``evaluation.metrics`` as the spec narrows them; None where it does not: left out, or the
    whole binary default written out (as a run's ``spec.json`` writes every setting), which
    means every metric of each dataset's task as leaving it out does."""
    listed = spec.evaluation.metrics
    if "metrics" not in spec.evaluation.model_fields_set or listed == list(binary_metrics.DEFAULT):
        return None
    return listed


def evaluation_metrics(spec: Spec, n_classes: int) -> list[str]:
    """The metric names a cell on this data reports (``evaluation.metrics`` left out: all of its task)."""
    if (listed := listed_metrics(spec)) is None:
        return list(binary_metrics.DEFAULT if n_classes <= 2 else metrics_multiclass.DEFAULT)
    return list(dict.fromkeys(metric_name(m, n_classes) or m for m in listed))


def variant_name(name: str, n_classes: int) -> str | None:
    if n_classes <= 2:
        return name if name in BINARY_VARIANTS else None
    return VARIANT_COUNTERPARTS.get(name, name)


def variants(spec: Spec, n_classes: int) -> list[str]:
    return list(dict.fromkeys(variant_name(v, n_classes) or v for v in spec.evaluation.calibration))


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
