"""A loss is declared once: every registry entry passes one contract over every consumer, and a
loss registered only here (positive-weighted cross-entropy) runs through the whole suite."""

from __future__ import annotations

import dataclasses
import math

import numpy as np
import optuna
import pytest
import torch
import torch.nn.functional as F
from conftest import TINY_SPEC
from sklearn.metrics import average_precision_score
from torch import nn

import loss_zoo
from harness import LossClassifier, learners
from harness.errors import UserError
from harness.learners.batched import Member, can_batch, fit_batched
from harness.learners.models import build_model
from harness.learners.trainer import TrainConfig, as_tensors, fit, predict_logits
from harness.methods import registry as methods
from harness.plan.checks import parse_spec
from harness.plan.resolve import method_of
from harness.running.benchmark import run_benchmark
from loss_zoo import BinaryTerms, LossEntry, Range
from loss_zoo.batched import binary_terms, member_losses


# -- a loss that exists only in this file ------------------------------------------------------
def pos_weighted_ce_loss(logits: torch.Tensor, targets: torch.Tensor, *, pos_weight: float,
                         reduction: str = "mean") -> torch.Tensor:
    r"""Positive-weighted binary cross-entropy, :math:`-w y \log p - (1 - y) \log(1 - p)`.

    Parameters
    ----------
    logits : Tensor, shape (N,)
    targets : Tensor, shape (N,), in {0, 1}
    pos_weight : float > 0
    reduction : {"none", "mean", "sum"}, default "mean"
    """
    y = targets.to(logits.dtype)
    per_sample = -(pos_weight * y * F.logsigmoid(logits) + (1 - y) * F.logsigmoid(-logits))
    return {"none": per_sample, "mean": per_sample.mean(), "sum": per_sample.sum()}[reduction]


class PosWeightedCELoss(nn.Module):
    """Module form of :func:`pos_weighted_ce_loss`."""

    def __init__(self, *, pos_weight: float, reduction: str = "mean") -> None:
        super().__init__()
        if reduction not in ("none", "mean", "sum"):
            raise ValueError(f"reduction: expected 'none', 'mean' or 'sum', got {reduction!r}")
        self.pos_weight, self.reduction = float(pos_weight), reduction

    def forward(self, logits, targets):
        return pos_weighted_ce_loss(logits, targets, pos_weight=self.pos_weight, reduction=self.reduction)


POS_WEIGHTED_CE = LossEntry(
    "pos_weighted_ce", pos_weighted_ce_loss, PosWeightedCELoss, "BCEWithLogitsLoss(pos_weight), PyTorch",
    params=lambda p, counts: {"pos_weight": p["pos_weighted_ce_pos_weight"]},
    space={"pos_weighted_ce_pos_weight": Range(1.0, 20.0, log=True, valid=(0.0, math.inf), default=4.0)},
    binary_terms=lambda loss: BinaryTerms(w1=loss.pos_weight),
    posterior=lambda z, *, pos_weight: np.asarray(z, dtype=np.float64) - math.log(pos_weight),
    multiclass=False,
)

ENTRIES = [*loss_zoo.available().values(), POS_WEIGHTED_CE]
COUNTS = {2: [900, 100], 3: [500, 30, 70]}


@pytest.fixture(params=ENTRIES, ids=lambda e: e.name)
def entry(request):
    """Each built-in entry, and the test-only one, registered for the test."""
    with loss_zoo.registered(request.param):
        yield request.param


def _problems(entry: LossEntry):
    """(n_classes, logits, targets) for each problem type the entry supports."""
    g = torch.Generator().manual_seed(0)
    for n_classes, supported in ((2, entry.binary), (3, entry.multiclass)):
        if supported:
            shape = (64,) if n_classes == 2 else (64, n_classes)
            yield n_classes, torch.randn(*shape, generator=g, dtype=torch.float64) * 3, torch.randint(0, n_classes, (64,), generator=g)


