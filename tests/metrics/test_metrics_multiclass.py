"""Multi-class metrics against scikit-learn, torchmetrics and direct computations."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from sklearn import metrics as skm
from sklearn.preprocessing import label_binarize

from harness.metrics import binary as metrics
from harness.metrics import multiclass as mm


def _data(seed: int, n: int = 600, c: int = 5, sharp: float = 2.0):
    rng = np.random.default_rng(seed)
    logits = sharp * rng.normal(size=(n, c))
    prob = np.exp(logits - logits.max(axis=1, keepdims=True))
    prob /= prob.sum(axis=1, keepdims=True)
    y = np.array([rng.choice(c, p=row) for row in (0.7 * prob + 0.3 / c)])
    return y, prob


@pytest.mark.parametrize("seed", range(4))
def test_top_label_ece_and_mce_match_torchmetrics(seed):
    tm = pytest.importorskip("torchmetrics.functional.classification")
    y, prob = _data(seed, sharp=0.5 + seed)
    for name, norm in (("top_label_ece", "l1"), ("top_label_mce", "max")):
        ref = tm.multiclass_calibration_error(torch.tensor(prob), torch.tensor(y), num_classes=prob.shape[1],
                                              n_bins=15, norm=norm).item()
        assert mm.get(name)(y, prob) == pytest.approx(ref, abs=1e-6)


@pytest.mark.parametrize("seed", range(3))
def test_classwise_ece_is_the_mean_of_per_class_binned_gaps(seed):
    y, prob = _data(seed, n=401, c=4)
    per_class = []
    for k in range(4):  # an independent binning: each class's own 15 bins, p = 1 in the last
        yk, pk = (y == k).astype(float), prob[:, k]
        bins = np.minimum((pk * 15).astype(int), 14)
        per_class.append(sum(abs(yk[bins == b].sum() - pk[bins == b].sum()) for b in range(15)) / len(y))
    assert mm.classwise_ece(y, prob) == pytest.approx(np.mean(per_class), abs=1e-12)


def test_top_label_adaptive_ece_is_the_binary_adaptive_ece_of_the_argmax():
    y, prob = _data(3, n=301)
    correct = (prob.argmax(1) == y).astype(int)
    order = np.argsort(prob.max(1), kind="stable")
    total = sum(abs(correct[g].mean() - prob.max(1)[g].mean()) * len(g) for g in np.array_split(order, 15))
    assert mm.top_label_adaptive_ece(y, prob) == pytest.approx(total / 301, abs=1e-12)


@pytest.mark.parametrize("seed", range(3))
def test_registry_matches_sklearn(seed):
    y, prob = _data(seed)
    got = mm.evaluate(mm.DEFAULT, y, prob)
    yhat, onehot = prob.argmax(1), label_binarize(y, classes=range(5))
    expected = {
        "roc_auc_macro": skm.roc_auc_score(y, prob, multi_class="ovr", average="macro"),
        "roc_auc_weighted": skm.roc_auc_score(y, prob, multi_class="ovr", average="weighted"),
        "average_precision_macro": skm.average_precision_score(onehot, prob, average="macro"),
        "accuracy": skm.accuracy_score(y, yhat),
        "balanced_accuracy": skm.balanced_accuracy_score(y, yhat),
        "f1_macro": skm.f1_score(y, yhat, average="macro"),
        "mcc": skm.matthews_corrcoef(y, yhat),
        "brier_multiclass": np.mean(np.sum((prob - onehot) ** 2, axis=1)),
        "log_loss": skm.log_loss(y, prob),
    }
    for name, value in expected.items():
        assert got[name] == pytest.approx(value, abs=1e-12), name
    assert "head_accuracy" not in got and "true_calibration_error" not in got  # need counts / posterior


def test_a_class_absent_from_the_split_is_left_out_of_one_vs_rest_averages():
    y, prob = _data(5, c=4)
    keep = y != 2
    y, prob = y[keep], prob[keep]
    present = [0, 1, 3]
    auc = [skm.roc_auc_score(y == k, prob[:, k]) for k in present]
    ap = [skm.average_precision_score(y == k, prob[:, k]) for k in present]
    assert mm.get("roc_auc_macro")(y, prob) == pytest.approx(np.mean(auc))
    assert mm.get("roc_auc_weighted")(y, prob) == pytest.approx(np.average(auc, weights=np.bincount(y)[present]))
    assert mm.get("average_precision_macro")(y, prob) == pytest.approx(np.mean(ap))
    assert np.isfinite(mm.classwise_ece(y, prob)) and np.isfinite(mm.get("balanced_accuracy")(y, prob))


def test_perfect_predictions():
    y = np.array([0, 1, 2, 2, 1, 0, 2])
    prob = np.eye(3)[y]
    got = mm.evaluate(mm.DEFAULT, y, prob, train_counts=[50, 30, 10], posterior=prob)
    for name in ("roc_auc_macro", "roc_auc_weighted", "average_precision_macro", "accuracy", "balanced_accuracy",
                 "f1_macro", "mcc", "head_accuracy", "medium_accuracy", "tail_accuracy"):
        assert got[name] == pytest.approx(1.0), name
    for name in ("brier_multiclass", "log_loss", "top_label_ece", "top_label_adaptive_ece", "top_label_mce",
                 "classwise_ece", "true_calibration_error"):
        assert got[name] == pytest.approx(0.0, abs=1e-12), name


@pytest.mark.parametrize("seed", range(3))
def test_two_classes_agree_with_the_binary_metrics(seed):
    rng = np.random.default_rng(seed)
    p1 = rng.random(300) * 0.98 + 0.01
    y = (rng.random(300) < p1 ** 1.5).astype(int)
    prob, eta = np.column_stack([1 - p1, p1]), rng.random(300)
    pairs = {"roc_auc_macro": "roc_auc", "accuracy": "accuracy", "balanced_accuracy": "balanced_accuracy",
             "mcc": "mcc", "log_loss": "log_loss"}
    for mc, binary in pairs.items():
        assert mm.get(mc)(y, prob) == pytest.approx(metrics.get(binary)(y, p1), abs=1e-12), mc
    assert mm.brier_multiclass(y, prob) == pytest.approx(2 * metrics.get("brier")(y, p1))
    assert mm.true_calibration_error(np.column_stack([1 - eta, eta]), prob) == pytest.approx(
        metrics.true_calibration_error(eta, p1))
    assert mm.classwise_ece(y, prob) == pytest.approx(metrics.expected_calibration_error(y, p1), abs=1e-12)


def test_head_medium_tail_groups_follow_training_counts():
    groups = mm.class_groups([5, 100, 40, 40, 7, 300, 1])
    assert [g.tolist() for g in groups.values()] == [[5, 1, 2], [3, 4], [0, 6]]
    y = np.array([0, 0, 0, 1, 1, 2, 2, 2, 2])
    yhat = np.array([0, 0, 1, 1, 0, 2, 2, 2, 0])
    prob = np.eye(3)[yhat] * 0.8 + 0.2 / 3
    counts = [10, 100, 50]  # head: class 1, medium: 2, tail: 0
    assert mm.get("head_accuracy")(y, prob, train_counts=counts) == pytest.approx(0.5)
    assert mm.get("medium_accuracy")(y, prob, train_counts=counts) == pytest.approx(0.75)
    assert mm.get("tail_accuracy")(y, prob, train_counts=counts) == pytest.approx(2 / 3)
    assert np.isnan(mm.get("tail_accuracy")(y[y != 0], prob[y != 0], train_counts=counts))


def test_true_calibration_error_is_the_mean_total_variation():
    eta = np.array([[0.2, 0.3, 0.5], [1.0, 0.0, 0.0]])
    prob = np.array([[0.1, 0.3, 0.6], [0.5, 0.25, 0.25]])
    assert mm.true_calibration_error(eta, prob) == pytest.approx((0.1 + 0.5) / 2)


@pytest.mark.parametrize(("y", "prob", "message"), [
    (np.array([0, 1]), np.array([0.2, 0.8]), "shape \\(N, C\\)"),
    (np.array([0, 3]), np.array([[0.5, 0.5], [0.5, 0.5]]), "labels in \\[0, 2\\)"),
    (np.array([0, 1]), np.array([[0.5, 0.6], [0.5, 0.5]]), "summing to 1"),
    (np.array([0, 1]), np.array([[np.nan, 1.0], [0.5, 0.5]]), "not finite"),
    (np.array([1, 1]), np.array([[0.5, 0.5], [0.5, 0.5]]), "single class"),
])
def test_bad_input_is_a_one_line_error(y, prob, message):
    with pytest.raises(ValueError, match=message):
        mm.get("roc_auc_macro")(y, prob)


def test_every_metric_declares_its_properties():
    for name, m in mm.available().items():
        assert m.name == name and m.task == "multiclass" and m.kind in {"ranking", "label", "probability", "group", "truth"}
    assert all(m.task == "binary" for m in metrics.available().values())
