"""imbalanced-learn's ensembles, and their plain scikit-learn counterparts, as methods that are
their own learner (model ``ensemble``).

``balanced_random_forest``, ``easy_ensemble``, ``rus_boost`` and ``balanced_bagging`` (imbalanced-learn)
and ``random_forest`` and ``bagging`` (scikit-learn) take no loss (results column ``loss`` =
``none``) and train on the same splits as every other method of a cell, under the same trial
budget, seeded from the cell's coordinates alike. Their probabilities become logits (p clipped to
[1e-7, 1 − 1e-7]) so every calibration variant but ``closed_form`` (no loss, no correction)
applies. They have no epochs: pruning does not apply, and the tuning score is the tuning
metric on validation.

Each ensemble's search space is declared here, its parameters namespaced by a short prefix
(``brf_``, ``easy_``, ``rusboost_``, ``bbag_``). ``*_sampling_strategy`` is the ratio
minority / majority after each under-sampling, never below the training split's own ratio
(imbalanced-learn refuses to remove minority samples).

Multi-class data (C > 2): every one of them is multi-class in scikit-learn and imbalanced-learn
(trees, AdaBoost's SAMME). A float ``sampling_strategy`` is binary-only there, so the ratio r
becomes a per-class target, evaluated on whatever sample each member under-samples (a
bootstrap, a boosting round): every class with more than n_min / r samples is cut to
⌊n_min / r⌋, n_min the smallest class of that sample (:class:`PerClassRatio`; for C = 2 the
binary meaning). The logits are log p per class (p clipped to [1e-7, 1]), whose softmax is p.

The plain counterparts differ from a balanced ensemble by the balancing only, so that the report
can tell "balanced" from "forest" (or "bag"):

- ``random_forest`` is :class:`~sklearn.ensemble.RandomForestClassifier` with
  ``balanced_random_forest``'s space less ``brf_sampling_strategy`` (prefix ``rf_``): each tree on
  a bootstrap sample of the training split instead of a balanced one.
- ``bagging`` is :class:`~sklearn.ensemble.BaggingClassifier` of
  :class:`~sklearn.ensemble.AdaBoostClassifier` (EasyEnsemble's own default member), with
  ``easy_ensemble``'s space less ``easy_sampling_strategy`` (prefix ``bag_``): each member on a
  bootstrap sample of the training split instead of a balanced under-sample. Without the
  bootstrap every member would see the whole split and the bag would be one AdaBoost repeated.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
from scipy.special import logit, softmax

from harness.learners.base import FitReport, FitTask, Fitted
from harness.space import INF, Float, Int

_STRATEGY = Float(0.5, 1.0, valid=(0.0, 1.0))

#: The search space of each ensemble, by method name.
SPACES: dict[str, dict[str, Any]] = {
    "balanced_random_forest": {"brf_n_estimators": Int(50, 300, valid=(1, INF)),
                               "brf_max_depth": Int(2, 16, valid=(1, INF)),
                               "brf_max_features": Float(0.2, 1.0, valid=(0.0, 1.0)),
                               "brf_sampling_strategy": _STRATEGY},
    "easy_ensemble": {"easy_n_estimators": Int(5, 20, valid=(1, INF)),
                      "easy_sampling_strategy": _STRATEGY},
    "rus_boost": {"rusboost_n_estimators": Int(20, 200, valid=(1, INF)),
                  "rusboost_learning_rate": Float(0.01, 1.0, log=True, valid=(0.0, INF)),
                  "rusboost_max_depth": Int(1, 4, valid=(1, INF)),
                  "rusboost_sampling_strategy": _STRATEGY},
    "balanced_bagging": {"bbag_n_estimators": Int(10, 100, valid=(1, INF)),
                         "bbag_max_features": Float(0.3, 1.0, valid=(0.0, 1.0)),
                         "bbag_sampling_strategy": _STRATEGY},
    "random_forest": {"rf_n_estimators": Int(50, 300, valid=(1, INF)),
                      "rf_max_depth": Int(2, 16, valid=(1, INF)),
                      "rf_max_features": Float(0.2, 1.0, valid=(0.0, 1.0))},
    "bagging": {"bag_n_estimators": Int(5, 20, valid=(1, INF))},
}
ENSEMBLES = tuple(SPACES)
EPS = 1e-7


@dataclass(frozen=True)
class PerClassRatio:
    """imbalanced-learn's callable ``sampling_strategy`` for C > 2 classes: each class with more
    than n_min / ``ratio`` samples of ``y`` is cut to ⌊n_min / ratio⌋ (n_min: the smallest class
    present in ``y``); the others are left as they are."""

    ratio: float

    def __call__(self, y: np.ndarray) -> dict[int, int]:
        classes, counts = np.unique(y, return_counts=True)
        target = int(counts.min() / self.ratio)
        return {int(k): target for k, n in zip(classes, counts) if n > target}


def _strategy(value: float, y: np.ndarray) -> float | PerClassRatio:
    counts = np.bincount(y, minlength=2)
    if len(counts) > 2:
        return PerClassRatio(float(value))
    return float(max(value, counts.min() / max(counts.max(), 1)))


def build(name: str, params: Mapping[str, Any], y: np.ndarray, seed: int):
    """The imbalanced-learn or scikit-learn estimator of ensemble ``name`` for a configuration, seeded."""
    from imblearn import ensemble
    from sklearn import ensemble as plain

    p = params
    if name == "balanced_random_forest":
        return ensemble.BalancedRandomForestClassifier(
            n_estimators=int(p["brf_n_estimators"]), max_depth=int(p["brf_max_depth"]),
            max_features=float(p["brf_max_features"]), sampling_strategy=_strategy(p["brf_sampling_strategy"], y),
            replacement=True, bootstrap=False, random_state=seed, n_jobs=1)
    if name == "easy_ensemble":
        return ensemble.EasyEnsembleClassifier(n_estimators=int(p["easy_n_estimators"]), random_state=seed, n_jobs=1,
                                               sampling_strategy=_strategy(p["easy_sampling_strategy"], y))
    if name == "rus_boost":
        from sklearn.tree import DecisionTreeClassifier

        return ensemble.RUSBoostClassifier(n_estimators=int(p["rusboost_n_estimators"]), random_state=seed,
                                           estimator=DecisionTreeClassifier(max_depth=int(p["rusboost_max_depth"])),
                                           learning_rate=float(p["rusboost_learning_rate"]),
                                           sampling_strategy=_strategy(p["rusboost_sampling_strategy"], y))
    if name == "balanced_bagging":
        return ensemble.BalancedBaggingClassifier(
            n_estimators=int(p["bbag_n_estimators"]), max_features=float(p["bbag_max_features"]),
            sampling_strategy=_strategy(p["bbag_sampling_strategy"], y), random_state=seed, n_jobs=1)
    if name == "random_forest":
        return plain.RandomForestClassifier(n_estimators=int(p["rf_n_estimators"]), max_depth=int(p["rf_max_depth"]),
                                            max_features=float(p["rf_max_features"]), bootstrap=True, random_state=seed,
                                            n_jobs=1)
    if name == "bagging":
        return plain.BaggingClassifier(plain.AdaBoostClassifier(), n_estimators=int(p["bag_n_estimators"]),
                                       bootstrap=True, random_state=seed, n_jobs=1)
    raise ValueError(f"ensemble: unknown {name!r}; known: {', '.join(ENSEMBLES)}")


def as_logits(prob: np.ndarray) -> np.ndarray:
    """Logits of probabilities: binary (n,) logit of p clipped to [1e-7, 1 − 1e-7]; multi-class
    (n, C) log p with p clipped to [1e-7, 1]; float64."""
    p = np.asarray(prob, dtype=np.float64)
    return logit(np.clip(p, EPS, 1.0 - EPS)) if p.ndim == 1 else np.log(np.clip(p, EPS, 1.0))


def class_probabilities(estimator, X: np.ndarray, n_classes: int) -> np.ndarray:
    """The positive class's probability (n,) for 2 classes, else (n, C) with a column per class
    (0 for a class the estimator never saw in training)."""
    prob = estimator.predict_proba(X)
    if n_classes == 2:
        return prob[:, list(estimator.classes_).index(1)] if 1 in estimator.classes_ else np.zeros(len(X))
    full = np.zeros((len(X), n_classes))
    full[:, np.asarray(estimator.classes_, dtype=np.int64)] = prob
    return full


@dataclass(frozen=True)
class EnsembleLearner:
    """Fits one ensemble method's tasks one by one (``task.loss`` is None; no epochs, no pruning)."""

    ensemble: str
    score: Callable[[np.ndarray, np.ndarray], float]
    name: str = "ensemble"

    @classmethod
    def from_spec(cls, spec, model) -> EnsembleLearner:
        from harness.metrics import per_task

        return cls(model.ensemble, per_task.monitor(spec.tuning.metrics[0]))

    def fit_one(self, task: FitTask) -> Fitted:
        try:
            # bagging: scikit-learn bootstraps AdaBoost by weights, 0 out of the bag, and takes their
            # log (−inf, so they stay 0: intended, but one warning per member without this)
            with np.errstate(divide="ignore"):
                estimator = build(self.ensemble, task.params, task.y_train, task.seed).fit(task.X_train, task.y_train)
        except ValueError as exc:  # e.g. RUSBoost: "BaseClassifier ... is worse than random"
            return Fitted(FitReport(float("nan"), -1, 0, "diverged", [], f"{self.ensemble}: {exc}"),
                          lambda X: np.full(len(X), np.nan))

        n_classes = max(2, int(max(task.y_train.max(), task.y_val.max())) + 1)

        def predict(X: np.ndarray) -> np.ndarray:
            return as_logits(class_probabilities(estimator, X, n_classes))

        value = float(self.score(task.y_val, _probabilities(predict(task.X_val))))
        return Fitted(FitReport(value, 0, 1, "max_epochs", [value]), predict)

    def fit(self, tasks: Sequence[FitTask]) -> list[Fitted]:
        return [self.fit_one(task) for task in tasks]


def _probabilities(logits: np.ndarray) -> np.ndarray:
    """Sigmoid of binary logits, softmax of multi-class ones."""
    return 1.0 / (1.0 + np.exp(-logits)) if logits.ndim == 1 else softmax(logits, axis=1)
