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
