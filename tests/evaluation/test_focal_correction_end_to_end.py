"""The closed-form correction brings a focal-trained model closer to the true posterior."""

from __future__ import annotations

import numpy as np
import pytest
import torch

import datasets
import loss_zoo
from harness.evaluation.calibration import calibrate
from harness.learners.models import build_model
from harness.learners.trainer import TrainConfig, as_tensors, fit, predict_logits
from harness.metrics import binary as metrics


@pytest.mark.parametrize("ratio", [10, 100])
@pytest.mark.parametrize("gamma", [1.0, 3.0])
def test_closed_form_beats_raw_on_true_calibration_error(ratio, gamma):
    pool = datasets.load("synthetic/gaussian", {"n_samples": 24000, "n_features": 4, "separation": 2.0}, seed=0)
    data = datasets.prepare(pool, ratio, seed=1)
    counts = data.train.counts(2)
    model = build_model("logistic", data.n_features, prior=counts[1] / sum(counts), seed=2)
    params = {"gamma": gamma, "alpha": None}
    fit(model, loss_zoo.get("focal", **params), as_tensors(data.train.X, data.train.y),
        as_tensors(data.validation.X, data.validation.y),
        TrainConfig(lr=0.05, weight_decay=0.0, max_epochs=40, batch_size=256, patience=8),
        seed=3, score=metrics.get("average_precision"))
    logits = {name: predict_logits(model, torch.as_tensor(s.X, dtype=torch.float32)).double().numpy()
              for name, s in (("val", data.validation), ("test", data.test))}
    tce = {}
    for variant in ("raw", "closed_form"):
        out = calibrate(variant, loss="focal", loss_params=params, val_logits=logits["val"],
                        y_val=data.validation.y, test_logits=logits["test"])
        tce[variant] = metrics.true_calibration_error(data.test.posterior, out.test_prob)
    assert tce["closed_form"] < tce["raw"], tce
    # a logistic model is well specified here: corrected, it is close to the truth
    assert tce["closed_form"] < 0.02
    assert np.isfinite(list(tce.values())).all()
