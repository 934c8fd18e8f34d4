"""Batched tuning: the constant liar spreads a batch's asks, and the budget settings
(``tuning.n_startup_trials``, ``tuning.trials_per_parameter``) keep today's behaviour unset."""

from __future__ import annotations

import math

import numpy as np
import optuna
import pytest

from harness.plan.cells import planned
from harness.plan.checks import parse_spec
from harness.plan.resolve import method_of, trial_budget
from harness.tuning.study import tpe_sampler as _sampler

SPEC = {
    "name": "t", "seed": 0,
    "datasets": [{"name": "synthetic/gaussian", "label": "g", "params": {"n_samples": 3000, "n_features": 3}}],
    "imbalance_ratios": [10], "methods": ["focal"],
    "model": {"name": "logistic"}, "training": {"max_epochs": 6},
    "tuning": {"n_trials": 28, "search_space": {"focal_alpha": None}},  # lr, weight_decay, focal_gamma
    "evaluation": {"repetitions": 1, "plots": False, "calibration": ["raw"]},
}


def _unit(params: dict) -> np.ndarray:
    """focal's tuned parameters on [0, 1]³ (lr and weight decay on their log scale)."""
    return np.array([(math.log10(params["lr"]) + 4) / math.log10(3e3),
                     (math.log10(params["weight_decay"]) + 6) / 4, params["focal_gamma"] / 5])


def _spread(configs: list[dict]) -> float:
    x = np.array([_unit(c) for c in configs])
    return float(np.mean([np.linalg.norm(x[i] - x[j]) for i in range(len(x)) for j in range(i)]))


def _batch_spreads(seed: int, told: int = 20, size: int = 8) -> tuple[float, float]:
    """After ``told`` finished trials of a smooth objective, the spread of ``size`` asks made as
    :func:`harness.running.cell.tune` makes them (one batch: the earlier asks stay running, each slot
    its own seeded TPE), and of the same slots asked one at a time from the told history only
    (what TPE draws without the liar)."""
    spec = parse_spec({**SPEC, "seed": seed})
    cell, method = planned(spec, spec.datasets[0], 10.0, "focal"), method_of(spec, "focal")
    optimum = np.array([0.6, 0.3, 0.4])
    study = optuna.create_study(direction="maximize", sampler=optuna.samplers.RandomSampler(seed=seed))
    for _ in range(told):
        trial = study.ask()
        study.tell(trial, -float(np.sum((_unit(method.suggest(trial)) - optimum) ** 2)))
    history = study.trials
    batch, alone = [], []
    for slot in range(told, told + size):
        study.sampler = _sampler(spec, cell, slot, 0)
        batch.append(method.suggest(study.ask()))  # left running: a liar for the next asks
        single = optuna.create_study(direction="maximize", sampler=_sampler(spec, cell, slot, 0))
        single.add_trials(history)
        alone.append(method.suggest(single.ask()))
    return _spread(batch), _spread(alone)


def test_the_constant_liar_spreads_a_batch():
    """Without the liar (Optuna dropping it, or the sampler settings losing it) a batch's asks
    crowd around the best told trials; with it they spread out (about 1.6× here)."""
    optuna.logging.set_verbosity(optuna.logging.WARNING)
    spreads = np.array([_batch_spreads(seed) for seed in range(4)])
    batch, alone = spreads.mean(axis=0)
    assert batch > 1.25 * alone, f"expected a batch's asks spread > 1.25× the liar-free asks, got {batch:.3f} vs {alone:.3f}"


def test_unset_budget_settings_keep_todays_spec_hash_and_budget():
    plain = parse_spec(SPEC)
    assert plain.tuning.n_startup_trials is None and plain.tuning.trials_per_parameter is None
    assert trial_budget(plain, method_of(plain, "focal")) == 28
    assert plain.tuning.startup_trials(28) == 5 and plain.tuning.startup_trials(3) == 3
    for key, value in (("n_startup_trials", 5), ("trials_per_parameter", 2)):
        changed = parse_spec({**SPEC, "tuning": {**SPEC["tuning"], key: value}})
        assert changed.spec_hash() != plain.spec_hash(), key  # set, even to today's value: part of the hash


@pytest.mark.parametrize(("per_parameter", "method", "expected"), [
    (None, "focal", 28),
    (5, "focal", 28),  # 3 tuned parameters × 5 < 28
    (10, "focal", 30),
    (20, "weighted_ce", 60),  # lr, weight_decay, weighted_ce_beta
    (10, "ce", 28),  # lr, weight_decay
    (20, "ce", 40),
])
def test_trials_per_parameter_raises_the_budget_of_larger_spaces(per_parameter, method, expected):
    spec = parse_spec({**SPEC, "methods": ["focal", "weighted_ce", "ce"],
                       "tuning": {**SPEC["tuning"], "trials_per_parameter": per_parameter}})
    assert trial_budget(spec, method_of(spec, method)) == expected


def test_n_startup_trials_reaches_the_sampler():
    spec = parse_spec({**SPEC, "tuning": {**SPEC["tuning"], "n_startup_trials": 8}})
    sampler = _sampler(spec, planned(spec, spec.datasets[0], 10.0, "focal"), 0, 0)
    assert sampler._n_startup_trials == 8


def test_a_method_entrys_n_trials_is_its_budget_and_in_the_hash_only_when_set():
    entry = {"name": "focal", "label": "focal_2x"}
    spec = parse_spec({**SPEC, "methods": ["focal", {**entry, "n_trials": 56}]})
    assert trial_budget(spec, method_of(spec, "focal_2x")) == 56
    assert trial_budget(spec, method_of(spec, "focal")) == 28  # the others keep tuning.n_trials
    assert _sampler(spec, planned(spec, spec.datasets[0], 10.0, "focal_2x", spec.model), 0, 0)._n_startup_trials == 5
    unset = parse_spec({**SPEC, "methods": ["focal", entry]})
    explicit_none = parse_spec({**SPEC, "methods": ["focal", {**entry, "n_trials": None}]})
    assert "n_trials" not in unset.model_dump()["methods"][1]
    assert unset.spec_hash() == explicit_none.spec_hash() != spec.spec_hash()
    raised = parse_spec({**SPEC, "methods": ["focal", {**entry, "n_trials": 2}],
                         "tuning": {**SPEC["tuning"], "trials_per_parameter": 10}})
    assert trial_budget(raised, method_of(raised, "focal_2x")) == 30  # still raised per tuned parameter
