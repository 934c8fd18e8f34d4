"""``LightGBMLossClassifier``: LightGBM with any per-sample loss of the zoo, as a scikit-learn estimator.

    >>> clf = LightGBMLossClassifier(loss="focal", gamma=2.0, n_estimators=50, random_state=0)

The same custom objective, init score and raw-margin predictions as the benchmark's LightGBM
learner (:mod:`harness.learners.lightgbm_learner`): binary data with the binary objective,
C > 2 classes with the multi-class one (C trees per round, softmax).
"""

from __future__ import annotations

import numpy as np
from scipy.special import expit, softmax
from sklearn.base import BaseEstimator, ClassifierMixin
from sklearn.model_selection import train_test_split
from sklearn.utils.multiclass import check_classification_targets
from sklearn.utils.validation import check_is_fitted, check_random_state, validate_data

import loss_zoo
from harness.learners.base import FitTask
from harness.learners.lightgbm_learner import LightGBMLearner, Objective, booster_params


def _accuracy(y_true: np.ndarray, prob: np.ndarray) -> float:
    predicted = prob.argmax(axis=1) if prob.ndim == 2 else prob > 0.5
    return float(np.mean(predicted == y_true))


class LightGBMLossClassifier(ClassifierMixin, BaseEstimator):
    """Gradient-boosted trees trained with a loss from loss_zoo (a custom objective).

    Parameters
    ----------
    loss : str, default "ce"
        A loss of ``loss_zoo.available()`` with a per-sample form for the data's task (binary or
        multi-class); ``gamma``, ``alpha``, ``beta``, ``tau`` as in :class:`harness.LossClassifier`.
    learning_rate, num_leaves, min_child_samples, feature_fraction, lambda_l2
        LightGBM's parameters of the same names.
    n_estimators : int, default 100
        Boosting rounds (at most, with ``early_stopping``).
    early_stopping : bool, default False
        Hold out ``validation_fraction`` (stratified) and stop after ``n_iter_no_change``
        rounds without a lower validation loss, keeping the best round.
    random_state : int, RandomState or None
    """

    def __init__(self, loss: str = "ce", *, gamma: float = 2.0, alpha=None, beta: float = 1.0, tau: float = 1.0,
                 learning_rate: float = 0.1, num_leaves: int = 31, min_child_samples: int = 20,
                 feature_fraction: float = 1.0, lambda_l2: float = 0.0, n_estimators: int = 100,
                 early_stopping: bool = False, validation_fraction: float = 0.1, n_iter_no_change: int = 10,
                 random_state=None) -> None:
        self.loss, self.gamma, self.alpha, self.beta, self.tau = loss, gamma, alpha, beta, tau
        self.learning_rate, self.num_leaves, self.min_child_samples = learning_rate, num_leaves, min_child_samples
        self.feature_fraction, self.lambda_l2, self.n_estimators = feature_fraction, lambda_l2, n_estimators
        self.early_stopping, self.validation_fraction = early_stopping, validation_fraction
        self.n_iter_no_change, self.random_state = n_iter_no_change, random_state

    def _params(self) -> dict:
        return {"lgbm_learning_rate": self.learning_rate, "lgbm_num_leaves": self.num_leaves,
                "lgbm_min_child_samples": self.min_child_samples, "lgbm_feature_fraction": self.feature_fraction,
                "lgbm_lambda_l2": self.lambda_l2}

    def _loss_params(self, counts: list[int]) -> dict:
        entry = loss_zoo.entry(self.loss)
        tuned = {name: getattr(self, keyword) for keyword, name in entry.estimator.items()}
        return entry.loss_params(tuned, [max(int(c), 1) for c in counts])

    def fit(self, X, y):
        """Fit on (X, y) with two or more classes (any labels; binary: ``classes_[1]`` is the positive one)."""
        import lightgbm as lgb

        X, y = validate_data(self, X, y, dtype=np.float64)
        check_classification_targets(y)
        self.classes_, y_enc = np.unique(y, return_inverse=True)
        n_classes = len(self.classes_)
        if n_classes < 2:
            raise ValueError(f"y: expected 2 or more classes, got {n_classes} class{'es' if n_classes != 1 else ''}")
        for name in ("n_estimators", "learning_rate", "n_iter_no_change"):
            if not getattr(self, name) > 0:
                raise ValueError(f"{name}: expected a value > 0, got {getattr(self, name)!r}")
        seed = int(check_random_state(self.random_state).randint(0, 2**31 - 1))
        self.loss_params_ = self._loss_params(np.bincount(y_enc, minlength=n_classes).tolist())
        if self.early_stopping:
            X_tr, X_val, y_tr, y_val = train_test_split(X, y_enc, test_size=self.validation_fraction,
                                                        stratify=y_enc, random_state=seed)
            learner = LightGBMLearner(_accuracy, True, self.n_estimators, self.n_iter_no_change)
            booster, self.n_iter_, self.init_score_, _ = learner.train(
                FitTask(X_tr, y_tr, X_val, y_val, self.loss, self.loss_params_, self._params(), seed))
        else:
            objective = Objective.of(self.loss, self.loss_params_, y_enc, n_classes)
            self.init_score_ = objective.init
            params = {**booster_params(self._params(), seed), **objective.params()}
            train = lgb.Dataset(X, y_enc, init_score=objective.init_score(len(y_enc)))
            booster, self.n_iter_ = lgb.train(params, train, num_boost_round=self.n_estimators), self.n_estimators
        # a booster read back from its model text: no custom objective inside, so it pickles
        self.booster_ = lgb.Booster(model_str=booster.model_to_string(num_iteration=max(self.n_iter_, 1)))
        return self

    def decision_function(self, X):
        """Raw margins (logits) plus the init score: shape (n,) for two classes (positive =
        ``classes_[1]``), (n, C) for C > 2."""
        check_is_fitted(self)
        X = validate_data(self, X, dtype=np.float64, reset=False)
        init = np.asarray(self.init_score_, dtype=np.float64)
        if self.n_iter_ <= 0:
            return np.full(len(X), float(init)) if init.ndim == 0 else np.tile(init, (len(X), 1))
        return np.asarray(self.booster_.predict(X, raw_score=True), dtype=np.float64) + init

    def predict_proba(self, X):
        """Class probabilities, shape (n, C), columns in the order of ``classes_``."""
        z = self.decision_function(X)
        if z.ndim == 2:
            return softmax(z, axis=1)
        p = expit(z)
        return np.column_stack([1.0 - p, p])

    def predict(self, X):
        z = self.decision_function(X)
        return self.classes_[z.argmax(axis=1) if z.ndim == 2 else (z > 0).astype(int)]
