"""The fully convolutional learner: layout, prior initialisation, positive normalisation, per-image
OHEM, the easy-negative probes against autograd, and the plan's checks."""

from __future__ import annotations

import math

import numpy as np
import pytest
import torch
import torch.nn.functional as F

import datasets
import loss_zoo
from datasets.dense import canvas_targets, full_mask
from harness.learners import easy_negatives
from harness.learners.base import FitTask
from harness.learners.fcn import PRIOR, DenseLoss, FCNLearner, build_fcn, cannot_take
from harness.learners.trainer import TrainConfig
from harness.metrics import binary


@pytest.fixture(scope="module")
def data():
    pool = datasets.load("dense/digit_canvases", {"n_object_canvases": 6, "max_ratio": 300, "size": 24}, seed=3)
    return datasets.prepare(pool, 200, seed=1, min_test_minority=5)


def _learner(epochs=1, probes=True):
    return FCNLearner("fcn", (4, 4), (1, 2), TrainConfig(0.0, 0.0, epochs, 8, 3),
                      binary.get("average_precision").monitor, True, "none", probes)


def test_every_location_starts_at_the_prior(data):
    model = build_fcn(24, (4, 4), (1, 2), seed=0)
    logits = model(torch.as_tensor(data.test.X))
    assert logits.shape == (len(data.test.y),)
    np.testing.assert_allclose(torch.sigmoid(logits).detach().numpy(), PRIOR, atol=2e-3)
    assert model.head.bias.item() == pytest.approx(-math.log((1 - PRIOR) / PRIOR))


def test_the_mask_plane_selects_outputs_and_never_changes_them(data):
    model = build_fcn(24, (4, 4), (1, 2), seed=0)
    X = torch.as_tensor(data.test.X)
    full = model(torch.as_tensor(full_mask(data.test.X))).reshape(len(X), -1)
    np.testing.assert_array_equal(model(X).detach(), full[X[:, 24 * 24:] > 0.5].detach())


def test_losses_are_normalised_by_positives_as_lin_does():
    g = torch.Generator().manual_seed(0)
    logits = torch.randn(3 * 16, generator=g, dtype=torch.float64)
    targets = torch.zeros(3, 16, dtype=torch.long)
    targets[0, :2] = 1
    targets[1, 5] = -1
    keep = targets >= 0
    z, y = logits[: int(keep.sum())], targets[keep]
    for name, params in (("ce", {}), ("focal", {"gamma": 2.0, "alpha": 0.25})):
        loss = DenseLoss(loss_zoo.get(name, reduction="none", **params), per_batch_positives=2.0)
        expected = loss_zoo.get(name, reduction="sum", **params)(z, y) / 2.0
        assert loss(z, targets).item() == pytest.approx(expected.item(), rel=1e-12)
    # a whole split (1-D labels) is normalised by its own positives
    ce = DenseLoss(loss_zoo.get("ce", reduction="none"), per_batch_positives=99.0)
    assert ce(z, y).item() == pytest.approx(F.binary_cross_entropy_with_logits(z, y.double(), reduction="sum").item() / 2)


def test_ohem_mines_within_each_canvas():
    logits = torch.tensor([5.0, 4.0, 3.0, -1.0, 0.0, 0.1, 0.2, 0.3])
    targets = torch.tensor([[0, 0, 0, 1], [0, 0, 0, 0]])
    ohem = loss_zoo.get("ohem", keep=1.0, neg_pos_ratio=1.0, reduction="none")
    loss = DenseLoss(ohem, per_batch_positives=1.0)
    # canvas 0 keeps its positive and its hardest negative (5.0); canvas 1 (no positive) one negative (0.3)
    per = F.binary_cross_entropy_with_logits(logits, targets.reshape(-1).double().float(), reduction="none")
    assert loss(logits, targets).item() == pytest.approx((per[0] + per[3] + per[7]).item(), rel=1e-6)
    # mined per batch instead, the two largest negatives of the batch would be taken
    assert ohem.grouped_terms(logits, targets.reshape(-1), torch.zeros(8, dtype=torch.long)).gt(0).sum() == 2


def test_probe_shares_against_a_direct_computation(data):
    model = build_fcn(24, (4, 4), (1, 2), seed=1)
    X = torch.as_tensor(data.train.X)
    targets = torch.as_tensor(canvas_targets(data.train.X, data.train.y))
    probe = easy_negatives.probe_set(X, targets, seed=0, max_object_canvases=100, max_empty_canvases=1000)
    got = easy_negatives.shares(model, probe)
    z = model(probe.X)
    y = probe.targets[probe.targets >= 0].float()
    p = torch.sigmoid(z).detach()
    easy = (y == 0) & (1 - p > 0.9)
    assert got["easy_negative_logit_share_p90"] == pytest.approx(float(p[easy].sum() / (p - y).abs().sum()), rel=1e-5)
    per = F.binary_cross_entropy_with_logits(z, y, reduction="none")
    g_easy = torch.autograd.grad(per[easy].sum(), list(model.parameters()), retain_graph=True)
    g_rest = torch.autograd.grad(per[~easy].sum(), list(model.parameters()))
    e = torch.sqrt(sum((g * g).sum() for g in g_easy))
    r = torch.sqrt(sum((g * g).sum() for g in g_rest))
    assert got["easy_negative_param_share_p90"] == pytest.approx(float(e / (e + r)), rel=1e-4)
    assert all(v.grad is None for v in model.parameters())


def test_the_learner_fits_reports_probes_and_predicts_aligned_logits(data):
    task = FitTask(data.train.X, data.train.y, data.validation.X, data.validation.y, "ce", {},
                   {"lr": 0.01, "weight_decay": 0.0}, seed=4)
    (fitted,) = _learner(epochs=2).fit([task])
    assert fitted.report.epochs_run == 2 and set(fitted.report.probes) == set(easy_negatives.NAMES)
    assert fitted.predict_logits(data.test.X).shape == data.test.y.shape
    # a tuning trial (with an on_step callback) does not pay for the probes
    trial = FitTask(**{**task.__dict__, "on_step": lambda step, value: False})
    assert _learner().fit([trial])[0].report.probes == {}
    # the same seed, the same model
    again = _learner(epochs=2).fit([task])[0]
    np.testing.assert_array_equal(again.predict_logits(data.test.X), fitted.predict_logits(data.test.X))


def test_losses_the_fcn_refuses():
    assert "quadratic" in cannot_take("mmce")
    from dataclasses import replace

    with loss_zoo.registered(replace(loss_zoo.entry("ce"), name="ce_multiclass_only", binary=False)):
        assert "multi-class" in cannot_take("ce_multiclass_only")
    assert cannot_take("focal") is None and cannot_take("ce_drop_easy") is None