def _configurations(entry: LossEntry, n_classes: int = 2) -> list[dict]:
    """Tuned values at the defaults, and (binary: the benchmark's search space is binary, e.g.
    a scalar focal α) at each range's upper end."""
    high = {name: r.high for name, r in entry.space.items()}
    return [entry.defaults()] if n_classes > 2 else [entry.defaults(), high]


# -- (a) the contract, over every registered entry ------------------------------------------------
def test_module_equals_the_pure_function(entry):
    for n_classes, logits, targets in _problems(entry):
        for tuned in _configurations(entry, n_classes):
            params = entry.loss_params(tuned, COUNTS[n_classes])
            for reduction in ("mean", "none"):
                module = loss_zoo.get(entry.name, reduction=reduction, **params)
                assert isinstance(module, entry.module)
                torch.testing.assert_close(module(logits, targets),
                                           entry.function(logits, targets, reduction=reduction, **params))


def test_stacked_terms_give_the_module_value_and_gradient(entry):
    if not entry.binary or entry.binary_terms is None:
        pytest.skip(f"{entry.name}: no stacked form, trains one model at a time")
    modules = [loss_zoo.get(entry.name, **entry.loss_params(t, COUNTS[2])) for t in _configurations(entry)]
    assert all(binary_terms(m) is not None for m in modules)
    _, logits, targets = next(_problems(entry))
    stacked = logits.expand(len(modules), -1).clone().requires_grad_()
    values = member_losses(modules, torch.float64)(stacked, targets)
    values.sum().backward()
    for i, module in enumerate(modules):
        alone = logits.clone().requires_grad_()
        ref = module(alone, targets)
        ref.backward()
        torch.testing.assert_close(values[i].detach(), ref.detach(), rtol=1e-10, atol=1e-12)
        torch.testing.assert_close(stacked.grad[i], alone.grad, rtol=1e-10, atol=1e-12)


def test_the_method_builds_the_module_and_its_search_space(entry):
    method = methods.get(entry.name)
    assert entry.name in methods.available() and method.loss == entry.name
    assert set(method.full_space) == {*learners.space("mlp"), *entry.space}
    assert list(methods.LOSSES[entry.name].space) == list(entry.space)
    params = method.suggest(optuna.create_study(sampler=optuna.samplers.RandomSampler(seed=0)).ask())
    assert set(entry.space) <= set(params)
    assert method.loss_params(params, COUNTS[2]) == entry.params(params, COUNTS[2])
    assert isinstance(method.build(params, COUNTS[2]), entry.module)
    # a choice of tuned_loss wherever a spec lists it (the default choices are frozen: see below)
    spec = parse_spec({**TINY_SPEC, "methods": [entry.name, f"{entry.name}+smote", "tuned_loss"],
                       "tuning": {**TINY_SPEC["tuning"], "tuned_loss": {"losses": list(dict.fromkeys(["ce", entry.name]))}}})
    assert method_of(spec, entry.name).loss == entry.name
    tuned = method_of(spec, "tuned_loss")
    assert entry.name in tuned.losses and set(entry.space) <= set(tuned.full_space)


def test_tuned_loss_defaults_to_the_published_six_whatever_is_registered():
    """A loss added to the zoo leaves tuned_loss's default choices, and so the published specs'
    hash and results, as they were."""
    six = ["ce", "weighted_ce", "focal", "focal_flsd", "class_balanced_focal", "logit_adjusted_ce"]
    with loss_zoo.registered(POS_WEIGHTED_CE):
        assert list(methods.tuned_loss().losses) == six
        assert parse_spec(TINY_SPEC).tuning.tuned_loss.losses == six


