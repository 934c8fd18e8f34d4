"""The early-stopping rule (harness.learners.early_stopping) and the two trainers that follow it."""

from __future__ import annotations

import math

import numpy as np
import pytest
from sklearn.metrics import average_precision_score

import loss_zoo
from harness.learners.batched import Member, fit_batched
from harness.learners.early_stopping import EarlyStopping, Verdict
from harness.learners.models import build_model
from harness.learners.trainer import TrainConfig, as_tensors, fit

NAN, INF = float("nan"), float("inf")


def _run(rule: EarlyStopping, scores, losses=None) -> list[Verdict]:
    """Feed epochs until the rule stops; the verdicts."""
    verdicts = []
    for epoch, score in enumerate(scores):
        verdicts.append(rule.observe(epoch, score, None if losses is None else losses[epoch]))
        if verdicts[-1].stop:
            break
    return verdicts


def _kept(verdicts: list[Verdict]) -> int:
    """The epoch whose weights a trainer restores: the last one it was told to keep (-1: none)."""
    return max((e for e, v in enumerate(verdicts) if v.improved), default=-1)


def test_a_strictly_better_score_is_kept_and_the_report_says_so():
    rule = EarlyStopping(patience=2, monitor="score")
    verdicts = _run(rule, [0.1, 0.3, 0.2, 0.5])
    assert [v.improved for v in verdicts] == [True, True, False, True] and not any(v.stop for v in verdicts)
    report = rule.report()
    assert (report.best_score, report.best_epoch, report.epochs_run, report.stopped_by, report.reason) == \
        (0.5, 3, 4, "max_epochs", "")
    assert report.curve == [0.1, 0.3, 0.2, 0.5] and _kept(verdicts) == report.best_epoch


def test_a_tie_is_not_an_improvement_and_patience_counts_from_the_first_best():
    rule = EarlyStopping(patience=2, monitor="score")
    verdicts = _run(rule, [0.4, 0.4, 0.4, 0.9])
    assert [v.improved for v in verdicts] == [True, False, False] and verdicts[-1].stop
    assert (rule.best_epoch, rule.report().epochs_run, rule.stopped_by) == (0, 3, "early_stopping")


def test_patience_is_exhausted_patience_epochs_after_the_best():
    for patience in (0, 1, 3):
        rule = EarlyStopping(patience=patience, monitor="score")
        verdicts = _run(rule, [0.1, 0.5] + [0.2] * 10)
        # the best is epoch 1; the first epoch with epoch - 1 >= patience (and no improvement) stops
        assert len(verdicts) == 1 + max(patience, 1) + 1 and verdicts[-1] == Verdict(False, True)
        assert (rule.best_epoch, rule.stopped_by, _kept(verdicts)) == (1, "early_stopping", 1)


def test_patience_zero_stops_at_the_first_epoch_that_does_not_improve():
    rule = EarlyStopping(patience=0, monitor="score")
    assert len(_run(rule, [0.1, 0.2, 0.3, 0.3, 0.9])) == 4 and rule.best_epoch == 2


def test_the_loss_is_lower_is_better_and_the_score_follows_its_direction():
    losses = [0.9, 0.5, 0.7, 0.4]
    by_loss = EarlyStopping(patience=5, monitor="loss")
    assert [v.improved for v in _run(by_loss, [0.5, 0.1, 0.9, 0.2], losses)] == [True, True, False, True]
    assert (by_loss.best_epoch, by_loss.best_value) == (3, 0.2)  # the kept epoch reports its score
    lower = EarlyStopping(patience=5, monitor="score", higher_is_better=False)
    assert [v.improved for v in _run(lower, losses)] == [True, True, False, True]
    higher = EarlyStopping(patience=5, monitor="score", higher_is_better=True)
    assert [v.improved for v in _run(higher, losses)] == [True, False, False, False]


def test_the_loss_is_read_only_when_monitored():
    calls = []

    def loss():
        calls.append(1)
        return 0.3

    EarlyStopping(3, "score").observe(0, 0.5, loss)
    EarlyStopping(3, "none").observe(0, 0.5, loss)
    EarlyStopping(3, "loss").observe(0, NAN, loss)  # the score diverged first
    assert calls == []
    assert EarlyStopping(3, "loss").observe(0, 0.5, loss).improved and calls == [1]


