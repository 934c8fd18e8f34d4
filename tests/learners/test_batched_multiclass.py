"""Multi-class members of one stack: each member's loss, gradient and training are its own."""

from __future__ import annotations

import numpy as np
import pytest
import torch

import loss_zoo
from harness.learners.batched import Member, can_batch, fit_batched
from harness.learners.models import build_model
from harness.learners.trainer import TrainConfig, as_tensors, fit, predict_logits
from loss_zoo.batched import multiclass_member_losses, multiclass_terms

C = 4
COUNTS = [500, 250, 120, 60]
LOSSES = [
    ("ce", {}), ("weighted_ce", {"weight": loss_zoo.class_weights(COUNTS, beta=0.7)}), ("focal", {"gamma": 2.0}),
    ("focal", {"gamma": 0.7, "alpha": [0.1, 0.2, 0.3, 0.4]}), ("focal_flsd", {}),
    ("focal_flsd", {"alpha": [1.0, 1.5, 2.0, 0.5]}),
    ("class_balanced_focal", {"counts": COUNTS, "beta": 0.99, "gamma": 1.0}),
    ("logit_adjusted_ce", {"prior": [c / sum(COUNTS) for c in COUNTS], "tau": 1.3}),
    ("balanced_softmax", {"prior": [c / sum(COUNTS) for c in COUNTS]}),
    ("label_smoothing", {"epsilon": 0.1}), ("brier", {}), ("poly1", {"epsilon": 2.0}),
    ("dual_focal", {"gamma": 2.0}), ("dual_focal", {"gamma": 0.5}),
]


def test_every_multiclass_loss_of_the_zoo_declares_its_common_form():
    """Every per-sample loss (binary terms declared) stacks on multi-class data too; only the
    batch-level losses (OHEM: which samples count depends on the batch; MMCE: a kernel sum over
    the batch) and the scheduled one (LDAM-DRW: weights switched on at an epoch) have neither form."""
    for name, found in loss_zoo.available().items():
        if found.multiclass and found.binary_terms is not None:
            assert found.multiclass_terms is not None, name
    batch_level = [n for n, e in loss_zoo.available().items() if e.multiclass and e.multiclass_terms is None]
    assert batch_level == ["ohem", "mmce", "ldam"] and all(loss_zoo.entry(n).binary_terms is None for n in batch_level)
    assert multiclass_terms(loss_zoo.get("focal", gamma=1.0, alpha=0.25)) is None  # a binary α
    assert multiclass_terms(loss_zoo.get("focal_flsd", thresholds=(0.2, 0.5), gammas=(5, 3, 1))) is None
    assert multiclass_member_losses([loss_zoo.get("weighted_ce", weight=[1.0, 2.0])], C) is None  # wrong length


@pytest.mark.parametrize("shared_targets", [True, False])
def test_each_member_value_and_gradient_equal_its_own_module_in_float64(shared_targets):
    gen = torch.Generator().manual_seed(0)
    k, b = len(LOSSES), 300
    logits = (4 * torch.randn(k, b, C, generator=gen, dtype=torch.float64)).requires_grad_()
    targets = torch.randint(0, C, (b,) if shared_targets else (k, b), generator=gen)
    modules = [loss_zoo.get(name, **params) for name, params in LOSSES]
    stacked = multiclass_member_losses(modules, C, dtype=torch.float64)
    values = stacked(logits, targets)
    (grad,) = torch.autograd.grad(values.sum(), logits)
    for i, module in enumerate(modules):
        z = logits[i].detach().clone().requires_grad_()
        expected = module(z, targets if shared_targets else targets[i])
        (expected_grad,) = torch.autograd.grad(expected, z)
        torch.testing.assert_close(values[i], expected, rtol=1e-12, atol=1e-12, msg=LOSSES[i][0])
        torch.testing.assert_close(grad[i], expected_grad, rtol=1e-10, atol=1e-12, msg=LOSSES[i][0])


