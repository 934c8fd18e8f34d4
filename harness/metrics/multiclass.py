"""Test metrics for multi-class classifiers, by name, declared as the binary ones are.

Every metric takes ``(y_true (N,) in [0, C), prob (N, C))`` with rows of ``prob`` summing to 1.
The binary registry (:mod:`harness.metrics.binary`) keeps its names and meanings; here the names say
the multi-class form (``roc_auc_macro``, ``top_label_ece``, ...), and the few names shared with
the binary registry (``accuracy``, ``balanced_accuracy``, ``mcc``, ``log_loss``,
``true_calibration_error``) mean the same thing: for C = 2 they equal the binary metric of the
positive-class probability ``prob[:, 1]`` (labels by argmax, i.e. threshold 0.5 except at an
exact tie, which argmax gives to class 0).

Kinds:
- ``ranking``: one-vs-rest from each class's probability (``roc_auc_macro``, ...), averaged over
  the classes present in ``y_true`` (a class absent from a split has no one-vs-rest curve);
- ``label``: from the argmax labels (``accuracy``, ``f1_macro``, ...);
- ``probability``: from the probabilities (``brier_multiclass``, ``top_label_ece``, ...);
- ``group``: accuracy over the head / medium / tail classes, which needs the training counts;
- ``truth``: against the true posterior (N, C), where the data-generating process is known.

Taken from scikit-learn where it has them; the calibration errors reuse the binary module's
binning (torchmetrics' convention) and are tested against torchmetrics and direct computations.
"""

from __future__ import annotations

import numpy as np
from sklearn import metrics as skm

from harness.metrics.binary import (
    N_BINS,
    Metric,
    _fast_average_precision,
    _fast_roc_auc,
    adaptive_calibration_error,
    expected_calibration_error,
    maximum_calibration_error,
)

ROW_SUM_TOL = 1e-6
GROUPS = ("head", "medium", "tail")


def _check(y_true: np.ndarray, prob: np.ndarray, name: str) -> tuple[np.ndarray, np.ndarray]:
    y = np.asarray(y_true)
    p = np.asarray(prob, dtype=np.float64)
    if p.ndim != 2 or p.shape[1] < 2 or p.shape[0] == 0:
        raise ValueError(f"{name}: expected prob of shape (N, C) with N >= 1 and C >= 2, got {p.shape}")
    if y.shape != (p.shape[0],):
        raise ValueError(f"{name}: expected y_true of shape ({p.shape[0]},), got {y.shape}")
    if not np.issubdtype(y.dtype, np.integer) or y.min() < 0 or y.max() >= p.shape[1]:
        raise ValueError(f"{name}: expected integer labels in [0, {p.shape[1]}), got {y.dtype} in [{y.min()}, {y.max()}]")
    if not np.all(np.isfinite(p)) or p.min() < 0 or p.max() > 1:
        raise ValueError(f"{name}: expected probabilities in [0, 1], got values outside or not finite")
    worst = float(np.abs(p.sum(axis=1) - 1.0).max())
    if worst > ROW_SUM_TOL:
        raise ValueError(f"{name}: expected rows of prob summing to 1, got a row off by {worst:.3g}")
    return y, p


