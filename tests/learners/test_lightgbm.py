"""The LightGBM learner: hand-written derivatives against torch autograd, CE against LightGBM's
own binary objective, the focal surrogate still descends, and the scikit-learn estimator."""

from __future__ import annotations

import dataclasses

import lightgbm as lgb
import numpy as np
import pytest
import torch
import torch.nn.functional as F
from sklearn.datasets import make_classification
from sklearn.metrics import average_precision_score
from sklearn.utils.estimator_checks import parametrize_with_checks

import loss_zoo
from harness import LightGBMLossClassifier
from harness.learners.base import FitTask
from harness.learners.lightgbm_learner import (
    LightGBMLearner,
    booster_params,
    cannot_take,
    derivatives,
    objective_hessian,
    optimal_constant,
    per_sample_loss,
    terms_of,
)

SCORES = np.linspace(-30.0, 30.0, 241)
COUNTS = [900, 100]
WITH_TERMS = [name for name, e in loss_zoo.available().items() if e.binary and e.binary_terms is not None]


def _params(name: str, where: float = 0.5) -> dict:
    """The loss's own parameters with every tuned parameter inside its range (not at a bound)."""
    entry = loss_zoo.entry(name)
    tuned = {k: r.low + where * (r.high - r.low) for k, r in entry.space.items()}
    return entry.loss_params(tuned, COUNTS)


def _torch_terms(t: loss_zoo.BinaryTerms, z: torch.Tensor, y: int) -> torch.Tensor:
    """The per-sample form written in torch (an independent reference for double autograd)."""
    u = (1.0 if y == 1 else -1.0) * (z + t.shift)
    p, log_p, log_q = torch.sigmoid(u), F.logsigmoid(u), F.logsigmoid(-u)
    gamma = torch.where(p.detach() < t.threshold, t.g0, t.g1)
    w = (t.w1 if y == 1 else t.w0) * (torch.where(u.detach() > 0, 2.0 ** gamma.to(u.dtype), 1.0) if t.dual else 1.0)
    q = torch.sigmoid(-u)
    return -w * torch.exp(gamma * log_q) * log_p + t.smoothing / 2 * u + t.poly * q + t.brier * q**2


@pytest.mark.parametrize("name", WITH_TERMS)
@pytest.mark.parametrize("where", [0.2, 0.5, 0.9])
@pytest.mark.parametrize("y", [0, 1])
def test_gradient_and_hessian_equal_autograd(name, where, y):
    """dℓ/dz equals autograd through the zoo's own function (reduction='none'), and d²ℓ/dz²
    autograd's second derivative of the per-sample form, whose values equal the zoo's, all in
    float64 at scores from −30 to 30."""
    params = _params(name, where)
    terms = terms_of(name, params)
    z = torch.tensor(SCORES, dtype=torch.float64, requires_grad=True)
    target = torch.full((len(SCORES),), y, dtype=torch.long)
    zoo = loss_zoo.entry(name).function(z, target, **params, reduction="none")
    (zoo_grad,) = torch.autograd.grad(zoo.sum(), z)
    ref = _torch_terms(terms, z, y)
    (ref_grad,) = torch.autograd.grad(ref.sum(), z, create_graph=True)
    (ref_hess,) = torch.autograd.grad(ref_grad.sum(), z)
    labels = np.full(len(SCORES), y)
    grad, hess = derivatives(terms, SCORES, labels)
    np.testing.assert_allclose(per_sample_loss(terms, SCORES, labels), zoo.detach().numpy(), rtol=1e-9, atol=1e-9)
    np.testing.assert_allclose(ref.detach().numpy(), zoo.detach().numpy(), rtol=1e-9, atol=1e-9)
    np.testing.assert_allclose(grad, zoo_grad.numpy(), rtol=1e-6, atol=1e-9)
    np.testing.assert_allclose(grad, ref_grad.detach().numpy(), rtol=1e-6, atol=1e-9)
    np.testing.assert_allclose(hess, ref_hess.numpy(), rtol=1e-6, atol=1e-9)


