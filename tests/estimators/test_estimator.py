"""LossClassifier follows scikit-learn's estimator conventions."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from imblearn.over_sampling import SMOTE
from imblearn.pipeline import Pipeline
from sklearn.base import clone
from sklearn.datasets import make_classification
from sklearn.model_selection import GridSearchCV
from sklearn.utils.estimator_checks import parametrize_with_checks

from harness import LossClassifier


@parametrize_with_checks([LossClassifier(random_state=0),
                          LossClassifier(loss="weighted_ce", hidden_sizes=(8,), max_epochs=50, random_state=0)])
def test_sklearn_estimator_checks(estimator, check):
    check(estimator)


def _imbalanced(n_classes=2, seed=0):
    weights = [0.9, 0.1] if n_classes == 2 else None
    return make_classification(n_samples=600, n_features=6, n_informative=4, n_classes=n_classes,
                               weights=weights, random_state=seed)


def test_in_an_imblearn_pipeline_with_smote_fits_and_predicts():
    X, y = _imbalanced()
    pipe = Pipeline([("smote", SMOTE(random_state=0)),
                     ("clf", LossClassifier(loss="focal", gamma=2.0, hidden_sizes=(32,), random_state=0))])
    pipe.fit(X, y)
    proba = pipe.predict_proba(X)
    assert proba.shape == (600, 2) and np.allclose(proba.sum(axis=1), 1)
    from sklearn.metrics import balanced_accuracy_score

    assert balanced_accuracy_score(y, pipe.predict(X)) > 0.75
    assert pipe.named_steps["clf"].n_features_in_ == 6


def test_grid_search_and_clone():
    X, y = _imbalanced()
    grid = GridSearchCV(LossClassifier(max_epochs=15, random_state=0), {"gamma": [0.0, 2.0], "loss": ["focal", "ce"]},
                        scoring="average_precision", cv=3)
    grid.fit(X, y)
    assert set(grid.best_params_) == {"gamma", "loss"}
    c = clone(grid.best_estimator_)
    assert c.get_params()["gamma"] == grid.best_params_["gamma"] and not hasattr(c, "model_")


@pytest.mark.parametrize("loss", ["ce", "weighted_ce", "focal", "focal_flsd", "class_balanced_focal", "logit_adjusted_ce"])
def test_every_loss_binary_and_multiclass(loss):
    for n_classes in (2, 3):
        X, y = _imbalanced(n_classes)
        labels = np.array(["a", "b", "c"])[y]
        kwargs = {"beta": 0.99} if loss == "class_balanced_focal" else {}
        clf = LossClassifier(loss=loss, max_epochs=30, random_state=0, early_stopping=True, **kwargs).fit(X, labels)
        assert list(clf.classes_) == list(np.unique(labels))
        assert clf.predict_proba(X).shape == (600, n_classes)
        assert (clf.predict(X) == labels).mean() > 0.6
        assert clf.decision_function(X).shape == ((600,) if n_classes == 2 else (600, n_classes))


def test_same_random_state_same_model_and_bad_loss():
    X, y = _imbalanced()
    a = LossClassifier(random_state=3, max_epochs=5).fit(X, y).decision_function(X)
    b = LossClassifier(random_state=3, max_epochs=5).fit(X, y).decision_function(X)
    np.testing.assert_array_equal(a, b)
    with pytest.raises(ValueError, match="loss: unknown name 'focl'"):
        LossClassifier(loss="focl").fit(X, y)


@pytest.mark.parametrize("threads", [1, 2])
def test_a_rows_score_does_not_depend_on_its_batch(threads):
    """Scores are computed in float64: each row alone, a subset and the whole batch agree to 1e-12
    (float32 would differ by an ulp with the BLAS kernel's blocking, i.e. with the batch size),
    with one thread or two."""
    X, y = _imbalanced()
    clf = LossClassifier(loss="weighted_ce", hidden_sizes=(8,), max_epochs=5, random_state=0).fit(X, y)
    before = torch.get_num_threads()
    torch.set_num_threads(threads)
    try:
        whole = clf.decision_function(X)
        alone = np.array([clf.decision_function(X[i : i + 1])[0] for i in range(0, 600, 37)])
        half = clf.decision_function(X[1::2])
    finally:
        torch.set_num_threads(before)
    np.testing.assert_allclose(alone, whole[0:600:37], rtol=1e-12, atol=1e-12)
    np.testing.assert_allclose(half, whole[1::2], rtol=1e-12, atol=1e-12)