@pytest.mark.parametrize("bad", [NAN, INF, -INF])
def test_a_non_finite_score_diverges_and_keeps_the_best_so_far(bad):
    rule = EarlyStopping(patience=5, monitor="score")
    verdicts = _run(rule, [0.2, 0.6, bad, 0.9])
    assert verdicts[-1] == Verdict(False, True) and len(verdicts) == 3
    report = rule.report()
    assert (report.stopped_by, report.reason) == ("diverged", "non-finite validation score at epoch 2")
    assert report.curve == [0.2, 0.6] and report.epochs_run == 2 and (report.best_epoch, report.best_score) == (1, 0.6)


def test_a_nan_validation_loss_never_improves_and_counts_towards_patience():
    rule = EarlyStopping(patience=2, monitor="loss")
    verdicts = _run(rule, [0.5, 0.6, 0.7, 0.8], [0.4, NAN, NAN, NAN])
    assert [v.improved for v in verdicts] == [True, False, False] and verdicts[-1].stop
    assert (rule.best_epoch, rule.stopped_by) == (0, "early_stopping")
    never = EarlyStopping(patience=2, monitor="loss")  # never finite: best_epoch -1, stops after `patience` epochs
    verdicts = _run(never, [0.5] * 5, [NAN] * 5)
    assert len(verdicts) == 2 and _kept(verdicts) == -1
    report = never.report()
    assert (report.best_epoch, report.epochs_run, report.stopped_by) == (-1, 2, "early_stopping")
    assert math.isnan(report.best_score)
    inf_loss = EarlyStopping(patience=1, monitor="loss")  # +inf: -inf is not above the starting -inf
    assert not inf_loss.observe(0, 0.5, INF).improved and inf_loss.best_epoch == -1


def test_a_non_finite_training_loss_diverges():
    rule = EarlyStopping(patience=2, monitor="loss")
    _run(rule, [0.5, 0.6], [0.3, 0.2])
    assert rule.diverged(2) == Verdict(False, True)
    report = rule.report()
    assert (report.best_epoch, report.epochs_run, report.stopped_by, report.reason) == \
        (1, 2, "diverged", "non-finite training loss at epoch 2")


def test_no_early_stopping_keeps_the_last_epoch_and_never_stops():
    rule = EarlyStopping(patience=0, monitor="none")
    verdicts = _run(rule, [0.9, 0.1, 0.05, 0.04])
    assert verdicts == [Verdict(False, False)] * 4  # nothing kept aside: the last weights stay
    report = rule.report()
    assert (report.best_epoch, report.best_score, report.epochs_run, report.stopped_by) == (3, 0.04, 4, "max_epochs")


def test_no_validation_split_counts_epochs_with_an_empty_curve():
    rule = EarlyStopping(patience=1, monitor="loss")
    assert [rule.observe(e, None) for e in range(3)] == [Verdict(False, False)] * 3
    report = rule.report()
    assert (report.best_epoch, report.epochs_run, report.stopped_by, report.curve) == (2, 3, "max_epochs", [])
    assert math.isnan(report.best_score)
    rule.diverged(3)
    assert (rule.report().best_epoch, rule.report().epochs_run, rule.report().stopped_by) == (2, 3, "diverged")


def test_pruning_is_asked_with_the_epoch_and_its_score():
    rule = EarlyStopping(patience=5, monitor="score")
    seen = []
    rule.observe(0, 0.4)
    assert not rule.prune(0, 0.4, None) and not rule.prune(0, 0.4, lambda e, v: seen.append((e, v)) or False)
    assert rule.prune(0, 0.4, lambda e, v: True) and rule.stopped_by == "pruned" and seen == [(0, 0.4)]


def test_an_unknown_monitor_is_refused():
    with pytest.raises(ValueError, match="monitor"):
        EarlyStopping(3, "metric")


# ---- the trainers follow the rule -----------------------------------------------------------

