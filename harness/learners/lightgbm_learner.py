"""The LightGBM learner: gradient-boosted trees with every binary loss of the zoo as a custom objective.

A loss's :class:`~loss_zoo.BinaryTerms` give its per-sample form
ℓ = −w_y (1 − p_t)^γ_t log p_t with p_t = σ(u), u = s (z + δ), s = ±1 for y = 1 / 0.
With q = 1 − p_t and N = −log p_t = softplus(−u), differentiating by hand (no library gives
focal's derivatives with respect to the raw score; the tests check them against torch
autograd):

    dℓ/du   = −w q^γ (q + γ p_t N)
    d²ℓ/du² =  w q^γ p_t (q (2γ + 1) + γ² p_t N − γ q N)

and dℓ/dz = s dℓ/du, d²ℓ/dz² = d²ℓ/du² (γ is piecewise constant in FLSD: no derivative; so
is dual focal's factor 2^γ where p_t > 1/2, folded into w). The terms added to that form, (ε/2) u
(label smoothing), b q (poly-1) and c q² (Brier), add

    dℓ/du   += ε/2 − p_t q (b + 2 c q)
    d²ℓ/du² += p_t q (b (p_t − q) + 2 c q (2 p_t − q)).

For γ > 0 the second derivative is negative for badly misclassified samples (γ N > 2γ + 1
roughly), and so it is for poly-1 with b > 1 and for the Brier loss (p_t < 1/3), which a Newton
step cannot use: the objective's Hessian is the **positive surrogate** max(exact, w q^γ p_t q +
2 c p_t² q²) — the exact curvature, floored by the Gauss-Newton/Fisher form of each term (that
of cross-entropy weighted by the focal factor held fixed, and 2 c (dq/du)² for the squared
error). For CE, weighted CE, logit-adjusted CE and label smoothing the exact Hessian is never
below the floor, so they use it.

Boosting starts from the loss's own optimal constant score (LightGBM's ``boost_from_average``
does this for its built-in objectives only), stops early on the task's loss on validation (or
the tuning metric, ``training.early_stopping: metric``; none: all ``max_rounds``, the last kept),
reports the tuning score every ``report_every`` rounds to ``on_step`` (pruning), and predicts
raw margins plus that constant, so posterior corrections and calibration variants apply as for
the MLP. Multi-class data (C > 2 classes in the task) trains C trees per round on the loss's
multi-class terms (:mod:`harness.learners.lightgbm_multiclass`: softmax, diagonal Hessian with
LightGBM's own K/(K−1) factor, a constant score per class) and predicts (n, C) logits. A loss
with no terms but a per-sample torch function (a user's own) gets its derivatives from
autograd instead (:mod:`harness.learners.torch_objective`, :meth:`Objective.of`).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from functools import partial

import numpy as np
from scipy.optimize import brentq
from scipy.special import expit, softmax

import loss_zoo
from harness.learners import lightgbm_multiclass as multiclass
from harness.learners.base import FitReport, FitTask, Fitted
from harness.space import INF, Float, Int

#: LightGBM's tuned parameters (rounds come from early stopping, up to ``max_rounds``).
SPACE = {
    "lgbm_learning_rate": Float(0.01, 0.3, log=True, valid=(0.0, INF)),
    "lgbm_num_leaves": Int(4, 64, valid=(2, INF)),
    # at most a quarter of the training split: a leaf needing half of ~25-50 rows never splits
    # (the published sweep's 43 constant LightGBM predictors at ρ 2 on 42-106-row sets)
    "lgbm_min_child_samples": Int(5, 100, valid=(1, INF), row_share=0.25),
    "lgbm_feature_fraction": Float(0.5, 1.0, valid=(0.0, 1.0)),
    "lgbm_lambda_l2": Float(1e-8, 10.0, log=True, valid=(0.0, INF)),
}

#: The values of :data:`SPACE` where nothing tunes them (the estimator's defaults).
DEFAULTS = {"lgbm_learning_rate": 0.1, "lgbm_num_leaves": 31, "lgbm_min_child_samples": 20,
            "lgbm_feature_fraction": 1.0, "lgbm_lambda_l2": 0.0}


def cannot_take(loss: str, n_classes: int = 2) -> str | None:
    """Why LightGBM cannot train with ``loss`` on data with ``n_classes`` (None: it can)."""
    if n_classes > 2:
        return multiclass.cannot_take(loss)
    entry = loss_zoo.entry(loss)
    if not entry.binary:
        return "not a binary loss"
    if entry.binary_terms is None and entry.per_sample is not None:  # a user's torch loss: autograd
        from harness.learners import torch_objective

        return torch_objective.cannot_take(entry)
    if entry.binary_terms is None:
        return entry.no_terms or "its entry declares no per-sample binary terms for a custom objective"
    return None


def terms_of(loss: str, loss_params) -> loss_zoo.BinaryTerms:
    """The per-sample form of ``loss`` built with ``loss_params``; a clear error where it has none."""
    why = cannot_take(loss)
    terms = None if why else loss_zoo.entry(loss).binary_terms(loss_zoo.get(loss, **loss_params))
    if terms is None:
        raise ValueError(f"loss: LightGBM cannot train {loss!r} with {dict(loss_params)} "
                         f"({why or 'this configuration has no binary per-sample form'})")
    return terms


def _parts(t: loss_zoo.BinaryTerms, z: np.ndarray, y: np.ndarray):
    sign = np.where(y == 1, 1.0, -1.0)
    u = sign * (z + t.shift)
    p, q, nll = expit(u), expit(-u), np.logaddexp(0.0, -u)
    gamma = np.where(p < t.threshold, t.g0, t.g1)
    w = np.where(y == 1, t.w1, t.w0)
    if t.dual:
        w = np.where(u > 0, 2.0**gamma, 1.0) * w  # p_t > 1/2
    return sign, p, q, nll, gamma, w * q**gamma


def _added(t: loss_zoo.BinaryTerms, z: np.ndarray, y: np.ndarray):
    """(value, dℓ/du, d²ℓ/du²) of the terms added to the focal form; None where there are none."""
    if not (t.smoothing or t.poly or t.brier):
        return None
    u = np.where(y == 1, 1.0, -1.0) * (z + t.shift)
    p, q, a, b, c = expit(u), expit(-u), t.smoothing / 2.0, t.poly, t.brier
    return a * u + (b + c * q) * q, a - p * q * (b + 2.0 * c * q), p * q * (b * (p - q) + 2.0 * c * q * (2.0 * p - q))


def per_sample_loss(t: loss_zoo.BinaryTerms, z: np.ndarray, y: np.ndarray) -> np.ndarray:
    """ℓ per sample, (n,) float64, from raw scores ``z`` and labels ``y`` in {0, 1}."""
    z = np.asarray(z, dtype=np.float64)
    _, _, _, nll, _, m = _parts(t, z, y)
    added = _added(t, z, y)
    return m * nll if added is None else m * nll + added[0]


def derivatives(t: loss_zoo.BinaryTerms, z: np.ndarray, y: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """(dℓ/dz, exact d²ℓ/dz²) per sample (see the module docstring), float64."""
    z = np.asarray(z, dtype=np.float64)
    sign, p, q, nll, gamma, m = _parts(t, z, y)
    grad = -m * (q + gamma * p * nll)
    hess = m * p * (q * (2.0 * gamma + 1.0) + gamma**2 * p * nll - gamma * q * nll)
    added = _added(t, z, y)
    if added is not None:
        grad, hess = grad + added[1], hess + added[2]
    return sign * grad, hess


def objective_hessian(t: loss_zoo.BinaryTerms, z: np.ndarray, y: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """(gradient, positive surrogate Hessian max(exact, w q^γ p q + 2 c p² q²)) that boosting uses."""
    grad, hess = derivatives(t, z, y)
    _, p, q, _, _, m = _parts(t, np.asarray(z, dtype=np.float64), y)
    floor = m * p * q if not t.brier else m * p * q + 2.0 * t.brier * (p * q) ** 2
    return grad, np.maximum(hess, floor)


def optimal_constant(t: loss_zoo.BinaryTerms, y: np.ndarray, bound: float = 30.0) -> float:
    """The constant score c minimising the mean loss over ``y`` (1-D, scipy's ``brentq`` on the
    stationarity condition d/dc mean ℓ(c) = 0); ±``bound`` when one class is absent."""
    def slope(c: float) -> float:
        return float(np.mean(derivatives(t, np.full(len(y), c), y)[0]))

    lo, hi = slope(-bound), slope(bound)
    if lo >= 0 or hi <= 0:
        return -bound if lo >= 0 else bound
    return float(brentq(slope, -bound, bound, xtol=1e-12, rtol=1e-14))


def booster_params(params, seed: int) -> dict:
    """LightGBM's parameters from a configuration (``lgbm_*``), deterministic and single-threaded."""
    get = {**DEFAULTS, **{k: v for k, v in params.items() if k in SPACE}}
    return {
        "learning_rate": float(get["lgbm_learning_rate"]), "num_leaves": int(get["lgbm_num_leaves"]),
        "min_child_samples": int(get["lgbm_min_child_samples"]),
        "feature_fraction": float(get["lgbm_feature_fraction"]), "lambda_l2": float(get["lgbm_lambda_l2"]),
        "deterministic": True, "num_threads": 1, "seed": int(seed), "force_col_wise": True,
        "feature_pre_filter": False,  # keep every feature (tuned min_child_samples; tiny data)
        "verbosity": -1, "metric": "None",
    }


