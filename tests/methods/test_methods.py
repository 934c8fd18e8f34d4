"""Methods and samplers: names, search spaces, and resampling confined to the training split."""

from __future__ import annotations

import numpy as np
import pytest

from harness.methods import registry as methods
from harness.methods import samplers
from harness.plan.cells import planned
from harness.plan.checks import parse_spec
from harness.plan.data import DataProvider
from harness.running.cell import run_cell


def test_method_names_combine_losses_and_samplers():
    m = methods.get("smote")
    assert (m.loss, m.sampler) == ("ce", "smote")
    m = methods.get("focal+random_under")
    assert (m.loss, m.sampler) == ("focal", "random_under")
    assert {"lr", "weight_decay", "focal_gamma", "focal_alpha", "random_under_balance"} == set(m.full_space)
    assert "smote_k_neighbors" in methods.get("weighted_ce+smote").full_space
    with pytest.raises(ValueError, match=r"unknown sampler 'smot' \(did you mean smote"):
        methods.get("focal+smot")
    with pytest.raises(ValueError, match=r"unknown loss 'foca' \(did you mean focal"):
        methods.get("foca+smote")
    with pytest.raises(ValueError, match="unknown method 'smoth'"):
        methods.get("smoth")


@pytest.mark.parametrize("name", ["random_forest", "bagging"])
def test_a_plain_ensemble_is_a_method_that_is_its_own_learner(name):
    """Like imbalanced-learn's: no loss, its own space, one ``ensemble`` cell per dataset and
    ratio seeded like the others, and a spec entry as benchmarks/full.yaml writes them."""
    from harness.learners import ensembles
    from harness.plan.cells import expand
    from harness.plan.resolve import method_of

    m = methods.get(name)
    assert name in methods.available() and m.ensemble == name and m.loss == "none" and m.resolve({}) == (None, None)
    assert m.for_learner("mlp").full_space == ensembles.SPACES[name]
    n_estimators = {"random_forest": "rf_n_estimators", "bagging": "bag_n_estimators"}[name]
    spec = parse_spec({
        "name": "s", "seed": 1, "datasets": [{"name": "synthetic/gaussian", "params": {"n_samples": 600}}],
        "imbalance_ratios": [10], "model": {"name": "logistic"}, "tuning": {"n_trials": 2},
        "methods": ["ce", {"name": name, "only": {"task": "binary"}, "search_space": {n_estimators: [5, 10]}}],
    })
    assert method_of(spec, name).full_space[n_estimators].high == 10
    cell = expand(spec)[-1]
    assert (cell.model_key, cell.method, cell.seed_parts) == ("ensemble", name, ("ensemble",))


@pytest.mark.parametrize("name", sorted(samplers.available()))
def test_every_sampler_raises_the_minority_share(name):
    rng = np.random.default_rng(0)
    X = np.concatenate([rng.normal(0, 1, (400, 3)), rng.normal(1.5, 1, (40, 3))])
    y = np.array([0] * 400 + [1] * 40)
    params = {f"{name}_balance": 1.0, f"{name}_k_neighbors": 5}
    X2, y2 = samplers.resample(name, params, X, y, seed=1)
    assert y2.mean() > y.mean() + 0.1
    X3, y3 = samplers.resample(name, params, X, y, seed=1)
    np.testing.assert_array_equal(X2, X3)  # seeded
    unchanged = samplers.resample(name, {**params, f"{name}_balance": 0.0}, X, y, seed=1)
    assert unchanged[0] is X


@pytest.mark.parametrize("name", sorted(samplers.available()))
def test_a_balance_below_one_new_sample_leaves_the_data_as_is(name):
    """imbalanced-learn raises when a float strategy would create no sample (b · (n0 − n1) < 1)."""
    rng = np.random.default_rng(0)
    X, y = rng.normal(size=(139, 3)), np.array([0] * 92 + [1] * 47)
    params = {f"{name}_balance": 0.01, f"{name}_k_neighbors": 5}
    X2, y2 = samplers.resample(name, params, X, y, seed=1)
    assert (X2 is X) if name != "random_under" else len(y2) <= len(y)
    assert samplers.resample(name, {**params, f"{name}_balance": 0.5}, X, y, seed=1)[0] is not X


def test_sampler_only_ever_sees_training_rows(monkeypatch):
    spec = parse_spec({
        "name": "s", "seed": 1,
        "datasets": [{"name": "synthetic/gaussian", "params": {"n_samples": 2000, "n_features": 3}}],
        "imbalance_ratios": [10], "methods": ["focal+smote"],
        "model": {"name": "logistic"}, "training": {"max_epochs": 3},
        "tuning": {"n_trials": 2}, "evaluation": {"repetitions": 2, "plots": False},
    })
    seen = []
    original = samplers.resample
    monkeypatch.setattr(samplers, "resample", lambda *a, **k: seen.append(a[2].copy()) or original(*a, **k))
    data = DataProvider(spec)
    result = run_cell(spec, planned(spec, spec.datasets[0], 10.0, "focal+smote"), data)
    assert result.status == "ok" and len(seen) == 2 + 2  # every trial and every repetition
    train_rows = {rep: {r.tobytes() for r in data.prepared(spec.datasets[0], 10.0, rep).train.X} for rep in (0, 1)}
    other_rows = {r.tobytes() for rep in (0, 1) for split in ("validation", "test")
                  for r in getattr(data.prepared(spec.datasets[0], 10.0, rep), split).X}
    for X in seen:
        rows = {r.tobytes() for r in X}
        assert rows in (train_rows[0], train_rows[1])
        assert not rows & other_rows