@pytest.mark.parametrize("name", WITH_TERMS)
def test_surrogate_hessian_is_positive_and_exact_where_it_can_be(name):
    terms = terms_of(name, _params(name))
    for y in (0, 1):
        labels = np.full(len(SCORES), y)
        _, exact = derivatives(terms, SCORES, labels)
        _, used = objective_hessian(terms, SCORES, labels)
        assert np.all(used >= exact) and np.all(used[np.abs(SCORES) < 20] > 0)
        if terms.g0 == terms.g1 == terms.poly == terms.brier == 0:
            np.testing.assert_array_equal(used, exact)  # CE-like losses and label smoothing: the exact Hessian


@pytest.mark.parametrize("name,params", [("focal", {"gamma": 3.0, "alpha": None}), ("dual_focal", {"gamma": 3.0}),
                                         ("poly1", {"epsilon": 3.0}), ("brier", {})])
def test_hessian_is_negative_somewhere_so_a_surrogate_is_needed(name, params):
    """Focal (γ N > 2γ + 1), dual focal (the same), poly-1 with ε > 1 and the Brier loss (p_t < 1/3)
    are not convex in the score: their exact Hessian is negative for misclassified samples."""
    _, exact = derivatives(terms_of(name, params), SCORES, np.ones(len(SCORES), dtype=int))
    assert exact.min() < 0


def _data(n=2000, seed=0):
    X, y = make_classification(n, 8, n_informative=5, weights=[0.85], random_state=seed)
    return X, y


def test_init_score_is_the_losss_optimal_constant():
    _, y = _data()
    ce = terms_of("ce", {})
    assert optimal_constant(ce, y) == pytest.approx(np.log(y.mean() / (1 - y.mean())), abs=1e-10)
    focal = terms_of("focal", {"gamma": 2.0, "alpha": 0.25})
    c = optimal_constant(focal, y)
    mean = [per_sample_loss(focal, np.full(len(y), c + d), y).mean() for d in (-1e-3, 0.0, 1e-3)]
    assert mean[1] < mean[0] and mean[1] < mean[2]


def test_ce_objective_reproduces_lightgbms_binary_objective():
    X, y = _data()
    params = booster_params({"lgbm_num_leaves": 15, "lgbm_learning_rate": 0.1, "lgbm_min_child_samples": 10}, 7)
    builtin = lgb.train({**params, "objective": "binary", "boost_from_average": True}, lgb.Dataset(X, y),
                        num_boost_round=30)
    ce = terms_of("ce", {})
    init = float(np.log(y.mean() / (1 - y.mean())))  # the built-in's boost_from_average
    custom = lgb.train({**params, "objective": lambda z, data: objective_hessian(ce, z, data.get_label())},
                       lgb.Dataset(X, y, init_score=np.full(len(y), init)), num_boost_round=30)
    np.testing.assert_allclose(custom.predict(X, raw_score=True) + init, builtin.predict(X, raw_score=True),
                               rtol=0, atol=1e-6)


@pytest.mark.parametrize("name,params", [("focal", {"gamma": 1.0, "alpha": None}), ("focal", {"gamma": 3.0, "alpha": None}),
                                         ("poly1", {"epsilon": 3.0}), ("brier", {}), ("dual_focal", {"gamma": 2.0}),
                                         ("label_smoothing", {"epsilon": 0.1})])
def test_surrogate_still_decreases_the_loss(name, params):
    X, y = _data()
    terms = terms_of(name, params)
    init = optimal_constant(terms, y)
    booster = lgb.train({**booster_params({}, 0), "objective": lambda z, d: objective_hessian(terms, z, d.get_label())},
                        lgb.Dataset(X, y, init_score=np.full(len(y), init)), num_boost_round=50)
    losses = [per_sample_loss(terms, init + (booster.predict(X, raw_score=True, num_iteration=k) if k else 0.0), y).mean()
              for k in (0, 1, 10, 50)]
    assert losses[0] > losses[1] > losses[2] > losses[3]


