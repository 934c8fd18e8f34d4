"""Metrics against scikit-learn, imbalanced-learn, torchmetrics and direct computations."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from sklearn import metrics as skm

from harness.metrics import binary as metrics


def _data(seed: int, n: int = 500):
    rng = np.random.default_rng(seed)
    prob = rng.random(n) ** (seed + 1)
    prob[:5] = [0.0, 1.0, 0.5, 1 / 15, 14 / 15]  # edges and exact bin boundaries
    y = (rng.random(n) < prob).astype(int)
    return y, prob


@pytest.mark.parametrize("seed", range(5))
def test_ece_and_mce_match_torchmetrics(seed):
    tm = pytest.importorskip("torchmetrics.functional.classification")
    y, prob = _data(seed)
    for name, norm in (("ece", "l1"), ("mce", "max")):
        ref = tm.binary_calibration_error(torch.tensor(prob), torch.tensor(y), n_bins=15, norm=norm).item()
        assert metrics.get(name)(y, prob) == pytest.approx(ref, abs=1e-6)


@pytest.mark.parametrize("seed", range(3))
def test_adaptive_ece_matches_a_direct_computation(seed):
    y, prob = _data(seed, n=301)
    order = np.argsort(prob, kind="stable")
    total, start = 0.0, 0
    for b in range(15):
        size = 301 // 15 + (1 if b < 301 % 15 else 0)
        members = order[start:start + size]
        start += size
        total += abs(y[members].mean() - prob[members].mean()) * size
    assert metrics.get("adaptive_ece")(y, prob) == pytest.approx(total / 301, abs=1e-12)


def test_true_calibration_error_is_the_mean_absolute_gap():
    eta = np.array([0.1, 0.5, 0.9])
    assert metrics.get("true_calibration_error")(eta, np.array([0.2, 0.5, 0.6])) == pytest.approx(0.4 / 3)


def test_calibration_errors_of_simple_cases():
    y = np.array([0, 1] * 50)
    assert metrics.expected_calibration_error(y, np.full(100, 0.5)) == pytest.approx(0.0)
    assert metrics.expected_calibration_error(y, np.full(100, 0.9)) == pytest.approx(0.4)
    assert metrics.maximum_calibration_error(y, np.full(100, 0.9)) == pytest.approx(0.4)


def test_registry_matches_sklearn_and_imblearn():
    from imblearn.metrics import geometric_mean_score

    y, prob = _data(7, n=400)
    got = metrics.evaluate(list(metrics.available()), y, prob, val_threshold=0.3)
    yhat, yhat3 = (prob >= 0.5).astype(int), (prob >= 0.3).astype(int)
    assert got["roc_auc"] == pytest.approx(skm.roc_auc_score(y, prob))
    assert got["average_precision"] == pytest.approx(skm.average_precision_score(y, prob))
    assert got["accuracy"] == pytest.approx(np.mean(yhat == y))
    assert got["accuracy_val_threshold"] == pytest.approx(np.mean(yhat3 == y))
    assert got["balanced_accuracy"] == pytest.approx(skm.balanced_accuracy_score(y, yhat))
    assert got["f1_val_threshold"] == pytest.approx(skm.f1_score(y, yhat3))
    assert got["mcc"] == pytest.approx(skm.matthews_corrcoef(y, yhat))
    tpr, tnr = yhat[y == 1].mean(), 1 - yhat[y == 0].mean()
    assert got["gmean"] == pytest.approx(np.sqrt(tpr * tnr)) == pytest.approx(geometric_mean_score(y, yhat))
    assert got["brier"] == pytest.approx(np.mean((prob - y) ** 2))
    p = np.clip(prob, np.finfo(float).eps, 1 - np.finfo(float).eps)
    assert got["log_loss"] == pytest.approx(-np.mean(y * np.log(p) + (1 - y) * np.log(1 - p)))
    assert "true_calibration_error" not in got  # no posterior given


def test_best_f1_threshold_maximises_f1():
    y, prob = _data(3, n=300)
    t = metrics.best_f1_threshold(y, prob)
    best = skm.f1_score(y, prob >= t)
    for other in np.unique(prob):
        assert skm.f1_score(y, prob >= other) <= best + 1e-12
    assert metrics.best_f1_threshold(np.zeros(5, int), np.linspace(0, 1, 5)) == 0.5


def test_degenerate_inputs_are_defined_or_clear_errors():
    y = np.array([0, 1, 0, 1])
    constant = np.full(4, 0.3)
    got = metrics.evaluate(list(metrics.available()), y, constant, val_threshold=0.5)
    assert all(np.isfinite(v) for v in got.values())
    assert got["roc_auc"] == 0.5 and got["f1"] == 0.0 and got["mcc"] == 0.0
    extreme = np.array([0.0, 1.0, 1.0, 0.0])  # confidently wrong on two samples
    value = metrics.get("log_loss")(y, extreme)
    assert np.isfinite(value) and value > 10
    with pytest.raises(ValueError, match="roc_auc: undefined when y_true holds a single class"):
        metrics.get("roc_auc")(np.ones(4, int), np.linspace(0, 1, 4))
    with pytest.raises(ValueError, match="ece: expected probabilities in"):
        metrics.get("ece")(y, np.array([0.1, np.nan, 0.2, 0.3]))
    with pytest.raises(ValueError, match="brier: expected at least one prediction"):
        metrics.get("brier")(np.array([]), np.array([]))


def test_unknown_metric_lists_known():
    with pytest.raises(ValueError, match="known: .*roc_auc"):
        metrics.get("auc")
    assert metrics.get("f1_val_threshold").name == "f1"
    with pytest.raises(ValueError):
        metrics.get("roc_auc_val_threshold")


@pytest.mark.parametrize("seed", range(6))
@pytest.mark.parametrize("name", ["average_precision", "roc_auc"])
def test_fast_monitoring_forms_equal_sklearn(seed, name):
    """What training watches every epoch equals scikit-learn, ties included (rounded scores)."""
    rng = np.random.default_rng(seed)
    n = int(rng.integers(5, 3000))
    y = (rng.random(n) < rng.uniform(0.02, 0.6)).astype(int)
    y[:2] = [0, 1]
    p = rng.random(n)
    if seed % 2:
        p = np.round(p, 1)  # many ties
    reference = {"average_precision": skm.average_precision_score, "roc_auc": skm.roc_auc_score}[name](y, p)
    metric = metrics.get(name)
    assert metric.fast is not None
    assert metric.monitor(y, p) == pytest.approx(reference, rel=1e-12, abs=1e-14)
    assert metric(y, p) == pytest.approx(reference, rel=1e-15)
    assert np.isnan(metric.monitor(y, np.where(np.arange(n) == 0, np.nan, p)))


def test_metrics_without_a_fast_form_monitor_as_themselves():
    y, p = np.array([0, 1, 1, 0]), np.array([0.2, 0.7, 0.6, 0.4])
    assert metrics.get("brier").fast is None
    assert metrics.get("brier").monitor(y, p) == metrics.get("brier")(y, p)
