"""Test metrics for binary classifiers, by name, with their properties declared.

Taken from scikit-learn and imbalanced-learn where they exist; the calibration errors
(ECE, adaptive ECE, MCE) and the gap to a known posterior are written here and tested
against torchmetrics and direct computations.

Kinds:
- ``ranking``: from scores alone (``roc_auc``, ``average_precision``);
- ``threshold``: from labels predicted at a threshold; evaluated at 0.5 under the plain name
  and at the validation-chosen threshold (maximising F1) as ``<name>_val_threshold``;
- ``probability``: from probabilities (``brier``, ``log_loss``, ``ece``, ...);
- ``truth``: against the true posterior, where the data-generating process is known.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import numpy as np
from imblearn.metrics import geometric_mean_score
from scipy.stats import rankdata
from sklearn import metrics as skm

N_BINS = 15
VAL_THRESHOLD_SUFFIX = "_val_threshold"


def _check(y_true: np.ndarray, prob: np.ndarray, name: str) -> tuple[np.ndarray, np.ndarray]:
    y = np.asarray(y_true)
    p = np.asarray(prob, dtype=np.float64)
    if p.size == 0:
        raise ValueError(f"{name}: expected at least one prediction, got none")
    if y.shape != p.shape:
        raise ValueError(f"{name}: expected y_true and prob of one shape, got {y.shape} and {p.shape}")
    if not np.all(np.isfinite(p)) or p.min() < 0 or p.max() > 1:
        raise ValueError(f"{name}: expected probabilities in [0, 1], got values outside or not finite")
    return y, p


def _binned_gaps(y: np.ndarray, p: np.ndarray, idx: np.ndarray, n_slots: int):
    count = np.bincount(idx, minlength=n_slots)
    sum_p = np.bincount(idx, weights=p, minlength=n_slots)
    sum_y = np.bincount(idx, weights=y.astype(np.float64), minlength=n_slots)
    return count, np.abs(sum_y - sum_p)


def expected_calibration_error(y_true: np.ndarray, prob: np.ndarray, *, n_bins: int = N_BINS) -> float:
    r"""Positive-class expected calibration error with ``n_bins`` equal-width bins.

    :math:`\mathrm{ECE} = \sum_b \frac{|B_b|}{n} \left| \bar y_{B_b} - \bar p_{B_b} \right|`,
    bins :math:`[k/n_{bins}, (k+1)/n_{bins})` with p = 1 in a bin of its own (the torchmetrics
    convention). Naeini, Cooper, Hauskrecht, AAAI 2015; Guo, Pleiss, Sun, Weinberger, ICML 2017.

    Parameters
    ----------
    y_true : array of {0, 1}, shape (n,)
    prob : array of float in [0, 1], shape (n,)
        Predicted probability of the positive class.
    n_bins : int, default 15
    """
    y, p = _check(y_true, prob, "ece")
    idx = np.searchsorted(np.linspace(0.0, 1.0, n_bins + 1), p, side="right") - 1
    _, gaps = _binned_gaps(y, p, idx, n_bins + 1)
    return float(gaps.sum() / p.size)


def maximum_calibration_error(y_true: np.ndarray, prob: np.ndarray, *, n_bins: int = N_BINS) -> float:
    r"""Largest gap :math:`|\bar y_B - \bar p_B|` over the non-empty equal-width bins (as ECE's)."""
    y, p = _check(y_true, prob, "mce")
    idx = np.searchsorted(np.linspace(0.0, 1.0, n_bins + 1), p, side="right") - 1
    count, gaps = _binned_gaps(y, p, idx, n_bins + 1)
    nonempty = count > 0
    return float((gaps[nonempty] / count[nonempty]).max())


def adaptive_calibration_error(y_true: np.ndarray, prob: np.ndarray, *, n_bins: int = N_BINS) -> float:
    r"""ECE with ``n_bins`` equal-mass bins: the predictions sorted and cut into groups whose
    sizes differ by at most one (Nixon, Dusenberry, Zhang, Jerfel, Tran, CVPR-W 2019)."""
    y, p = _check(y_true, prob, "adaptive_ece")
    order = np.argsort(p, kind="stable")
    idx = np.empty(p.size, dtype=np.int64)
    for b, members in enumerate(np.array_split(order, min(n_bins, p.size))):
        idx[members] = b
    _, gaps = _binned_gaps(y, p, idx, n_bins)
    return float(gaps.sum() / p.size)


def true_calibration_error(posterior: np.ndarray, prob: np.ndarray) -> float:
    """Mean absolute gap between the predicted and the true posterior P(y = 1 | x)."""
    eta, p = _check(np.asarray(posterior, dtype=np.float64), prob, "true_calibration_error")
    return float(np.abs(p - eta).mean())


def _two_classes(y: np.ndarray, name: str) -> None:
    if np.unique(y).size < 2:
        raise ValueError(f"{name}: undefined when y_true holds a single class ({int(y[0])})")


def _ranking(fn, name):
    """A ranking metric takes any scores (probabilities or logits), finite, one per label."""

    def metric(y, scores):
        y, s = np.asarray(y), np.asarray(scores, dtype=np.float64)
        if s.size == 0 or y.shape != s.shape or not np.all(np.isfinite(s)):
            raise ValueError(f"{name}: expected one finite score per label, got shapes {y.shape} and {s.shape}")
        _two_classes(y, name)
        return fn(y, s)

    return metric


def _at_threshold(fn, name):
    def metric(y, p, threshold=0.5):
        y, p = _check(y, p, name)
        return fn(y, (p >= threshold).astype(np.int64))

    return metric


def _log_loss(y, p):
    y, p = _check(y, p, "log_loss")
    eps = np.finfo(np.float64).eps
    return skm.log_loss(y, np.clip(p, eps, 1 - eps), labels=[0, 1])


def _brier(y, p):
    y, p = _check(y, p, "brier")
    return skm.brier_score_loss(y, p, labels=[0, 1])


@dataclass(frozen=True)
class Metric:
    """A test metric and its declared properties.

    ``fn(y_true, prob)``; threshold metrics take ``threshold=`` too; truth metrics take
    ``(posterior, prob)``. ``task`` says which problems it scores: ``binary`` (prob (N,) of the
    positive class, this module) or ``multiclass`` (prob (N, C), :mod:`harness.metrics.multiclass`).
    """

    name: str
    kind: str  # ranking | threshold | probability | truth (multiclass also: label | group)
    higher_is_better: bool
    fn: Callable[..., float]
    description: str
    fast: Callable[[np.ndarray, np.ndarray], float] | None = None  # same value, without input validation
    task: str = "binary"  # binary | multiclass

    def __call__(self, y_true: np.ndarray, prob: np.ndarray, **kwargs) -> float:
        return float(self.fn(y_true, prob, **kwargs))

    def monitor(self, y_true: np.ndarray, prob: np.ndarray) -> float:
        """The metric as training watches it every epoch: the fast form where there is one
        (scikit-learn's input validation costs more than the metric on small splits), else
        the metric; NaN for non-finite input."""
        if self.fast is None:
            return self(y_true, prob)
        prob = np.asarray(prob, dtype=np.float64)
        return float(self.fast(np.asarray(y_true), prob)) if np.all(np.isfinite(prob)) else float("nan")


def _fast_average_precision(y: np.ndarray, s: np.ndarray) -> float:
    """scikit-learn's average precision (step-wise, tied scores as one threshold)."""
    order = np.argsort(-s, kind="mergesort")
    s, y = s[order], y[order]
    last = np.r_[np.flatnonzero(np.diff(s)), s.size - 1]  # last index of each distinct score
    tps = np.cumsum(y, dtype=np.float64)[last]
    if tps[-1] == 0:
        return float("nan")
    precision = tps / (last + 1)
    recall = tps / tps[-1]
    return float(np.sum(np.diff(recall, prepend=0.0) * precision))


def _fast_roc_auc(y: np.ndarray, s: np.ndarray) -> float:
    """ROC AUC as the Mann-Whitney statistic with mid-ranks for ties (= scikit-learn's)."""
    positive = y.astype(bool)
    n1 = int(positive.sum())
    n0 = y.size - n1
    if n1 == 0 or n0 == 0:
        return float("nan")
    return float((rankdata(s)[positive].sum() - n1 * (n1 + 1) / 2) / (n1 * n0))


_REGISTRY: dict[str, Metric] = {
    m.name: m
    for m in (
        Metric("roc_auc", "ranking", True, _ranking(skm.roc_auc_score, "roc_auc"), "area under the ROC curve",
               _fast_roc_auc),
        Metric("average_precision", "ranking", True, _ranking(skm.average_precision_score, "average_precision"),
               "area under the precision-recall curve (step-wise)", _fast_average_precision),
        Metric("accuracy", "threshold", True, _at_threshold(skm.accuracy_score, "accuracy"), "accuracy"),
        Metric("balanced_accuracy", "threshold", True,
               _at_threshold(skm.balanced_accuracy_score, "balanced_accuracy"), "mean recall of both classes"),
        Metric("f1", "threshold", True,
               _at_threshold(lambda y, yhat: skm.f1_score(y, yhat, zero_division=0.0), "f1"),
               "F1 of the positive class (0 when nothing is predicted positive)"),
        Metric("mcc", "threshold", True, _at_threshold(skm.matthews_corrcoef, "mcc"), "Matthews correlation"),
        Metric("gmean", "threshold", True,
               _at_threshold(lambda y, yhat: geometric_mean_score(y, yhat, labels=[0, 1]), "gmean"),
               "geometric mean of sensitivity and specificity (imbalanced-learn)"),
        Metric("brier", "probability", False, _brier, "Brier score of the positive class"),
        Metric("log_loss", "probability", False, _log_loss, "negative log-likelihood"),
        Metric("ece", "probability", False, expected_calibration_error, "expected calibration error, 15 equal-width bins"),
        Metric("adaptive_ece", "probability", False, adaptive_calibration_error, "ECE with 15 equal-mass bins"),
        Metric("mce", "probability", False, maximum_calibration_error, "maximum calibration error, 15 equal-width bins"),
        Metric("true_calibration_error", "truth", False, true_calibration_error,
               "mean |predicted - true posterior| (known-posterior data only)"),
    )
}

DEFAULT = list(_REGISTRY)


def available() -> dict[str, Metric]:
    """Metrics by name."""
    return dict(_REGISTRY)


def get(name: str) -> Metric:
    """The metric ``name``; also accepts ``<threshold metric>_val_threshold``."""
    base = name.removesuffix(VAL_THRESHOLD_SUFFIX)
    if base not in _REGISTRY or (base != name and _REGISTRY[base].kind != "threshold"):
        raise ValueError(f"metric: unknown name {name!r}; known: {', '.join(sorted(_REGISTRY))}")
    return _REGISTRY[base]


def best_f1_threshold(y_true: np.ndarray, prob: np.ndarray) -> float:
    """The threshold maximising F1 on (validation) predictions; 0.5 when F1 is 0 everywhere."""
    y, p = _check(y_true, prob, "threshold")
    if y.sum() == 0:
        return 0.5
    precision, recall, thresholds = skm.precision_recall_curve(y, p)
    with np.errstate(invalid="ignore", divide="ignore"):
        f1 = np.where(precision + recall > 0, 2 * precision * recall / (precision + recall), 0.0)[:-1]
    return float(thresholds[int(np.argmax(f1))]) if f1.size and f1.max() > 0 else 0.5


def evaluate(
    names: list[str],
    y_true: np.ndarray,
    prob: np.ndarray,
    *,
    val_threshold: float | None = None,
    posterior: np.ndarray | None = None,
    scores: np.ndarray | None = None,
) -> dict[str, float]:
    """Each named metric on one set of test predictions.

    Threshold metrics are computed at 0.5 and, when ``val_threshold`` is given, also as
    ``<name>_val_threshold``; truth metrics only when ``posterior`` is given; ranking metrics
    on ``scores`` when given (any strictly monotone transform of ``prob``, e.g. logits).
    """
    out: dict[str, float] = {}
    for name in names:
        metric = _REGISTRY[name]
        if metric.kind == "ranking":
            out[name] = metric(y_true, prob if scores is None else scores)
        elif metric.kind == "truth":
            if posterior is not None:
                out[name] = metric(posterior, prob)
        elif metric.kind == "threshold":
            out[name] = metric(y_true, prob)
            if val_threshold is not None:
                out[name + VAL_THRESHOLD_SUFFIX] = metric(y_true, prob, threshold=val_threshold)
        else:
            out[name] = metric(y_true, prob)
    return out