def test_learner_early_stops_prunes_and_is_deterministic():
    X, y = _data(3000)
    task = FitTask(X[:2000], y[:2000], X[2000:], y[2000:], "focal", {"gamma": 2.0, "alpha": None},
                   {"lgbm_learning_rate": 0.3}, seed=5)
    learner = LightGBMLearner(average_precision_score, True, max_rounds=400, patience=10)
    a, b = learner.fit([task, task])
    assert a.report.stopped_by == "early_stopping" and a.report.epochs_run < 400
    np.testing.assert_array_equal(a.predict_logits(X), b.predict_logits(X))
    steps = []
    pruned = learner.fit_one(dataclasses.replace(task, on_step=lambda step, value: steps.append(step) or step == 3))
    assert pruned.report.stopped_by == "pruned" and steps == [0, 1, 2, 3]
    last = LightGBMLearner(average_precision_score, True, max_rounds=25, patience=None).fit_one(task)
    assert last.report.stopped_by == "max_rounds" and last.report.best_epoch == 24


@pytest.mark.parametrize("name,params", [("ohem", {"keep": 0.25}), ("mmce", {"lam": 8.0})])
def test_a_loss_without_binary_terms_is_refused_in_one_line(name, params):
    """OHEM and MMCE are batch-level losses (which samples count, a kernel sum over the batch):
    LightGBM refuses them (the MLP trains them one model at a time)."""
    assert cannot_take(name) == "its entry declares no per-sample binary terms for a custom objective"
    with pytest.raises(ValueError, match=rf"^loss: LightGBM cannot train '{name}' .*\(its entry declares no per-sample"):
        terms_of(name, params)


def test_asl_boosts_through_autograd_derivatives():
    """ASL's probability margin has no place in the hand-derived per-sample form, but its loss is
    per-sample: boosting takes its gradient by autograd (as Luo et al. 2025 boost it in their gbdtcbl package). The
    gradient equals autograd's; the Hessian is the positive surrogate max(exact, p_t|dl/dz|)."""
    from harness.learners.torch_objective import TorchObjective
    from loss_zoo.asymmetric import asl_loss

    assert cannot_take("asl") is None
    rng = np.random.default_rng(3)
    z, y = rng.normal(0, 3, 400), rng.integers(0, 2, 400)
    objective = TorchObjective.of("asl", {"gamma_neg": 4.0, "clip": 0.05})
    grad, hess = objective.gradient_hessian(z, y)
    zt = torch.tensor(z, requires_grad=True)
    asl_loss(zt, torch.tensor(y), gamma_neg=4.0, clip=0.05, reduction="sum").backward()
    np.testing.assert_allclose(grad, zt.grad.numpy(), rtol=1e-10, atol=1e-12)
    assert np.all(hess >= 0) and np.all(np.isfinite(hess))
    dropped = (y == 0) & (1 / (1 + np.exp(-z)) <= 0.05)  # negatives below the margin: no loss at all
    assert dropped.any() and np.all(grad[dropped] == 0)
    X, labels = _data()
    fitted = LightGBMLearner(average_precision_score, True, max_rounds=20).fit_one(
        FitTask(X, labels, X, labels, "asl", {"gamma_neg": 4.0, "clip": 0.05}, {}, 0))
    assert average_precision_score(labels, fitted.predict_logits(X)) > labels.mean() + 0.1


