"""From a method's configuration to a learner's fit task.

The method decides the loss and the sampler; resampling touches the training split only
(validation and test stay untouched), and the loss's parameters follow the class counts of
what is actually trained on.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import numpy as np

import datasets
from harness.learners import FitTask
from harness.methods import samplers as samplers_registry
from harness.methods.registry import Method
from harness.seeding import derive_seed


@dataclass(frozen=True)
class Job:
    """A fit task, and the class counts of its training data (after any resampling)."""

    task: FitTask
    counts: list[int]


def make_job(
    method: Method,
    params: dict[str, Any],
    data: datasets.Prepared,
    seed: int,
    on_step: Callable[[int, float], bool] | None = None,
) -> Job:
    """The fit task of ``params`` (a configuration of ``method``) on ``data``, seeded by ``seed``."""
    X_train, y_train = data.train.X, data.train.y
    loss, sampler = method.resolve(params)
    if sampler is not None:
        X_train, y_train = samplers_registry.resample(sampler, params, X_train, y_train,
                                                     seed=derive_seed(seed, "sampler"))
    counts = np.bincount(y_train, minlength=data.n_classes).tolist()
    task = FitTask(X_train, y_train, data.validation.X, data.validation.y, loss,
                   method.loss_params(params, counts), params, seed, on_step, data.image_shape)
    return Job(task, counts)