def _top_label(y: np.ndarray, p: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """(correct (N,) in {0, 1}, confidence (N,)) of the argmax prediction."""
    return (p.argmax(axis=1) == y).astype(np.int64), p.max(axis=1)


def _one_vs_rest(fn, name: str, weighted: bool = False):
    """Mean of ``fn(y == k, prob[:, k])`` over the classes k present in ``y_true`` (weighted by
    their prevalence when ``weighted``; scikit-learn's ``average="macro"`` / ``"weighted"`` when
    every class is present)."""

    def metric(y_true, prob):
        y, p = _check(y_true, prob, name)
        present = np.unique(y)
        if present.size < 2:
            raise ValueError(f"{name}: undefined when y_true holds a single class ({int(present[0])})")
        values = np.array([fn((y == k).astype(np.int64), p[:, k]) for k in present])
        weights = np.bincount(y)[present] if weighted else None
        return float(np.average(values, weights=weights))

    return metric


def _fast_one_vs_rest(fast, weighted: bool = False):
    """:func:`_one_vs_rest` of a binary metric's fast form, without input validation (the
    per-epoch monitor); NaN when ``y`` holds a single class."""

    def metric(y, p):
        present = np.unique(y)
        if present.size < 2:
            return float("nan")
        values = [fast((y == k).astype(np.int64), p[:, k]) for k in present]
        return float(np.average(values, weights=np.bincount(y)[present] if weighted else None))

    return metric


def _labels(fn, name: str):
    def metric(y_true, prob):
        y, p = _check(y_true, prob, name)
        return float(fn(y, p.argmax(axis=1)))

    return metric


def _top_label_metric(fn, name: str):
    def metric(y_true, prob, *, n_bins: int = N_BINS):
        correct, confidence = _top_label(*_check(y_true, prob, name))
        return fn(correct, confidence, n_bins=n_bins)

    return metric


top_label_ece = _top_label_metric(expected_calibration_error, "top_label_ece")
top_label_ece.__doc__ = r"""Top-label ECE: the binary ECE of the argmax's correctness against its confidence
max_k p_k, 15 equal-width bins (Guo, Pleiss, Sun, Weinberger, ICML 2017); equals torchmetrics'
``multiclass_calibration_error(norm="l1")``."""
top_label_mce = _top_label_metric(maximum_calibration_error, "top_label_mce")
top_label_mce.__doc__ = """Top-label MCE: the largest bin gap (torchmetrics' ``norm="max"``)."""
top_label_adaptive_ece = _top_label_metric(adaptive_calibration_error, "top_label_adaptive_ece")
top_label_adaptive_ece.__doc__ = """Top-label ECE with 15 equal-mass bins (Nixon et al., CVPR-W 2019)."""


def classwise_ece(y_true: np.ndarray, prob: np.ndarray, *, n_bins: int = N_BINS) -> float:
    r"""Classwise ECE: :math:`\frac1C \sum_k \mathrm{ECE}(\mathbb 1[y = k], p_k)`, each class's
    probability binned (15 equal-width bins) against its one-vs-rest labels, every class counted
    (Kull, Perello-Nieto, Kängsepp, Silva Filho, Song, Flach, NeurIPS 2019)."""
    y, p = _check(y_true, prob, "classwise_ece")
    return float(np.mean([expected_calibration_error((y == k).astype(np.int64), p[:, k], n_bins=n_bins)
                          for k in range(p.shape[1])]))


def brier_multiclass(y_true: np.ndarray, prob: np.ndarray) -> float:
    r"""Multi-class Brier score :math:`\frac1N \sum_i \lVert p_i - e_{y_i} \rVert_2^2` in [0, 2]
    (Brier 1950); for C = 2 twice the binary (positive-class) Brier score."""
    y, p = _check(y_true, prob, "brier_multiclass")
    gap = p.copy()
    gap[np.arange(y.size), y] -= 1.0
    return float(np.mean(np.sum(gap**2, axis=1)))


def log_loss(y_true: np.ndarray, prob: np.ndarray) -> float:
    """Mean negative log-likelihood of the true class, probabilities clipped to [eps, 1]."""
    y, p = _check(y_true, prob, "log_loss")
    eps = np.finfo(np.float64).eps
    return float(-np.mean(np.log(np.clip(p[np.arange(y.size), y], eps, 1.0))))


def true_calibration_error(posterior: np.ndarray, prob: np.ndarray) -> float:
    r"""Mean total-variation distance :math:`\frac1N \sum_i \tfrac12 \lVert p_i - \eta_i \rVert_1` to the
    true posterior η (N, C); for C = 2 the binary ``true_calibration_error`` |p_1 - η_1|."""
    eta = np.asarray(posterior, dtype=np.float64)
    _, p = _check(np.zeros(len(eta), dtype=np.int64), prob, "true_calibration_error")
    if eta.shape != p.shape:
        raise ValueError(f"true_calibration_error: expected posterior of shape {p.shape}, got {eta.shape}")
    return float(0.5 * np.abs(p - eta).sum(axis=1).mean())


def class_groups(train_counts) -> dict[str, np.ndarray]:
    """Classes in terciles by training count: ``head`` (largest), ``medium``, ``tail``.

    Classes are ranked by count (descending; ties by class index) and cut into three groups whose
    sizes differ by at most one, the earlier groups taking the remainder (C = 4: 2, 1, 1); with
    C < 3 the last groups are empty.
    """
    counts = np.asarray(train_counts)
    order = np.lexsort((np.arange(counts.size), -counts))
    return dict(zip(GROUPS, np.array_split(order, 3)))


def _group_accuracy(group: str):
    def metric(y_true, prob, *, train_counts):
        """Mean recall of the group's classes present in the split (NaN when none is); on a
        balanced test set this is the plain accuracy of the group's samples that long-tail papers
        report (Liu et al., CVPR 2019), and here the group's largest class cannot dominate it."""
        y, p = _check(y_true, prob, f"{group}_accuracy")
        if len(train_counts) != p.shape[1]:
            raise ValueError(f"{group}_accuracy: expected {p.shape[1]} training counts, got {len(train_counts)}")
        yhat = p.argmax(axis=1)
        recalls = [np.mean(yhat[y == k] == k) for k in class_groups(train_counts)[group] if np.any(y == k)]
        return float(np.mean(recalls)) if recalls else float("nan")

    return metric


_M = "multiclass"
_REGISTRY: dict[str, Metric] = {
    m.name: m
    for m in (
        Metric("roc_auc_macro", "ranking", True, _one_vs_rest(skm.roc_auc_score, "roc_auc_macro"),
               "one-vs-rest ROC AUC, mean over classes", _fast_one_vs_rest(_fast_roc_auc), task=_M),
        Metric("roc_auc_weighted", "ranking", True, _one_vs_rest(skm.roc_auc_score, "roc_auc_weighted", weighted=True),
               "one-vs-rest ROC AUC, weighted by class prevalence", _fast_one_vs_rest(_fast_roc_auc, True), task=_M),
        Metric("average_precision_macro", "ranking", True, _one_vs_rest(skm.average_precision_score, "average_precision_macro"),
               "one-vs-rest average precision, mean over classes", _fast_one_vs_rest(_fast_average_precision), task=_M),
        Metric("accuracy", "label", True, _labels(skm.accuracy_score, "accuracy"), "accuracy of the argmax", task=_M),
        Metric("balanced_accuracy", "label", True, _labels(skm.balanced_accuracy_score, "balanced_accuracy"),
               "mean recall over the classes present in y_true", task=_M),
        Metric("f1_macro", "label", True,
               _labels(lambda y, yhat: skm.f1_score(y, yhat, average="macro", zero_division=0.0), "f1_macro"),
               "F1 per class, mean over the classes in y_true or predicted", task=_M),
        Metric("mcc", "label", True, _labels(skm.matthews_corrcoef, "mcc"), "Matthews correlation (Gorodkin's R_K)",
               task=_M),
        Metric("brier_multiclass", "probability", False, brier_multiclass, "squared L2 distance to the one-hot label",
               task=_M),
        Metric("log_loss", "probability", False, log_loss, "negative log-likelihood", task=_M),
        Metric("top_label_ece", "probability", False, top_label_ece, "top-label ECE, 15 equal-width bins", task=_M),
        Metric("top_label_adaptive_ece", "probability", False, top_label_adaptive_ece,
               "top-label ECE, 15 equal-mass bins", task=_M),
        Metric("top_label_mce", "probability", False, top_label_mce, "top-label maximum calibration error", task=_M),
        Metric("classwise_ece", "probability", False, classwise_ece, "mean over classes of each class's ECE", task=_M),
        *(Metric(f"{g}_accuracy", "group", True, _group_accuracy(g),
                 f"mean recall of the {g} tercile of classes by training count", task=_M) for g in GROUPS),
        Metric("true_calibration_error", "truth", False, true_calibration_error,
               "mean total variation to the true posterior (known-posterior data only)", task=_M),
    )
}

DEFAULT = list(_REGISTRY)


def available() -> dict[str, Metric]:
    """Multi-class metrics by name."""
    return dict(_REGISTRY)


def get(name: str) -> Metric:
    if name not in _REGISTRY:
        raise ValueError(f"metric: unknown multi-class name {name!r}; known: {', '.join(sorted(_REGISTRY))}")
    return _REGISTRY[name]


def evaluate(names: list[str], y_true: np.ndarray, prob: np.ndarray, *, train_counts=None,
             posterior: np.ndarray | None = None) -> dict[str, float]:
    """Each named metric on one set of test predictions (N, C); group metrics only when
    ``train_counts`` (C,) is given, truth metrics only when ``posterior`` (N, C) is."""
    out: dict[str, float] = {}
    for name in names:
        metric = get(name)
        if metric.kind == "truth":
            if posterior is not None:
                out[name] = metric(posterior, prob)
        elif metric.kind == "group":
            if train_counts is not None:
                out[name] = metric(y_true, prob, train_counts=list(train_counts))
        else:
            out[name] = metric(y_true, prob)
    return out


COUNTERPARTS = {
    "roc_auc": "roc_auc_macro",
    "average_precision": "average_precision_macro",
    "f1": "f1_macro",
    "brier": "brier_multiclass",
    "ece": "top_label_ece",
    "adaptive_ece": "top_label_adaptive_ece",
    "mce": "top_label_mce",
}
"""Binary metric name -> the multi-class metric that stands for it on (N, C) probabilities (same
direction). The names both registries hold (``accuracy``, ``mcc``, ...) stand for themselves;
``gmean`` has no counterpart."""
