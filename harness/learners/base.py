"""The learner interface: what the pipeline asks of a model family.

A learner fits models on (train, validation) and predicts logits. The pipeline hands it
:class:`FitTask` objects — the data, the loss (a loss_zoo name and its parameters, or none),
the learner's own hyper-parameters, a seed and a per-step callback — and gets back one
:class:`Fitted` per task. Several tasks come at once so that a learner can train them
together (the torch learner stacks models of one shape); a learner without epochs reports
per boosting round, one without a loss ignores it.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, Protocol

import numpy as np


@dataclass(frozen=True)
class FitTask:
    """One model to fit.

    Parameters
    ----------
    X_train, y_train, X_val, y_val : arrays, (n, d) float and (n,) int labels in 0..C-1
        Tasks whose arrays are the same objects share them (a learner may keep one copy).
    loss : str or None
        A loss_zoo name, None for a learner that takes no loss.
    loss_params : mapping
        The loss's own parameters (class weights, γ, ...), as ``loss_zoo.get`` takes them.
    params : mapping
        The configuration: the learner's hyper-parameters (``lr``, ``weight_decay``, ...)
        among the method's; a learner reads the ones it knows.
    seed : int
        Every random choice of the fit (initialisation, batch order) derives from it.
    on_step : callable(step, validation score) -> bool, optional
        Called after each epoch or round; True stops the fit as "pruned".
    input_shape : (channels, height, width), optional
        Rows that are flattened images: the shape of one image (a convolutional learner reads it;
        the others see rows of d = channels · height · width features). None: tabular rows.
    """

    X_train: np.ndarray
    y_train: np.ndarray
    X_val: np.ndarray
    y_val: np.ndarray
    loss: str | None
    loss_params: Mapping[str, Any]
    params: Mapping[str, Any]
    seed: int
    on_step: Callable[[int, float], bool] | None = None
    input_shape: tuple[int, ...] | None = None


@dataclass
class FitReport:
    """How one fit went: the validation score of the kept step, and how it ended.

    ``stopped_by`` is one of "max_epochs" (LightGBM: "max_rounds"), "early_stopping", "pruned", "diverged";
    ``curve`` holds the validation score of every step; ``history`` per-step curves a learner
    tracks on request (the torch learners: ``train_nll``, the mean negative log-likelihood of the
    epoch's training batches, and ``val_nll`` on the validation split after the epoch), empty
    when it tracks none.
    """

    best_score: float
    best_epoch: int
    epochs_run: int
    stopped_by: str
    curve: list[float] = field(default_factory=list)
    reason: str = ""
    history: dict[str, list[float]] = field(default_factory=dict)
    probes: dict[str, float] = field(default_factory=dict)  # mechanism measurements (dense: easy-negative shares)


@dataclass
class Fitted:
    """A fitted model: its report, and logits (float64, (n,) binary or (n, C)) for new rows."""

    report: FitReport
    predict_logits: Callable[[np.ndarray], np.ndarray]


class Learner(Protocol):
    """A model family behind one interface (see the module docstring)."""

    name: str

    def fit(self, tasks: Sequence[FitTask]) -> list[Fitted]:
        """Fit every task (together where the learner can); one :class:`Fitted` per task, in order."""
        ...
