"""What a cell produced, as plain dataclasses: no torch, no Optuna.

Tracking, the results store, the figures and the report read these records; reading results
therefore never imports the training stack.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

import numpy as np

if TYPE_CHECKING:  # the cell's spec imports the loss zoo (torch): not needed to read results
    from harness.plan.cells import Cell


def now_ms() -> int:
    """Wall-clock time in milliseconds (MLflow's unit)."""
    return time.time_ns() // 1_000_000


@dataclass
class TrialRecord:
    """One Optuna trial as stored: ``number`` is its slot in the budget (stale trials of a
    killed run are not counted), ``values`` one per tuning metric."""

    number: int
    params: dict[str, Any]
    values: list[float] | None
    state: str
    stopped_by: str
    curve: list[float]
    start_ms: int
    end_ms: int
    reason: str = ""
    repetition: int = 0

    @property
    def value(self) -> float | None:
        return self.values[0] if self.values else None


@dataclass
class RepetitionRecord:
    """One evaluation repetition: test metrics per calibration variant, and the predictions."""

    repetition: int
    seed: int
    params: dict[str, Any]  # the evaluated configuration
    loss: str
    sampler: str | None
    metrics: dict[str, dict[str, float]]  # calibration variant -> metric -> value
    thresholds: dict[str, float]  # calibration variant -> validation-chosen threshold
    fingerprint: str
    epochs: int
    start_ms: int
    end_ms: int
    y_true: np.ndarray = field(repr=False)
    logits: np.ndarray = field(repr=False)
    probs: dict[str, np.ndarray] = field(repr=False)  # calibration variant -> test probabilities
    posterior: np.ndarray | None = field(default=None, repr=False)
    repeat: int = 0  # holdout: the repetition; cv: the repeat of the K-fold
    fold: int = 0  # cv: the test fold (holdout: 0)
    n_train: int = 0  # rows the fit learnt from (train + validation)
    # per-epoch curves of learners that track them (train_nll, val_nll), and train_nll_final: the
    # NLL of the kept weights on the rows trained on; empty for the others
    history: dict[str, Any] = field(default_factory=dict, repr=False)

    @property
    def n_test(self) -> int:
        return int(len(self.y_true))

    @property
    def n_test_minority(self) -> int:
        """Test rows of the smallest class (binary: the positives)."""
        counts = np.bincount(self.y_true, minlength=2 if self.logits.ndim == 1 else self.logits.shape[1])
        return int(counts.min())

    @property
    def constant(self) -> bool:
        """A constant predictor: every test row got the same scores (AUC 0.5, AP the prevalence)."""
        logits = np.asarray(self.logits, dtype=np.float64)
        return bool(logits.size and np.all(np.ptp(logits, axis=0) <= 1e-9 * (1 + np.abs(logits).max())))


@dataclass
class CellResult:
    """A cell's outcome: its trials, its evaluated repetitions, or why it failed."""

    cell: Cell
    status: str  # "ok" or "failed"
    reason: str
    best_params: dict[str, Any]
    best_value: float | None
    trials: list[TrialRecord]
    repetitions: list[RepetitionRecord]
    search_space: dict[str, str]
    start_ms: int
    end_ms: int
    importances: dict[str, float] = field(default_factory=dict)  # of the (first) study's parameters
    optuna_seconds: float = 0.0  # time in Optuna itself (sampling, pruning, storage), not training
    flatness: dict[str, float] = field(default_factory=dict)  # top-5 gap and std of the validation scores
