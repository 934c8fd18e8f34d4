"""Test metrics for binary classifiers, by name.

Taken from scikit-learn where it has them; the expected calibration error is written here
(scikit-learn has none) and tested against torchmetrics.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import numpy as np
from sklearn import metrics as skm


def expected_calibration_error(y_true: np.ndarray, prob: np.ndarray, *, n_bins: int = 15) -> float:
    r"""Positive-class expected calibration error with ``n_bins`` equal-width bins.

    :math:`\mathrm{ECE} = \sum_b \frac{|B_b|}{n} \left| \bar y_{B_b} - \bar p_{B_b} \right|`,
    bins :math:`[k/n_{bins}, (k+1)/n_{bins})` with p = 1 in a bin of its own (the
    torchmetrics convention). Naeini, Cooper, Hauskrecht, AAAI 2015; Guo et al., ICML 2017.

    Parameters
    ----------
    y_true : array of {0, 1}, shape (n,)
    prob : array of float in [0, 1], shape (n,)
        Predicted probability of the positive class.
    n_bins : int, default 15
    """
    y = np.asarray(y_true, dtype=np.float64)
    p = np.asarray(prob, dtype=np.float64)
    if p.size == 0:
        raise ValueError("prob: expected at least one prediction, got none")
    edges = np.linspace(0.0, 1.0, n_bins + 1)
    idx = np.searchsorted(edges, p, side="right") - 1
    count = np.bincount(idx, minlength=n_bins + 1)
    sum_p = np.bincount(idx, weights=p, minlength=n_bins + 1)
    sum_y = np.bincount(idx, weights=y, minlength=n_bins + 1)
    return float(np.abs(sum_y - sum_p).sum() / p.size)


def _accuracy(y: np.ndarray, p: np.ndarray) -> float:
    return float(skm.accuracy_score(y, (p >= 0.5).astype(np.int64)))


def _log_loss(y: np.ndarray, p: np.ndarray) -> float:
    return float(skm.log_loss(y, p, labels=[0, 1]))


@dataclass(frozen=True)
class Metric:
    """A test metric: ``fn(y_true, prob_positive) -> float`` and whether higher is better."""

    name: str
    fn: Callable[[np.ndarray, np.ndarray], float]
    higher_is_better: bool
    description: str

    def __call__(self, y_true: np.ndarray, prob: np.ndarray) -> float:
        return float(self.fn(y_true, prob))


_REGISTRY: dict[str, Metric] = {
    m.name: m
    for m in (
        Metric("roc_auc", skm.roc_auc_score, True, "area under the ROC curve"),
        Metric("average_precision", skm.average_precision_score, True, "area under the precision-recall curve"),
        Metric("accuracy", _accuracy, True, "accuracy at threshold 0.5"),
        Metric("brier", skm.brier_score_loss, False, "Brier score of the positive class"),
        Metric("log_loss", _log_loss, False, "negative log-likelihood"),
        Metric("ece", expected_calibration_error, False, "expected calibration error, 15 equal-width bins"),
    )
}


def available() -> dict[str, Metric]:
    """Metrics by name."""
    return dict(_REGISTRY)


def get(name: str) -> Metric:
    if name not in _REGISTRY:
        raise ValueError(f"metric: unknown name {name!r}; known: {', '.join(sorted(_REGISTRY))}")
    return _REGISTRY[name]


def evaluate(names: list[str], y_true: np.ndarray, prob: np.ndarray) -> dict[str, float]:
    """Each named metric on one set of predictions."""
    return {name: _REGISTRY[name](y_true, prob) for name in names}