def test_loss_classifier_fits_and_predicts(entry):
    keywords = {keyword: entry.defaults().get(name) for keyword, name in entry.estimator.items()}
    for n_classes, _, _ in _problems(entry):
        rng = np.random.default_rng(n_classes)
        X = rng.normal(size=(150, 3))
        y = np.argmax(X[:, :n_classes] + rng.normal(scale=0.5, size=(150, n_classes)), axis=1)
        clf = LossClassifier(loss=entry.name, max_epochs=3, random_state=0, **keywords).fit(X, y)
        assert clf.predict_proba(X).shape == (150, n_classes) and set(clf.predict(X)) <= set(range(n_classes))
        assert clf.n_iter_ == 3


def test_posterior_correction_is_finite_and_strictly_increasing(entry):
    if entry.posterior is None:
        pytest.skip(f"{entry.name}: no closed-form posterior correction")
    z = np.linspace(-30.0, 30.0, 601)
    for tuned in _configurations(entry):
        params = entry.loss_params(tuned, COUNTS[2])
        eta = loss_zoo.posterior_logits(entry.name, z, **params)
        assert eta.shape == z.shape and np.isfinite(eta).all(), entry.name
        assert (np.diff(eta) > 0).all(), entry.name


def test_entry_declares_citation_and_estimator_keywords(entry):
    assert entry.citation and entry.function.__doc__ and "Parameters" in entry.function.__doc__
    assert set(entry.estimator) <= set(LossClassifier().get_params())


# -- (b) the loss registered here runs through every consumer ---------------------------------------
def test_registration_is_undone_and_a_known_name_is_not_overwritten():
    assert "pos_weighted_ce" not in loss_zoo.available()
    with pytest.raises(UserError, match="unknown method 'pos_weighted_ce'"):
        parse_spec({**TINY_SPEC, "methods": ["pos_weighted_ce"]})
    with pytest.raises(ValueError, match="entry.name: expected a new name, got 'focal'"):
        loss_zoo.register(loss_zoo.entry("focal"))
    clash = dataclasses.replace(POS_WEIGHTED_CE, space={"focal_gamma": Range(0.0, 1.0)})
    with pytest.raises(ValueError, match=r"entry.space: expected parameter names of its own .* got \['focal_gamma'\]"):
        loss_zoo.register(clash)
    with loss_zoo.registered(POS_WEIGHTED_CE):
        assert list(loss_zoo.available())[-1] == "pos_weighted_ce"
        assert parse_spec({**TINY_SPEC, "methods": ["pos_weighted_ce"]}).methods == ["pos_weighted_ce"]
    assert "pos_weighted_ce" not in loss_zoo.available() and "pos_weighted_ce" not in methods.LOSSES


def test_loss_classifier_with_the_test_loss_and_no_estimator_keyword():
    rng = np.random.default_rng(0)
    X = rng.normal(size=(300, 4))
    y = (X[:, 0] + rng.normal(scale=0.5, size=300) > 1.0).astype(int)
    with loss_zoo.registered(POS_WEIGHTED_CE):
        clf = LossClassifier(loss="pos_weighted_ce", max_epochs=20, early_stopping=True, random_state=0).fit(X, y)
        assert clf.loss_params_ == {"pos_weight": 4.0}  # the declared default
        assert (clf.predict(X) == y).mean() > 0.8
        with pytest.raises(ValueError, match="loss: expected a loss for 3-class problems, got 'pos_weighted_ce'"):
            LossClassifier(loss="pos_weighted_ce", max_epochs=1).fit(X, np.arange(300) % 3)


def _member(loss: nn.Module, seed: int) -> Member:
    rng = np.random.default_rng(0)
    X = rng.normal(size=(500, 5)).astype(np.float32)
    y = (X[:, 0] - X[:, 1] + rng.normal(size=500) > 1.5).astype(int)
    model = build_model("mlp", 5, hidden_sizes=(8,), prior=0.15, seed=seed)
    return Member(model, loss, as_tensors(X[:350], y[:350]), as_tensors(X[350:], y[350:]),
                  lr=0.02, weight_decay=1e-4, seed=seed)