def test_a_spec_asking_lightgbm_for_ohem_is_refused_unless_only_keeps_them_apart():
    from conftest import TINY_SPEC

    from harness.errors import UserError
    from harness.plan.checks import parse_spec

    base = {k: v for k, v in TINY_SPEC.items() if k != "model"}
    models = [{"name": "mlp", "hidden_sizes": [8]}, {"name": "lightgbm"}]
    with pytest.raises(UserError, match=r"^spec: methods\[1\]: model 'lightgbm' cannot train with loss 'ohem' "
                                        r"\(its entry declares no per-sample binary terms for a custom objective\)$"):
        parse_spec({**base, "methods": ["ce", "ohem"], "models": models})
    kept_apart = [models[0], {"name": "lightgbm", "only": {"methods": ["ce"]}}]
    assert parse_spec({**base, "methods": ["ce", "ohem"], "models": kept_apart}).method_keys == ["ce", "ohem"]
    on_mlp = [{"name": "ohem", "only": {"models": ["mlp"]}}]
    assert parse_spec({**base, "methods": ["ce", *on_mlp], "models": models}).method_keys == ["ce", "ohem"]


def test_a_multiclass_task_with_a_binary_only_loss_says_so():
    """Multi-class data trains the multi-class objective (tests/learners/test_lightgbm_multiclass.py);
    a loss without a multi-class form is refused in one line naming it."""
    X, y = _data()
    with pytest.raises(ValueError, match=r"^loss: multi-class LightGBM cannot train 'asl' .*\(not a multi-class loss\)$"):
        LightGBMLearner(average_precision_score, True).fit_one(FitTask(X, y % 3 + (y == 1), X, y, "asl", {}, {}, 0))


@parametrize_with_checks([LightGBMLossClassifier(random_state=0),
                          LightGBMLossClassifier(loss="focal", gamma=2.0, n_estimators=20,
                                                 random_state=0)])
def test_sklearn_estimator_checks(estimator, check):
    check(estimator)


def test_estimator_early_stopping_keeps_the_best_round():
    X, y = _data()
    clf = LightGBMLossClassifier(loss="focal", n_estimators=400, learning_rate=0.3, early_stopping=True,
                                 validation_fraction=0.3, random_state=0).fit(X, y)
    assert 1 <= clf.n_iter_ < 400 and clf.predict_proba(X).shape == (len(y), 2)


def test_estimator_on_multiclass_data_boosts_the_multiclass_objective():
    """Three classes: C trees per round on the multi-class objective, (n, 3) logits; with CE its
    raw scores follow LightGBM's built-in ``multiclass`` grown from the same per-class constant
    (tests/learners/test_lightgbm_multiclass.py checks the objective itself to 1e-6)."""
    X, y = make_classification(600, 6, n_informative=4, n_classes=3, weights=[0.7, 0.2, 0.1], random_state=2)
    labels = np.array(["a", "b", "c"])[y]
    clf = LightGBMLossClassifier(n_estimators=15, num_leaves=7, random_state=0).fit(X, labels)
    assert list(clf.classes_) == ["a", "b", "c"] and clf.decision_function(X).shape == (600, 3)
    proba = clf.predict_proba(X)
    np.testing.assert_allclose(proba.sum(axis=1), 1.0, rtol=1e-12)
    assert (clf.predict(X) == np.array(["a", "b", "c"])[proba.argmax(1)]).all() and (clf.predict(X) == labels).mean() > 0.8
    init = np.asarray(clf.init_score_)
    seed = int(np.random.RandomState(0).randint(0, 2**31 - 1))  # the estimator's, from random_state=0
    params = {**booster_params(clf._params(), seed), "objective": "multiclass", "num_class": 3}
    builtin = lgb.train(params, lgb.Dataset(X, y, init_score=np.tile(init, (600, 1))), num_boost_round=15)
    np.testing.assert_allclose(clf.decision_function(X), builtin.predict(X, raw_score=True) + init, atol=1e-6)
    focal = LightGBMLossClassifier("focal", gamma=2.0, n_estimators=40, learning_rate=0.3, early_stopping=True,
                                   validation_fraction=0.3, random_state=0).fit(X, labels)
    assert 1 <= focal.n_iter_ <= 40 and focal.predict_proba(X).shape == (600, 3)
