"""The plain counterparts of imbalanced-learn's ensembles: the same space less the balancing, and
the same estimator as scikit-learn's own (an independent reference) for a configuration and seed."""

from __future__ import annotations

import numpy as np
import pytest
from scipy.special import logit
from sklearn.ensemble import (
    AdaBoostClassifier,
    BaggingClassifier,
    RandomForestClassifier,
)
from sklearn.metrics import average_precision_score

from harness.learners import ensembles
from harness.learners.base import FitTask

#: each plain ensemble, its balanced counterpart and their parameter prefixes
PLAIN = [("random_forest", "rf_", "balanced_random_forest", "brf_"), ("bagging", "bag_", "easy_ensemble", "easy_")]


def _data(seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng(seed)
    X = rng.normal(size=(600, 4))
    return X, (X[:, 0] + 0.5 * rng.normal(size=600) > 1.3).astype(int)


def _fit(name: str, params: dict, seed: int):
    X, y = _data()
    task = FitTask(X[:400], y[:400], X[400:], y[400:], None, {}, params, seed=seed)
    return ensembles.EnsembleLearner(name, average_precision_score).fit_one(task), X, y


def _reference_logits(estimator, X: np.ndarray, y: np.ndarray) -> np.ndarray:
    with np.errstate(divide="ignore"):  # as the learner fits: AdaBoost takes the log of 0 (out-of-bag) weights
        prob = estimator.fit(X[:400], y[:400]).predict_proba(X[400:])[:, 1]
    return logit(np.clip(prob, 1e-7, 1 - 1e-7))


@pytest.mark.parametrize("plain,prefix,balanced,balanced_prefix", PLAIN, ids=[p[0] for p in PLAIN])
def test_a_plain_ensemble_tunes_its_balanced_counterparts_space_less_the_balancing(plain, prefix, balanced,
                                                                                 balanced_prefix):
    expected = {name.replace(balanced_prefix, prefix, 1): dist for name, dist in ensembles.SPACES[balanced].items()
                if not name.endswith("_sampling_strategy")}
    assert ensembles.SPACES[plain] == expected


def test_random_forest_is_sklearns_random_forest_with_the_same_params_and_seed():
    params = {"rf_n_estimators": 40, "rf_max_depth": 5, "rf_max_features": 0.5}
    fitted, X, y = _fit("random_forest", params, seed=7)
    reference = RandomForestClassifier(n_estimators=40, max_depth=5, max_features=0.5, random_state=7)
    np.testing.assert_array_equal(fitted.predict_logits(X[400:]), _reference_logits(reference, X, y))
    other, _, _ = _fit("random_forest", params, seed=8)
    assert not np.array_equal(fitted.predict_logits(X[400:]), other.predict_logits(X[400:]))


def test_bagging_is_sklearns_bagging_of_adaboost_with_the_same_params_and_seed():
    fitted, X, y = _fit("bagging", {"bag_n_estimators": 6}, seed=7)
    reference = BaggingClassifier(AdaBoostClassifier(), n_estimators=6, random_state=7)
    np.testing.assert_array_equal(fitted.predict_logits(X[400:]), _reference_logits(reference, X, y))


# -- multi-class data ------------------------------------------------------------------------------
def _multiclass(seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng(seed)
    X = rng.normal(size=(900, 4))
    return X, np.argmax(X[:, :3] * [1.0, 1.5, 2.0] + rng.normal(size=(900, 3)) + [2.0, 0.0, -1.0], axis=1)


@pytest.mark.parametrize("ratio", [0.5, 0.8, 1.0])
def test_per_class_ratio_is_imbalanced_learns_float_ratio_on_two_classes(ratio):
    """On binary labels the per-class target equals imbalanced-learn's own float meaning
    (minority / majority after under-sampling = ratio); on three classes every class above
    n_min / ratio is cut to it, the others untouched."""
    from imblearn.under_sampling import RandomUnderSampler

    X, y = _data()
    expected = np.bincount(RandomUnderSampler(sampling_strategy=ratio, random_state=0).fit_resample(X, y)[1])
    got = np.bincount(RandomUnderSampler(sampling_strategy=ensembles.PerClassRatio(ratio),
                                         random_state=0).fit_resample(X, y)[1])
    np.testing.assert_array_equal(got, expected)
    X, y = _multiclass()
    counts = np.bincount(y)
    resampled = np.bincount(RandomUnderSampler(sampling_strategy=ensembles.PerClassRatio(ratio),
                                               random_state=0).fit_resample(X, y)[1])
    np.testing.assert_array_equal(resampled, np.minimum(counts, int(counts.min() / ratio)))


@pytest.mark.parametrize("name", ensembles.ENSEMBLES)
def test_each_ensemble_trains_multiclass_data_as_its_estimator_does(name):
    """(n, C) logits whose softmax is the estimator's own predict_proba (built by ``build`` for the
    same configuration and seed, fitted here: the per-class strategy reaches imbalanced-learn), and
    a tuning score from the multi-class counterpart of the tuning metric."""
    from scipy.special import softmax

    from harness.metrics import per_task

    X, y = _multiclass()
    params = {k: (d.low + d.high) / 2 if isinstance(d.low, float) else (d.low + d.high) // 2
              for k, d in ensembles.SPACES[name].items()}
    task = FitTask(X[:600], y[:600], X[600:], y[600:], None, {}, params, seed=3)
    fitted = ensembles.EnsembleLearner(name, per_task.monitor("average_precision")).fit_one(task)
    logits = fitted.predict_logits(X[600:])
    assert logits.shape == (300, 3) and np.isfinite(logits).all() and fitted.report.best_score > 0.5
    with np.errstate(divide="ignore"):
        reference = ensembles.build(name, params, y[:600], 3).fit(X[:600], y[:600]).predict_proba(X[600:])
    clipped = np.clip(reference, 1e-7, 1.0)
    np.testing.assert_allclose(softmax(logits, axis=1), clipped / clipped.sum(axis=1, keepdims=True), rtol=1e-12)