def _data(seed: int):
    rng = np.random.default_rng(seed)
    X = rng.normal(size=(700, 5)).astype(np.float32)
    y = (X[:, 0] - 0.5 * X[:, 1] + rng.normal(size=700) > 1.0).astype(int)
    return as_tensors(X[:450], y[:450]), as_tensors(X[450:], y[450:])


def _members(k: int) -> list[Member]:
    members = []
    for i in range(k):
        train, val = _data(i)
        model = build_model("mlp", 5, hidden_sizes=(8,), prior=0.2, seed=10 + i)
        members.append(Member(model, loss_zoo.get("ce" if i % 2 else "focal", **({} if i % 2 else {"gamma": 2.0})),
                              train, val, lr=0.05 * (i + 1), weight_decay=1e-4, seed=100 + i))
    return members


@pytest.mark.parametrize("stop_on", ["loss", "score", "none"])
def test_fit_and_the_stacked_trainer_stop_at_the_same_epoch(stop_on):
    config = TrainConfig(lr=0.0, weight_decay=0.0, max_epochs=15, batch_size=64, patience=2)
    alone, stacked = _members(4), _members(4)
    expected = [fit(m.model, m.loss, m.train, m.validation, TrainConfig(m.lr, m.weight_decay, 15, 64, 2), seed=m.seed,
                    score=average_precision_score, stop_on=stop_on) for m in alone]
    got = fit_batched(stacked, config, score=average_precision_score, stop_on=stop_on)
    assert [(r.best_epoch, r.epochs_run, r.stopped_by) for r in got] == \
        [(r.best_epoch, r.epochs_run, r.stopped_by) for r in expected]
    if stop_on != "none":
        assert "early_stopping" in {r.stopped_by for r in got}
    else:
        assert {r.stopped_by for r in got} == {"max_epochs"} and all(r.best_epoch == 14 for r in got)


def test_fit_reports_what_the_rule_says_of_its_curve():
    """On the score, the rule replayed over fit's curve gives fit's report."""
    for lr in (0.01, 0.2):
        train, val = _data(0)
        model = build_model("mlp", 5, hidden_sizes=(8,), prior=0.2, seed=3)
        report = fit(model, loss_zoo.get("ce"), train, val, TrainConfig(lr, 0.0, 30, 64, 3), seed=1,
                     score=average_precision_score, stop_on="score")
        replay = EarlyStopping(3, "score")
        _run(replay, report.curve)
        assert replay.report() == report


def test_fit_without_a_validation_split():
    train, _ = _data(0)
    model = build_model("mlp", 5, hidden_sizes=(8,), prior=0.2, seed=3)
    report = fit(model, loss_zoo.get("ce"), train, None, TrainConfig(0.01, 0.0, 4, 64, 1), seed=1,
                 score=average_precision_score, on_epoch=lambda e, v: True)  # no score: nothing to prune on
    assert (report.best_epoch, report.epochs_run, report.stopped_by, report.curve) == (3, 4, "max_epochs", [])
    assert math.isnan(report.best_score)


@pytest.mark.parametrize("monitor", ["score", "loss"])
def test_a_scheduled_loss_arms_the_rule_at_its_switch(monitor):
    """LDAM-DRW switches its weights on at epoch 3: epochs 0-2 are kept in turn and never stop the
    training (the score falls from epoch 0, which patience 1 would end at epoch 1), epoch 3 is kept
    whatever it scores, and patience counts from there."""
    scores = [0.9, 0.5, 0.4, 0.3, 0.35, 0.2, 0.1]
    losses = [1.0 - s for s in scores]
    unarmed = _run(EarlyStopping(patience=1, monitor=monitor), scores, losses)
    assert len(unarmed) == 2 and _kept(unarmed) == 0
    rule = EarlyStopping(patience=1, monitor=monitor, armed_from=3)
    verdicts = _run(rule, scores, losses)
    assert [v.improved for v in verdicts] == [True, True, True, True, True, False]
    assert verdicts[-1].stop and (rule.best_epoch, rule.best_value, _kept(verdicts)) == (4, 0.35, 4)
    assert rule.report().curve == scores[:6]
