"""LDAM-DRW against its references: torch's cross-entropy at zero margin, the authors' margin
formula, loss and DRW weights (kaidic/LDAM-DRW: ``LDAMLoss`` in losses.py at commit 6feb304,
the ``DRW`` rule of cifar_train.py, ``NormedLinear`` in models/resnet_cifar.py), the schedule
in the autograd trainer with early stopping armed at the switch, the cosine head, and
LightGBM's one-line refusal."""

from __future__ import annotations

import numpy as np
import pytest
import torch
import torch.nn.functional as F
from sklearn.metrics import average_precision_score

import loss_zoo
from harness.learners.base import FitTask
from harness.learners.lightgbm_learner import cannot_take
from harness.learners.models import CosineLinear, build_model
from harness.learners.torch_mlp import TorchLearner
from harness.learners.trainer import TrainConfig, as_tensors, fit
from loss_zoo import drw_weights, ldam_loss, ldam_margins

COUNTS = [500, 60, 12]


def _logits(n: int = 64, c: int = 3, seed: int = 0):
    g = torch.Generator().manual_seed(seed)
    return torch.randn(n, c, generator=g, dtype=torch.float64) * 3, torch.randint(0, c, (n,), generator=g)


def test_zero_margin_and_unit_scale_is_torchs_cross_entropy():
    z, y = _logits()
    for reduction in ("none", "mean", "sum"):
        torch.testing.assert_close(ldam_loss(z, y, margins=[0.0] * 3, scale=1.0, reduction=reduction),
                                   F.cross_entropy(z, y, reduction=reduction), rtol=1e-12, atol=1e-12)
    zb, yb = z[:, 0], (y > 0).long()
    torch.testing.assert_close(ldam_loss(zb, yb, margins=[0.0, 0.0], scale=1.0),
                               F.binary_cross_entropy_with_logits(zb, yb.double()), rtol=1e-12, atol=1e-12)


def _authors_margins(cls_num_list, max_m):
    """``LDAMLoss.__init__`` of kaidic/LDAM-DRW losses.py, on the CPU."""
    m_list = 1.0 / np.sqrt(np.sqrt(cls_num_list))
    return m_list * (max_m / np.max(m_list))


def _authors_ldam(x, target, m_list, s, weight=None, reduction="mean"):
    """``LDAMLoss.forward`` of kaidic/LDAM-DRW losses.py, on the CPU (``reduction`` added)."""
    index = torch.zeros_like(x, dtype=torch.uint8)
    index.scatter_(1, target.data.view(-1, 1), 1)
    index_float = index.type(x.dtype)
    batch_m = torch.matmul(torch.as_tensor(m_list, dtype=x.dtype)[None, :], index_float.transpose(0, 1))
    batch_m = batch_m.view((-1, 1))
    x_m = x - batch_m
    output = torch.where(index.bool(), x_m, x)
    return F.cross_entropy(s * output, target, weight=weight, reduction=reduction)


@pytest.mark.parametrize("max_m", [0.1, 0.5, 1.0])
def test_margins_are_the_authors_formula(max_m):
    np.testing.assert_allclose(ldam_margins(COUNTS, max_m), _authors_margins(COUNTS, max_m), rtol=1e-15)
    assert max(ldam_margins(COUNTS, max_m)) == pytest.approx(max_m)
    n = np.asarray(COUNTS, dtype=float)
    np.testing.assert_allclose(np.asarray(ldam_margins(COUNTS, max_m)) * n**0.25, max_m * n.min() ** 0.25)


def _authors_drw(cls_num_list, epoch, switch=160):
    """The ``DRW`` branch of kaidic/LDAM-DRW cifar_train.py (``idx = epoch // 160``)."""
    idx = epoch // switch
    betas = [0, 0.9999]
    effective_num = 1.0 - np.power(betas[idx], cls_num_list)
    per_cls_weights = (1.0 - betas[idx]) / np.array(effective_num)
    return per_cls_weights / np.sum(per_cls_weights) * len(cls_num_list)