def test_select_keeps_the_chosen_members():
    modules = [loss_zoo.get(name, **params) for name, params in LOSSES]
    stacked = multiclass_member_losses(modules, C, dtype=torch.float64)
    logits, targets = torch.randn(len(LOSSES), 50, C, dtype=torch.float64), torch.randint(0, C, (50,))
    keep = torch.tensor([6, 1, 3])
    torch.testing.assert_close(stacked.select(keep)(logits[keep], targets), stacked(logits, targets)[keep])


def _data(seed: int, n: int = 900, d: int = 6):
    rng = np.random.default_rng(seed)
    X = rng.normal(size=(n, d)).astype(np.float32)
    score = X[:, :C] + 0.5 * rng.normal(size=(n, C)) + np.log(np.array(COUNTS) / sum(COUNTS))
    y = score.argmax(axis=1)
    return as_tensors(X[:600], y[:600]), as_tensors(X[600:], y[600:])


def _members(k: int, hidden, per_member_data: bool, prune_at: dict[int, int]):
    shared = _data(0)
    rng = np.random.default_rng(1)
    members = []
    for i in range(k):
        train, val = _data(10 + i) if per_member_data else shared
        name, params = LOSSES[i % len(LOSSES)]
        model = build_model("mlp" if hidden else "logistic", 6, hidden_sizes=hidden, prior=[0.4, 0.3, 0.2, 0.1],
                            seed=100 + i, n_outputs=C)
        stop = prune_at.get(i)
        members.append(Member(model, loss_zoo.get(name, **params), train, val, lr=float(10 ** rng.uniform(-3, -1.3)),
                              weight_decay=float(10 ** rng.uniform(-6, -2)), seed=1000 + i,
                              on_epoch=None if stop is None else (lambda epoch, value, stop=stop: epoch >= stop)))
    return members


def _true_class_probability(y, prob):
    """A continuous score (an argmax score would flip on float32 rounding between the two paths)."""
    return float(prob[np.arange(len(y)), y].mean())


@pytest.mark.parametrize(("hidden", "per_member_data", "stop_on"),
                         [((16, 8), False, "loss"), pytest.param((12,), True, "loss", marks=pytest.mark.slow),
                          pytest.param((), True, "score", marks=pytest.mark.slow)])
def test_a_multiclass_stack_trains_each_member_as_fit_does_alone(hidden, per_member_data, stop_on):
    config = TrainConfig(lr=0.0, weight_decay=0.0, max_epochs=8, batch_size=64, patience=2)
    prune = {2: 1, 5: 3}
    alone, stacked = _members(9, hidden, per_member_data, prune), _members(9, hidden, per_member_data, prune)
    assert can_batch(stacked)
    expected = [fit(m.model, m.loss, m.train, m.validation,
                    TrainConfig(m.lr, m.weight_decay, config.max_epochs, config.batch_size, config.patience),
                    seed=m.seed, score=_true_class_probability, on_epoch=m.on_epoch, stop_on=stop_on) for m in alone]
    got = fit_batched(stacked, config, score=_true_class_probability, stop_on=stop_on)
    assert "pruned" in {r.stopped_by for r in expected}
    for a, b, ma, mb in zip(expected, got, alone, stacked):
        assert (a.best_epoch, a.epochs_run, a.stopped_by) == (b.best_epoch, b.epochs_run, b.stopped_by)
        np.testing.assert_allclose(b.curve, a.curve, rtol=1e-4, atol=1e-5)
        logits = predict_logits(mb.model, ma.validation[0])
        assert logits.shape == (300, C)
        torch.testing.assert_close(logits, predict_logits(ma.model, ma.validation[0]), rtol=1e-4, atol=1e-4)


def test_binary_and_multiclass_members_do_not_share_a_stack():
    multi = _members(2, (8,), False, {})
    binary = build_model("mlp", 6, hidden_sizes=(8,), prior=0.2, seed=5)
    mixed = [multi[0], Member(binary, loss_zoo.get("ce"), multi[0].train, multi[0].validation, 0.01, 0.0, 1)]
    assert can_batch(multi) and not can_batch(mixed)
