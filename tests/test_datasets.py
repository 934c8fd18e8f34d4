"""Imbalance control and the Gaussian source."""

from __future__ import annotations

import numpy as np
import pytest

import datasets


@pytest.fixture(scope="module")
def pool():
    return datasets.load("synthetic/gaussian", {"n_samples": 6000, "n_features": 3, "separation": 1.5}, seed=1)


@pytest.mark.parametrize("ratio", [1, 3, 10, 50])
def test_ratio_holds_in_every_split(pool, ratio):
    prepared = datasets.prepare(pool, ratio, seed=0)
    for split in (prepared.train, prepared.validation, prepared.test):
        neg, pos = split.counts(2)
        assert pos >= 1
        assert neg / pos == pytest.approx(ratio, rel=0.1)
    total = [sum(s.counts(2)[c] for s in (prepared.train, prepared.validation, prepared.test)) for c in (0, 1)]
    assert total[0] / total[1] == pytest.approx(ratio, rel=0.01)
    n = sum(total)
    assert len(prepared.test.y) / n == pytest.approx(0.2, abs=0.01)


def test_same_seed_same_split_other_seed_other_subsample(pool):
    a, b, c = (datasets.prepare(pool, 10, seed=s) for s in (5, 5, 6))
    assert a.fingerprint == b.fingerprint
    np.testing.assert_array_equal(a.train.X, b.train.X)
    assert a.fingerprint != c.fingerprint


def test_standardised_with_training_statistics(pool):
    prepared = datasets.prepare(pool, 10, seed=0)
    np.testing.assert_allclose(prepared.train.X.mean(axis=0), 0, atol=1e-12)
    np.testing.assert_allclose(prepared.train.X.std(axis=0), 1, atol=1e-12)
    assert abs(prepared.test.X.mean()) > 1e-6  # test is not standardised on itself


@pytest.mark.parametrize("ratio", [1, 10])
def test_gaussian_posterior_agrees_with_monte_carlo(ratio):
    """Among samples whose stated posterior falls in a bin, the positive rate matches the bin."""
    ds = datasets.load("synthetic/gaussian", {"n_samples": 200000, "n_features": 2, "separation": 1.0}, seed=0)
    prepared = datasets.prepare(ds, ratio, seed=0, fractions=(0.2, 0.2, 0.6))
    post, y = prepared.test.posterior, prepared.test.y
    edges = np.quantile(post, np.linspace(0, 1, 11))
    idx = np.clip(np.searchsorted(edges, post, side="right") - 1, 0, 9)
    for b in range(10):
        members = idx == b
        se = np.sqrt(post[members].mean() * (1 - post[members].mean()) / members.sum())
        assert abs(y[members].mean() - post[members].mean()) < 4 * se + 1e-3
    assert post.mean() == pytest.approx(1 / (1 + ratio), rel=0.05)


def test_unreachable_ratio_names_dataset_ratio_and_largest(pool):
    with pytest.raises(datasets.DataError, match=r"synthetic/gaussian: imbalance ratio 1000 .*largest reachable ratio is 62.5"):
        datasets.prepare(pool, 1000, seed=0)
    assert datasets.prepare(pool, 62.5, seed=0).test.counts(2)[1] == 10  # the largest is reachable
    with pytest.raises(datasets.DataError, match="leaves 9 minority samples"):
        datasets.prepare(pool, 64, seed=0)


def test_unknown_dataset_suggests_close_match():
    with pytest.raises(datasets.DataError, match="did you mean synthetic/gaussian"):
        datasets.get_source("synthetic/gausian")


def test_bad_params_name_the_parameter():
    with pytest.raises(datasets.DataError, match="unknown parameter 'n_sample'"):
        datasets.load("synthetic/gaussian", {"n_sample": 10})
    with pytest.raises(datasets.DataError, match="separation"):
        datasets.load("synthetic/gaussian", {"separation": -1})