def test_the_stacked_trainer_trains_the_test_loss_as_fit_does_alone():
    config = TrainConfig(lr=0.0, weight_decay=0.0, max_epochs=8, batch_size=64, patience=3)
    with loss_zoo.registered(POS_WEIGHTED_CE):
        losses = [{"pos_weight": 3.0}, {"pos_weight": 12.0}]
        alone = [_member(loss_zoo.get("pos_weighted_ce", **p), 10 + i) for i, p in enumerate(losses)]
        stacked = [_member(loss_zoo.get("pos_weighted_ce", **p), 10 + i) for i, p in enumerate(losses)]
        assert can_batch(stacked)
        expected = [fit(m.model, m.loss, m.train, m.validation, TrainConfig(m.lr, m.weight_decay, 8, 64, 3),
                        seed=m.seed, score=average_precision_score) for m in alone]
        got = fit_batched(stacked, config, score=average_precision_score)
    for a, b, ma, mb in zip(expected, got, alone, stacked):
        assert (a.best_epoch, a.epochs_run, a.stopped_by) == (b.best_epoch, b.epochs_run, b.stopped_by)
        np.testing.assert_allclose(b.curve, a.curve, rtol=1e-4, atol=1e-5)
        torch.testing.assert_close(predict_logits(mb.model, ma.validation[0]),
                                   predict_logits(ma.model, ma.validation[0]), rtol=1e-4, atol=1e-4)


def test_batch_level_and_margin_losses_train_one_model_at_a_time():
    """OHEM and MMCE (batch-level) and ASL (a margin on the negatives' probability) declare no
    per-sample terms: the torch learner leaves them out of its stacks and trains each alone with
    the autograd trainer; a per-sample loss beside them still stacks."""
    from harness.learners.base import FitTask
    from harness.learners.torch_mlp import TorchLearner

    rng = np.random.default_rng(0)
    X = rng.normal(size=(400, 4)).astype(np.float32)
    y = (X[:, 0] + rng.normal(scale=0.7, size=400) > 1.2).astype(int)
    tasks = [FitTask(X[:300], y[:300], X[300:], y[300:], name, params, {"lr": 0.01, "weight_decay": 1e-4}, seed=i)
             for i, (name, params) in enumerate([("ohem", {"keep": 0.5, "neg_pos_ratio": 3.0}),
                                                 ("asl", {"gamma_neg": 4.0, "clip": 0.05}), ("mmce", {"lam": 8.0}),
                                                 ("poly1", {"epsilon": 1.0})])]
    learner = TorchLearner("mlp", (8,), 0.0, TrainConfig(0.0, 0.0, 5, 64, 3), average_precision_score, True, "loss",
                           True, torch.device("cpu"))
    members = [learner._member(task, {}) for task in tasks]
    assert [can_batch([m]) for m in members] == [False, False, False, True]
    assert learner._stack_groups(members) == [[3]]
    fitted = learner.fit(tasks)
    assert all(f.report.epochs_run >= 1 and np.isfinite(f.predict_logits(X[300:])).all() for f in fitted)


def test_a_tiny_benchmark_runs_the_test_loss_end_to_end(tmp_path):
    raw = {**TINY_SPEC, "imbalance_ratios": [10], "methods": ["ce", "pos_weighted_ce"],
           "tuning": {"n_trials": 2, "search_space": {"pos_weighted_ce_pos_weight": [2.0, 8.0]}},
           "evaluation": {"repetitions": 1, "plots": False}}
    with loss_zoo.registered(POS_WEIGHTED_CE):
        outcome = run_benchmark(parse_spec(raw), results_root=tmp_path, tracking_uri=None, progress=False,
                                storage="memory")
    assert not outcome.failed
    table = outcome.table
    ours = table[table["method"] == "pos_weighted_ce"]
    assert len(ours) and ours["value"].notna().all()
    assert "closed_form" in set(ours["calibration"])  # the entry's posterior correction was used
