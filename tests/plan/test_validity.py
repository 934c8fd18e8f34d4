"""Planning against invalid cells: near-duplicate ratios left out, LightGBM's leaf-size range
capped for small training splits (the cause of the published sweep's constant predictors), and
a constant predictor recognised as one."""

from __future__ import annotations

import lightgbm as lgb
import numpy as np
from conftest import TINY_SPEC

import datasets
from harness.plan import resolve
from harness.plan.cells import grid
from harness.space import Int
from harness.spec.schema import parse_spec
from harness.store.records import RepetitionRecord


def _spec(**extra):
    return parse_spec({**TINY_SPEC, "datasets": ["keel/yeast3", "keel/ecoli1"], **extra})


def test_a_controlled_ratio_near_the_natural_one_is_left_out():
    natural = {name: max(datasets.catalogue.info(name).class_counts) / min(datasets.catalogue.info(name).class_counts)
               for name in ("keel/yeast3", "keel/ecoli1")}  # 8.1 and 3.4
    spec = _spec(imbalance_ratios=["natural", 2, 5, 10], near_natural=1.5)
    kept = {(d.key, r) for d, r, _, _ in grid(spec)}
    for name, rho in natural.items():
        for r in (2, 5, 10):
            near = rho / 1.5 <= r <= rho * 1.5
            assert ((name, r) in kept) != near, (name, r, rho)
        assert (name, "natural") in kept
    assert {(d.key, r) for d, r, _, _ in grid(_spec(imbalance_ratios=["natural", 2, 5, 10]))} >= kept  # unset: all
    without_natural = _spec(imbalance_ratios=[2, 5, 10], near_natural=1.5)  # nothing to duplicate
    assert len({(d.key, r) for d, r, _, _ in grid(without_natural)}) == 6


def test_lightgbm_leaf_size_range_is_capped_at_a_quarter_of_the_training_split():
    spec = parse_spec({**TINY_SPEC, "model": {"name": "lightgbm"}})
    method = resolve.method_of(spec, "ce", spec.models[0])
    assert method.full_space["lgbm_min_child_samples"] == Int(5, 100, (1, float("inf")), 0.25)
    assert method.for_rows(48).full_space["lgbm_min_child_samples"].high == 12
    assert method.for_rows(10_000).full_space["lgbm_min_child_samples"].high == 100
    assert method.for_rows(12).full_space["lgbm_min_child_samples"] == Int(3, 3, (1, float("inf")), 0.25)
    assert method.for_rows(48).full_space["lgbm_learning_rate"] == method.full_space["lgbm_learning_rate"]


def test_the_cap_is_what_lets_lightgbm_split_a_small_training_split():
    """The published constant predictors: 48 training rows at ρ 2; LightGBM's own booster makes
    no split when a leaf needs half of them, and does at the capped range's top."""
    rng = np.random.default_rng(0)
    y = np.r_[np.zeros(32), np.ones(16)].astype(int)
    X = rng.normal(size=(48, 5)) + y[:, None]
    for leaf, splits in ((50, False), (25, False), (12, True)):  # two leaves of 25 need 50 rows
        booster = lgb.train({"objective": "binary", "min_child_samples": leaf, "verbose": -1}, lgb.Dataset(X, y), 20)
        assert (np.ptp(booster.predict(X)) > 0) == splits, leaf


def test_a_constant_predictor_is_recognised():
    y = np.array([0, 1, 0, 1])
    rec = lambda logits: RepetitionRecord(0, 0, {}, "ce", None, {}, {}, "", 1, 0, 0, y, np.asarray(logits), {})  # noqa: E731
    assert rec([0.3, 0.3, 0.3, 0.3]).constant and rec(np.full((4, 3), 2.0)).constant
    assert not rec([0.3, 0.3, 0.3, 0.31]).constant and not rec([[0, 1, 2]] * 3 + [[0, 1, 2.5]]).constant