def test_drw_weights_are_the_effective_number_up_to_the_mean_of_one_per_sample():
    """The authors' weights (sum C) and ours (Σ n_j w_j = N) differ by one factor: ours keep the
    zoo's mean over N on the scale of torch's weighted mean over an epoch."""
    ours, theirs = np.asarray(drw_weights(COUNTS)), _authors_drw(COUNTS, 160)
    ratio = ours / theirs
    np.testing.assert_allclose(ratio, ratio[0], rtol=1e-12)
    assert float(ours @ np.asarray(COUNTS)) == pytest.approx(sum(COUNTS))
    np.testing.assert_allclose(_authors_drw(COUNTS, 0), 1.0)  # before the switch: unweighted


@pytest.mark.parametrize("s", [1.0, 30.0])
def test_ldam_on_scaled_scores_is_the_authors_loss_on_cosines(s):
    """Ours at z = s·x equals the authors' ``LDAMLoss(x)`` per sample, with and without the
    deferred weights; their weighted "mean" divides by the batch's weight sum, ours by N."""
    x = torch.tanh(_logits(64)[0])  # cosines in (−1, 1)
    y = _logits(64)[1]
    margins, weight = ldam_margins(COUNTS, 0.5), drw_weights(COUNTS)
    for w in (None, weight):
        tw = None if w is None else torch.tensor(w, dtype=torch.float64)
        torch.testing.assert_close(ldam_loss(s * x, y, margins=margins, scale=s, weight=w, reduction="none"),
                                   _authors_ldam(x, y, margins, s, tw, reduction="none"), rtol=1e-12, atol=1e-12)
    tw = torch.tensor(weight, dtype=torch.float64)
    ours, theirs = ldam_loss(s * x, y, margins=margins, scale=s, weight=weight), _authors_ldam(x, y, margins, s, tw)
    torch.testing.assert_close(ours * len(y) / tw[y].sum(), theirs, rtol=1e-12, atol=1e-12)


def test_binary_ldam_is_the_two_class_case_with_logits_zero_and_z():
    z, y = _logits(64, 1)
    z, y = z[:, 0], (y % 2).long()
    two = torch.stack([torch.zeros_like(z), z], dim=1)
    margins, weight = [0.2, 0.6], [0.5, 3.0]
    torch.testing.assert_close(ldam_loss(z, y, margins=margins, scale=10.0, weight=weight, reduction="none"),
                               ldam_loss(two, y, margins=margins, scale=10.0, weight=weight, reduction="none"),
                               rtol=1e-12, atol=1e-12)


def test_the_module_switches_the_weights_on_at_the_drw_epoch():
    z, y = _logits()
    params = loss_zoo.entry("ldam").loss_params({"ldam_drw_epoch": 3.7}, COUNTS)
    assert params["drw_epoch"] == 3 and params["scale"] == 30.0
    module = loss_zoo.get("ldam", **params)
    plain = ldam_loss(z, y, margins=params["margins"], scale=30.0)
    weighted = ldam_loss(z, y, margins=params["margins"], scale=30.0, weight=params["weight"])
    assert module.stopping_from == 3 and not torch.isclose(plain, weighted)
    torch.testing.assert_close(module(z, y), weighted)  # not driven by a trainer: weighted
    for epoch, expected in ((0, plain), (2, plain), (3, weighted), (9, weighted)):
        module.start_epoch(epoch)
        torch.testing.assert_close(module(z, y), expected)


def _task_data(seed: int = 0):
    rng = np.random.default_rng(seed)
    X = rng.normal(size=(600, 4)).astype(np.float32)
    y = np.argmax(X[:, :3] * [1.0, 1.5, 2.0] + rng.normal(size=(600, 3)) + [2.5, 0.0, -1.0], axis=1)
    return X, y


def test_the_autograd_trainer_drives_the_schedule_and_arms_early_stopping_at_the_switch():
    """With patience 1 and a learning rate that over-shoots, the validation loss worsens at once;
    early stopping still waits for the switch (epoch 6), keeps an epoch from then on, and the
    loss saw every epoch."""
    X, y = _task_data()
    counts = np.bincount(y[:400]).tolist()
    params = loss_zoo.entry("ldam").loss_params({"ldam_drw_epoch": 6.0}, counts)
    seen = []
    loss = loss_zoo.get("ldam", **params)
    start = loss.start_epoch
    loss.start_epoch = lambda epoch: (seen.append(epoch), start(epoch))
    model = build_model("mlp", 4, hidden_sizes=(16,), n_outputs=3, seed=0, cosine_scale=loss.scale)
    report = fit(model, loss, as_tensors(X[:400], y[:400]), as_tensors(X[400:], y[400:]),
                 TrainConfig(0.5, 0.0, 20, 64, 1), seed=0, score=lambda t, p: float((p.argmax(1) == t).mean()))
    assert report.best_epoch >= 6 and report.epochs_run >= 7 and seen == list(range(report.epochs_run))
    assert report.stopped_by in ("early_stopping", "max_epochs")


