"""Specs for Mukhoti's regime: ``tuning.n_trials: 0`` needs every parameter fixed; a dataset entry's
own ratios and balanced test split; the shipped vision spec plans its 18 cells without tuning."""

from __future__ import annotations

import pytest
from conftest import ROOT

from harness.errors import UserError
from harness.plan.cells import expand, grid
from harness.plan.checks import load_spec, parse_spec

BASE = {"name": "t", "datasets": ["images/digits"], "imbalance_ratios": [1], "methods": ["ce"],
        "model": {"name": "cnn"}, "tuning": {"n_trials": 0, "search_space": {"lr": 0.01, "weight_decay": 0.0}}}


def test_no_tuning_needs_every_parameter_fixed():
    assert parse_spec(BASE).tuning.n_trials == 0
    with pytest.raises(UserError) as err:
        parse_spec({**BASE, "methods": ["ce", "focal"]})
    assert str(err.value) == ("spec: tuning.n_trials: 0 (no tuning) needs every parameter fixed, but method 'focal' "
                              "(methods[1]) on model 'cnn' tunes focal_gamma; fix them in tuning.search_space or the "
                              "method's search_space")


def test_binary_only_parameters_need_no_value_on_multiclass_data_only():
    fixed = {"name": "focal", "search_space": {"focal_gamma": 3.0}}
    assert parse_spec({**BASE, "methods": [fixed]})  # digits: 10 classes, focal_alpha is dead there
    with pytest.raises(UserError, match="tunes focal_alpha"):
        parse_spec({**BASE, "datasets": [{"name": "images/digits", "params": {"positive": 0}}], "methods": [fixed]})


def test_a_dataset_entry_runs_at_its_own_ratios():
    spec = parse_spec({**BASE, "datasets": ["images/digits",
                                            {"name": "images/digits", "label": "lt", "imbalance_ratios": [3]}]})
    assert [(d.key, r) for d, r, _, _ in grid(spec)] == [("images/digits", 1), ("lt", 3)]


def test_unset_entry_keys_leave_the_spec_hash_alone():
    plain = parse_spec(BASE)
    again = parse_spec({**BASE, "datasets": [{"name": "images/digits", "test_profile": None, "imbalance_ratios": None}]})
    assert plain.spec_hash() == again.spec_hash()


def test_test_profile_keeps_the_data_seed():
    spec = parse_spec({**BASE, "datasets": [{"name": "images/digits", "label": "a", "profile": "long_tailed"},
                                            {"name": "images/digits", "label": "b", "profile": "long_tailed",
                                             "test_profile": "balanced"}]})
    a, b = spec.datasets
    assert a.identity == b.identity and b.test_profile == "balanced"


def test_the_vision_spec_plans_18_cells_without_trials():
    spec = load_spec(ROOT / "benchmarks" / "vision.yaml")
    cells = expand(spec)
    assert len(cells) == 18 and {c.budget for c in cells} == {0}
    assert {(c.dataset.key, c.ratio) for c in cells} == {("fmnist", 1), ("fmnist-lt", 10), ("fmnist-lt-bal", 10)}
