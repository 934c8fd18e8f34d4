"""A trial's value: the tuning metrics on the validation split, from the trial's logits."""

from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np
import torch

from harness.metrics.per_task import get_metric, n_classes_of

if TYPE_CHECKING:
    from harness.spec.schema import Spec


def probabilities(logits: np.ndarray) -> np.ndarray:
    """σ(z) of (N,) logits, softmax(z) of (N, C) ones."""
    z = torch.from_numpy(np.asarray(logits))
    return (torch.sigmoid(z) if z.dim() == 1 else torch.softmax(z, dim=1)).numpy()


def tuning_values(spec: Spec, y_val: np.ndarray, logits: np.ndarray) -> list[float]:
    """The tuning metrics' validation values of a trial's logits."""
    n_classes, prob = n_classes_of(logits), probabilities(logits)
    return [get_metric(m, n_classes)(y_val, prob) for m in spec.tuning.metrics]
