"""Metrics against scikit-learn and torchmetrics."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from sklearn import metrics as skm

from harness import metrics


@pytest.mark.parametrize("seed", range(5))
def test_ece_matches_torchmetrics(seed):
    tm = pytest.importorskip("torchmetrics.functional.classification")
    rng = np.random.default_rng(seed)
    prob = rng.random(500) ** (seed + 1)
    prob[:5] = [0.0, 1.0, 0.5, 1 / 15, 14 / 15]  # edges and exact bin boundaries
    y = (rng.random(500) < prob).astype(int)
    ref = tm.binary_calibration_error(torch.tensor(prob), torch.tensor(y), n_bins=15, norm="l1").item()
    assert metrics.expected_calibration_error(y, prob) == pytest.approx(ref, abs=1e-6)


def test_ece_of_perfectly_calibrated_bins_is_zero_and_of_constant_is_gap():
    y = np.array([0, 1] * 50)
    assert metrics.expected_calibration_error(y, np.full(100, 0.5)) == pytest.approx(0.0)
    assert metrics.expected_calibration_error(y, np.full(100, 0.9)) == pytest.approx(0.4)
    with pytest.raises(ValueError, match="prob"):
        metrics.expected_calibration_error(np.array([]), np.array([]))


def test_registry_matches_sklearn():
    rng = np.random.default_rng(0)
    prob = rng.random(300)
    y = (rng.random(300) < prob).astype(int)
    got = metrics.evaluate(["roc_auc", "average_precision", "accuracy", "brier", "log_loss"], y, prob)
    assert got["roc_auc"] == pytest.approx(skm.roc_auc_score(y, prob))
    assert got["average_precision"] == pytest.approx(skm.average_precision_score(y, prob))
    assert got["accuracy"] == pytest.approx(np.mean((prob >= 0.5) == y))
    assert got["brier"] == pytest.approx(np.mean((prob - y) ** 2))
    assert got["log_loss"] == pytest.approx(-np.mean(y * np.log(prob) + (1 - y) * np.log(1 - prob)))


def test_log_loss_stays_finite_at_exact_zero_and_one():
    value = metrics.get("log_loss")(np.array([1, 0]), np.array([0.0, 1.0]))
    assert np.isfinite(value) and value > 10


def test_unknown_metric_lists_known():
    with pytest.raises(ValueError, match="known: .*roc_auc"):
        metrics.get("auc")