@dataclass(frozen=True)
class Objective:
    """One task's boosting objective on raw scores z ((n,) binary, (n, C) multi-class): the loss
    per sample, (gradient, positive Hessian) as boosting uses them, and the optimal constant score."""

    per_sample: Callable[[np.ndarray, np.ndarray], np.ndarray]
    derivatives: Callable[[np.ndarray, np.ndarray], tuple[np.ndarray, np.ndarray]]
    n_classes: int
    init: float | np.ndarray  # the loss's optimal constant score (per class for C > 2)

    @classmethod
    def of(cls, loss: str, loss_params, y: np.ndarray, n_classes: int) -> Objective:
        """The objective of ``loss`` on training labels ``y``: from its terms, else (a user's loss)
        from its per-sample torch function by autograd; started from its optimal constant."""
        entry = loss_zoo.entry(loss)
        if entry.binary_terms is None and entry.per_sample is not None and (n_classes == 2 or entry.multiclass):
            return cls._torch(loss, loss_params, y, n_classes)
        if n_classes > 2:
            terms = multiclass.terms_of(loss, loss_params, n_classes)
            return cls(partial(multiclass.per_sample_loss, terms), partial(multiclass.objective_hessian, terms),
                       n_classes, multiclass.optimal_constant(terms, y, n_classes))
        terms = terms_of(loss, loss_params)
        return cls(partial(per_sample_loss, terms), partial(objective_hessian, terms), 2, optimal_constant(terms, y))

    @classmethod
    def _torch(cls, loss: str, loss_params, y: np.ndarray, n_classes: int) -> Objective:
        """A per-sample torch loss; on multi-class data its Hessian takes LightGBM's K/(K−1) factor,
        as the multi-class terms' objective does, so both boost alike."""
        from harness.learners.torch_objective import TorchObjective

        t = TorchObjective.of(loss, loss_params)
        factor = n_classes / (n_classes - 1.0) if n_classes > 2 else 1.0

        def derivatives(z: np.ndarray, labels: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
            g, h = t.gradient_hessian(z, labels)
            return g, factor * h

        return cls(t.loss, derivatives, n_classes, t.optimal_constant(y, n_classes))

    def init_score(self, n: int) -> np.ndarray:
        return np.full(n, self.init) if self.n_classes == 2 else np.tile(self.init, (n, 1))

    def loss(self, z: np.ndarray, y: np.ndarray) -> np.ndarray:
        return self.per_sample(z, y)

    def gradients(self, z: np.ndarray, data) -> tuple[np.ndarray, np.ndarray]:
        """LightGBM's custom objective: (gradient, positive Hessian) at scores ``z``."""
        return self.derivatives(z, data.get_label().astype(np.int64))

    def probabilities(self, z: np.ndarray) -> np.ndarray:
        return softmax(z, axis=1) if self.n_classes > 2 else expit(z)

    def params(self) -> dict:
        """LightGBM's parameters for this objective (C trees per round on multi-class data)."""
        return {"objective": self.gradients, **({"num_class": self.n_classes} if self.n_classes > 2 else {})}


@dataclass(eq=False)  # hashable: LightGBM keeps callbacks in a set
class _Watch:
    """LightGBM callback: early stopping on the validation loss, the kept round, pruning."""

    y_val: np.ndarray
    objective: Objective
    score: Callable[[np.ndarray, np.ndarray], float]
    patience: int | None  # None: no early stopping, the last round is kept
    report_every: int
    on_step: Callable[[int, float], bool] | None
    sign: float | None = None  # None: early stopping follows the loss; ±1: the score (higher is better: +1)
    order: int = 30

    def __post_init__(self) -> None:
        self.best_loss, self.best_round, self.best_value = np.inf, -1, float("nan")
        self.curve: list[float] = []
        self.stopped_by, self.reason = "max_rounds", ""

    def capture(self, z: np.ndarray, data) -> tuple[str, float, bool]:
        """LightGBM's ``feval``: the validation raw scores (init score included) and their mean loss."""
        self.z = np.asarray(z, dtype=np.float64)
        self.loss = float(np.mean(self.objective.loss(self.z, self.y_val)))
        return "validation_loss", self.loss, False

    def __call__(self, env) -> None:
        import lightgbm as lgb

        r, loss = env.iteration, self.loss
        value = float(self.score(self.y_val, self.objective.probabilities(self.z)))
        if not (np.isfinite(loss) and np.isfinite(value)):
            self.stopped_by, self.reason = "diverged", f"non-finite validation loss at round {r}"
            raise lgb.callback.EarlyStopException(max(self.best_round, 0), [])
        self.curve.append(value)
        watched = loss if self.sign is None else -self.sign * value  # lower is better
        if self.patience is None or watched < self.best_loss:
            self.best_loss, self.best_round, self.best_value = watched, r, value
        elif r - self.best_round >= self.patience:
            self.stopped_by = "early_stopping"
            raise lgb.callback.EarlyStopException(self.best_round, [])
        if self.on_step is not None and (r + 1) % self.report_every == 0 and self.on_step(r, value):
            self.stopped_by = "pruned"
            raise lgb.callback.EarlyStopException(self.best_round, [])


@dataclass(frozen=True)
class LightGBMLearner:
    """Fits :class:`~harness.learners.base.FitTask` objects one by one with LightGBM."""

    score: Callable[[np.ndarray, np.ndarray], float]
    higher_is_better: bool
    max_rounds: int = 300
    patience: int | None = 20
    report_every: int = 1
    stop_on: str = "loss"  # or "score": the tuning metric (``training.early_stopping: metric``)
    name: str = "lightgbm"

    @classmethod
    def from_spec(cls, spec, model) -> LightGBMLearner:
        from harness.metrics import per_task

        metric = spec.tuning.metrics[0]  # on multi-class data its counterpart (harness.metrics.per_task)
        patience = None if spec.training.early_stopping == "none" else model.patience
        stop_on = "score" if spec.training.early_stopping == "metric" else "loss"
        return cls(per_task.monitor(metric), per_task.higher_is_better(metric), model.max_rounds, patience,
                   model.report_every, stop_on)

    def train(self, task: FitTask):
        """(booster, rounds kept, init score, report) of one task; C = the largest label + 1
        (at least 2) decides the binary or the multi-class objective."""
        import lightgbm as lgb

        n_classes = max(2, int(max(task.y_train.max(initial=0), task.y_val.max(initial=0))) + 1)
        objective = Objective.of(task.loss, task.loss_params, task.y_train, n_classes)
        train = lgb.Dataset(task.X_train, task.y_train, init_score=objective.init_score(len(task.y_train)),
                            free_raw_data=False)
        valid = lgb.Dataset(task.X_val, task.y_val, init_score=objective.init_score(len(task.y_val)), reference=train)
        params = {**booster_params(task.params, task.seed), **objective.params()}
        sign = None if self.stop_on == "loss" else (1.0 if self.higher_is_better else -1.0)
        watch = _Watch(task.y_val, objective, self.score, self.patience, self.report_every, task.on_step, sign)
        booster = lgb.train(params, train, num_boost_round=self.max_rounds, valid_sets=[valid], feval=watch.capture,
                            callbacks=[watch])
        report = FitReport(watch.best_value, watch.best_round, len(watch.curve), watch.stopped_by, watch.curve,
                           watch.reason)
        return booster, watch.best_round + 1, objective.init, report

    def fit_one(self, task: FitTask) -> Fitted:
        booster, rounds, init, report = self.train(task)
        return Fitted(report, _predictor(booster, rounds, init))

    def fit(self, tasks: Sequence[FitTask]) -> list[Fitted]:
        """Fit every task, one after another (single-threaded, deterministic)."""
        return [self.fit_one(task) for task in tasks]


def _predictor(booster, rounds: int, init: float | np.ndarray) -> Callable[[np.ndarray], np.ndarray]:
    """Logits of new rows: (n,), or (n, C) with one constant per class."""
    def predict(X: np.ndarray) -> np.ndarray:
        if rounds <= 0:
            return np.full(len(X), init) if np.ndim(init) == 0 else np.tile(init, (len(X), 1))
        return np.asarray(booster.predict(X, raw_score=True, num_iteration=rounds), dtype=np.float64) + init

    return predict
