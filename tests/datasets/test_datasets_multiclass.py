"""Multi-class data: the Gaussian source's known posterior, and the long-tailed / step profiles."""

from __future__ import annotations

import numpy as np
import pytest

import datasets
from datasets.sources import synthetic_gaussian_multiclass as gm

NAME = "synthetic/gaussian_multiclass"


def _pool(**params):
    return datasets.load(NAME, params, seed=3)


def test_means_sit_at_the_given_separation():
    for layout, pairs in (("simplex", "all"), ("circle", "neighbours")):
        mu = gm.class_means(gm.GaussianMulticlassParams(n_classes=6, n_features=6, separation=2.5, layout=layout))
        dist = np.linalg.norm(mu[:, None] - mu[None], axis=2)
        got = dist[~np.eye(6, dtype=bool)] if pairs == "all" else np.diag(np.roll(dist, -1, axis=1))
        np.testing.assert_allclose(got, 2.5)


def test_posterior_agrees_with_a_monte_carlo_estimate_at_fixed_points():
    """2-D circle layout, unequal priors: the fraction of each class among mixture samples within
    a small disc around x0 estimates η(x0); it must agree with softmax(ll + log π) within 4 SE."""
    params = gm.GaussianMulticlassParams(n_samples=30, n_classes=3, n_features=2, separation=2.0, layout="circle")
    mu, prior = gm.class_means(params), np.array([0.7, 0.2, 0.1])
    rng = np.random.default_rng(0)
    y = rng.choice(3, size=3_000_000, p=prior)
    X = rng.standard_normal((y.size, 2)) + mu[y]
    worst = 0.0
    for x0 in ([0.0, 0.0], [0.8, -0.3], [-0.6, 0.6], [-0.5, -0.9]):
        near = np.sum((X - x0) ** 2, axis=1) < 0.05**2
        estimate = np.bincount(y[near], minlength=3) / near.sum()
        z = gm.log_likelihoods(np.array([x0]), mu)[0] + np.log(prior)
        eta = np.exp(z - z.max()) / np.exp(z - z.max()).sum()
        se = np.sqrt(eta * (1 - eta) / near.sum())
        assert near.sum() > 500 and np.all(np.abs(estimate - eta) < 4 * se + 1e-3), (x0, estimate, eta)
        worst = max(worst, float(np.max(np.abs(estimate - eta) / se)))
    print(f"Monte-Carlo posterior check: largest |estimate - eta| = {worst:.2f} standard errors")


@pytest.mark.parametrize("profile", ["long_tailed", "step", "natural"])
def test_prepared_posterior_is_calibrated_for_the_labels_at_every_profile(profile):
    """Among the prepared samples, labels of class k occur at the rate the posterior says:
    in each tenth of the samples ranked by η_k, mean(y == k) = mean(η_k) within 4 SE."""
    prepared = datasets.prepare(_pool(n_samples=60000), "natural" if profile == "natural" else 10, seed=0,
                                profile=profile)
    y = np.concatenate([s.y for s in (prepared.train, prepared.validation, prepared.test)])
    eta = np.concatenate([s.posterior for s in (prepared.train, prepared.validation, prepared.test)])
    assert eta.shape == (y.size, 5) and np.allclose(eta.sum(axis=1), 1.0)
    worst = 0.0
    for k in range(5):
        for part in np.array_split(np.argsort(eta[:, k]), 10):
            p, hit = eta[part, k].mean(), (y[part] == k).mean()
            se = np.sqrt(max(eta[part, k].var() + p * (1 - p), 1e-6) / part.size)
            assert abs(hit - p) < 4 * se + 1e-3, (k, p, hit)
            worst = max(worst, abs(hit - p) / se)
    print(f"{profile}: {y.size} samples, largest |mean(y == k) - mean(eta_k)| = {worst:.2f} standard errors")


def test_step_profile_holds_in_every_split():
    prepared = datasets.prepare(_pool(), 8, seed=1, profile="step", minority_fraction=0.4)
    assert prepared.info["profile"] == "step"
    for split in (prepared.train, prepared.validation, prepared.test):
        counts = np.array(split.counts(5))
        big, small = np.sort(counts)[::-1][:3], np.sort(counts)[::-1][3:]  # round(0.4 * 5) = 2 minority classes
        assert np.ptp(big) <= 1 and np.ptp(small) <= 1
        assert big[0] / small[0] == pytest.approx(8, rel=0.1)


def test_long_tailed_profile_of_the_gaussian_source():
    prepared = datasets.prepare(_pool(), 20, seed=0)
    total = sum(np.array(s.counts(5)) for s in (prepared.train, prepared.validation, prepared.test))
    np.testing.assert_allclose(total, total[0] * 20.0 ** (-np.arange(5) / 4), atol=1.0)
    assert prepared.ratio == pytest.approx(20, rel=0.01)


def test_the_step_profile_minority_classes_are_the_naturally_smallest():
    ds = datasets.load("sklearn/digits_multiclass")
    natural = np.bincount(ds.y)
    prepared = datasets.prepare(ds, 3, seed=0, profile="step", minority_fraction=0.3)
    target = np.array(prepared.info["counts"])
    minority = np.flatnonzero(target < target.max() / 2)
    assert minority.size == 3 and set(minority) == set(np.argsort(natural, kind="stable")[:3])


@pytest.mark.parametrize(("ratio", "kwargs", "message"), [
    (10, {"profile": "zipf"}, "profile: unknown name 'zipf'; known: long_tailed, step, natural"),
    (10, {"profile": "natural"}, "profile 'natural' keeps the natural counts; expected imbalance_ratio 'natural', got 10"),
    (10, {"profile": "step", "minority_fraction": 0.0}, "minority_fraction: expected a number in \\(0, 1\\), got 0.0"),
    (1000, {"profile": "step"}, "imbalance ratio 1000 with profile 'step' leaves 1 samples of class 2 in test "
                                "\\(min_test_minority = 10\\); the largest reachable ratio is 125.0"),
    (200, {"profile": "long_tailed"}, "with profile 'long_tailed' leaves 6 samples of class 4 in test .* "
                                      "the largest reachable ratio is 125.0"),
])
def test_bad_profiles_are_one_line_errors(ratio, kwargs, message):
    with pytest.raises(datasets.DataError, match=message):
        datasets.prepare(_pool(), ratio, seed=0, **kwargs)


def test_a_class_with_one_sample_is_refused():
    ds = _pool(n_samples=300)
    keep = np.r_[np.flatnonzero(ds.y != 2), np.flatnonzero(ds.y == 2)[:1]]
    one = datasets.Dataset(ds.name, ds.X[keep], ds.y[keep], ds.citation)
    with pytest.raises(datasets.DataError, match="class 2 has 1 sample; expected at least 2 per class"):
        datasets.prepare(one, "natural", seed=0)


def test_bad_source_parameters():
    with pytest.raises(datasets.DataError, match="n_features: expected an integer >= 5 for layout 'simplex'"):
        datasets.load(NAME, {"n_classes": 5, "n_features": 3})
    with pytest.raises(datasets.DataError, match="layout: expected one of simplex, circle"):
        datasets.load(NAME, {"layout": "cube"})