def test_the_torch_learner_builds_a_cosine_head_for_ldam_and_trains_it_alone():
    X, y = _task_data()
    params = loss_zoo.entry("ldam").loss_params({}, np.bincount(y[:400]).tolist())
    task = FitTask(X[:400], y[:400], X[400:], y[400:], "ldam", params, {"lr": 0.01, "weight_decay": 1e-4}, seed=0)
    learner = TorchLearner("mlp", (16,), 0.0, TrainConfig(0.0, 0.0, 15, 64, 3),
                           lambda t, p: float((p.argmax(1) == t).mean()), True, "loss", True, torch.device("cpu"))
    member = learner._member(task, {})
    assert isinstance(member.model.net[-1], CosineLinear) and learner._stack_groups([member]) == []
    fitted = learner.fit([task])[0]
    logits = fitted.predict_logits(X[400:])
    assert logits.shape == (200, 3) and np.abs(logits).max() <= 30.0 + 1e-4
    assert fitted.report.best_epoch >= params["drw_epoch"] and fitted.report.best_score > 0.6


def test_lightgbm_refuses_ldam_in_one_line():
    reason = ("LDAM-DRW's margins are on a cosine-normalised score scaled by s and its re-weighting is an epoch "
              "schedule; a boosted raw score has neither")
    assert cannot_take("ldam") == reason == cannot_take("ldam", n_classes=3)


def test_a_binary_task_trains_with_ldam():
    """One output, a cosine head, the binary form: the validation AP climbs from its first epoch
    to well above the prevalence (a wrong sign in the binary form would rank the classes backwards)."""
    X, y = _task_data(1)
    yb = (y != 0).astype(int)  # the minority positive: 109 of 600
    params = loss_zoo.entry("ldam").loss_params({"ldam_drw_epoch": 2.0}, np.bincount(yb[:400]).tolist())
    task = FitTask(X[:400], yb[:400], X[400:], yb[400:], "ldam", params, {"lr": 0.01, "weight_decay": 1e-4}, seed=0)
    learner = TorchLearner("mlp", (16,), 0.0, TrainConfig(0.0, 0.0, 15, 64, 3), average_precision_score, True,
                           "loss", True, torch.device("cpu"))
    fitted = learner.fit([task])[0]
    prevalence = yb[400:].mean()
    assert fitted.predict_logits(X[400:]).shape == (200,) and fitted.report.best_score > 2.5 * prevalence
    assert fitted.report.curve[-1] > fitted.report.curve[0] + 0.1


def test_cosine_head_is_the_authors_normed_linear_times_s():
    """``NormedLinear.forward`` (models/resnet_cifar.py): normalize(x, dim=1) @ normalize(W, dim=0),
    W stored (in, out); ours stores (out, in) as nn.Linear and folds in s."""
    head = CosineLinear(5, 3, scale=30.0).double()
    torch.nn.init.normal_(head.weight)
    x = torch.randn(8, 5, dtype=torch.float64)
    reference = F.normalize(x, dim=1).mm(F.normalize(head.weight.t(), dim=0))
    torch.testing.assert_close(head(x), 30.0 * reference)


def test_the_cosine_head_never_starts_from_uninitialised_memory():
    """A multi-class LossClassifier builds its MLP without build_model's initialisation: the head
    must draw its own weights (under torch's deterministic mode uninitialised memory is NaN)."""
    import torch

    from harness.learners.models import CosineLinear

    before = torch.are_deterministic_algorithms_enabled()
    torch.use_deterministic_algorithms(True)
    try:
        weight = CosineLinear(8, 3, 30.0).weight
    finally:
        torch.use_deterministic_algorithms(before)
    assert torch.isfinite(weight).all() and weight.abs().max() <= 1 / 8 ** 0.5 + 1e-6 and weight.std() > 0
