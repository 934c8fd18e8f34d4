"""K models trained as one stack give what each gives trained alone (harness.learners.trainer.fit)."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from sklearn.metrics import average_precision_score, brier_score_loss

import loss_zoo
from harness.learners.batched import Member, can_batch, fit_batched
from harness.learners.models import build_model
from harness.learners.trainer import TrainConfig, as_tensors, fit, predict_logits

LOSSES = [
    ("ce", {}), ("weighted_ce", {"weight": [0.6, 3.1]}), ("focal", {"gamma": 2.0}),
    ("focal", {"gamma": 0.7, "alpha": 0.3}), ("focal_flsd", {}),
    ("class_balanced_focal", {"counts": [800, 200], "beta": 0.99, "gamma": 1.0}),
    ("logit_adjusted_ce", {"prior": [0.8, 0.2], "tau": 1.0}),
]


def _data(seed: int, n: int = 900, d: int = 6):
    rng = np.random.default_rng(seed)
    X = rng.normal(size=(n, d)).astype(np.float32)
    y = (X[:, 0] - 0.5 * X[:, 1] + rng.normal(size=n) > 1.2).astype(int)
    return as_tensors(X[:600], y[:600]), as_tensors(X[600:], y[600:])


def _members(k: int, hidden, per_member_data: bool, prune_at: dict[int, int] | None = None):
    shared = _data(0)
    rng = np.random.default_rng(1)
    members = []
    for i in range(k):
        train, val = _data(10 + i) if per_member_data else shared
        name, params = LOSSES[i % len(LOSSES)]
        model = build_model("mlp" if hidden else "logistic", 6, hidden_sizes=hidden, prior=0.2, seed=100 + i)
        stop = (prune_at or {}).get(i)
        members.append(Member(model, loss_zoo.get(name, **params), train, val, lr=float(10 ** rng.uniform(-3, -1.3)),
                              weight_decay=float(10 ** rng.uniform(-6, -2)), seed=1000 + i,
                              on_epoch=None if stop is None else (lambda epoch, value, stop=stop: epoch >= stop)))
    return members


@pytest.mark.parametrize(("hidden", "per_member_data", "stop_on"),
                         [((16, 8), False, "loss"), ((16, 8), True, "loss"), ((), False, "score"), ((12,), True, "score")])
def test_a_stack_trains_each_member_as_fit_does_alone(hidden, per_member_data, stop_on):
    config = TrainConfig(lr=0.0, weight_decay=0.0, max_epochs=12, batch_size=64, patience=3)
    prune = {2: 1, 5: 4}  # members 2 and 5 are pruned by their callbacks
    alone, stacked = _members(9, hidden, per_member_data, prune), _members(9, hidden, per_member_data, prune)
    expected = [fit(m.model, m.loss, m.train, m.validation,
                    TrainConfig(m.lr, m.weight_decay, config.max_epochs, config.batch_size, config.patience),
                    seed=m.seed, score=average_precision_score, on_epoch=m.on_epoch, stop_on=stop_on) for m in alone]
    got = fit_batched(stacked, config, score=average_precision_score, stop_on=stop_on)
    assert {r.stopped_by for r in expected} >= {"pruned", "early_stopping" if stop_on == "loss" else "pruned"}
    for a, b, ma, mb in zip(expected, got, alone, stacked):
        assert (a.best_epoch, a.epochs_run, a.stopped_by) == (b.best_epoch, b.epochs_run, b.stopped_by)
        np.testing.assert_allclose(b.curve, a.curve, rtol=1e-4, atol=1e-5)
        torch.testing.assert_close(predict_logits(mb.model, ma.validation[0]), predict_logits(ma.model, ma.validation[0]),
                                   rtol=1e-4, atol=1e-4)


def test_lower_is_better_scores_and_a_single_member_left():
    config = TrainConfig(lr=0.0, weight_decay=0.0, max_epochs=8, batch_size=128, patience=2)
    alone, stacked = _members(3, (8,), False, {0: 0, 1: 0}), _members(3, (8,), False, {0: 0, 1: 0})
    expected = [fit(m.model, m.loss, m.train, m.validation, TrainConfig(m.lr, m.weight_decay, 8, 128, 2), seed=m.seed,
                    score=brier_score_loss, higher_is_better=False, on_epoch=m.on_epoch, stop_on="score") for m in alone]
    got = fit_batched(stacked, config, score=brier_score_loss, higher_is_better=False, stop_on="score")
    assert [r.epochs_run for r in got] == [r.epochs_run for r in expected] and got[0].epochs_run == 1
    for a, b in zip(expected, got):
        np.testing.assert_allclose(b.curve, a.curve, rtol=1e-4, atol=1e-6)


def test_a_diverging_member_fails_alone_and_keeps_its_weights_as_fit_does():
    config = TrainConfig(lr=0.0, weight_decay=0.0, max_epochs=5, batch_size=64, patience=5)
    members = _members(3, (8,), False)
    with torch.no_grad():
        members[1].model.net[0].weight[0, 0] = float("nan")  # poisoned from the first step
    got = fit_batched(members, config, score=average_precision_score)
    assert got[1].stopped_by == "diverged" and "non-finite training loss at epoch 0" in got[1].reason
    assert torch.isnan(predict_logits(members[1].model, members[1].validation[0])).all()
    assert [got[0].stopped_by, got[2].stopped_by] != ["diverged", "diverged"]
    assert all(np.isfinite(got[i].curve).all() and got[i].epochs_run > 0 for i in (0, 2))


def test_what_cannot_share_a_stack():
    members = _members(2, (8,), False)
    assert can_batch(members) and can_batch(members[:1]) and not can_batch([])
    dropout = build_model("mlp", 6, hidden_sizes=(8,), dropout=0.2, seed=0)
    assert not can_batch([members[0], Member(dropout, *[getattr(members[1], f) for f in ("loss", "train", "validation", "lr", "weight_decay", "seed")])])
    wider = build_model("mlp", 6, hidden_sizes=(9,), seed=0)
    assert not can_batch([members[0], Member(wider, *[getattr(members[1], f) for f in ("loss", "train", "validation", "lr", "weight_decay", "seed")])])
    smaller = (members[1].train[0][:500], members[1].train[1][:500])
    assert not can_batch([members[0], Member(members[1].model, members[1].loss, smaller, members[1].validation, 0.01, 0.0, 1)])
    multi = loss_zoo.get("focal", gamma=1.0, alpha=[0.2, 0.8])
    assert not can_batch([members[0], Member(members[1].model, multi, members[1].train, members[1].validation, 0.01, 0.0, 1)])
    with pytest.raises(ValueError, match="cannot train as one stack"):
        fit_batched([members[0], Member(wider, members[1].loss, members[1].train, members[1].validation, 0.01, 0.0, 1)],
                    TrainConfig(0.0, 0.0, 1, 64, 1), score=average_precision_score)
