"""Run one cell: tune on repetition 0, evaluate the best configuration on R repetitions.

Computing only: nothing here talks to MLflow or writes files. The result of a cell is a plain
:class:`CellResult` that tracking and the results store consume afterwards.
"""

from __future__ import annotations

import math
import time
import warnings
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import optuna
import torch

import datasets

from . import methods as methods_registry
from . import metrics as metrics_registry
from . import samplers as samplers_registry
from .cells import Cell
from .models import build_model
from .seeding import derive_seed
from .spec import DatasetSpec, Spec
from .calibration import calibrate
from .trainer import TrainConfig, as_tensors, fit, predict_logits

optuna.logging.set_verbosity(optuna.logging.ERROR)
warnings.filterwarnings("ignore", category=optuna.exceptions.ExperimentalWarning)


def now_ms() -> int:
    return time.time_ns() // 1_000_000


@dataclass
class TrialRecord:
    number: int
    params: dict[str, Any]
    value: float | None
    state: str
    stopped_by: str
    curve: list[float]
    start_ms: int
    end_ms: int
    reason: str = ""


@dataclass
class RepetitionRecord:
    """One evaluation repetition: test metrics per calibration variant, and the predictions."""

    repetition: int
    seed: int
    metrics: dict[str, dict[str, float]]  # calibration variant -> metric -> value
    thresholds: dict[str, float]  # calibration variant -> validation-chosen threshold
    fingerprint: str
    epochs: int
    start_ms: int
    end_ms: int
    y_true: np.ndarray = field(repr=False)
    logits: np.ndarray = field(repr=False)
    probs: dict[str, np.ndarray] = field(repr=False)  # calibration variant -> test probabilities
    posterior: np.ndarray | None = field(default=None, repr=False)


@dataclass
class CellResult:
    cell: Cell
    status: str  # "ok" or "failed"
    reason: str
    best_params: dict[str, Any]
    best_value: float | None
    trials: list[TrialRecord]
    repetitions: list[RepetitionRecord]
    search_space: dict[str, str]
    start_ms: int
    end_ms: int


class DataProvider:
    """Loads and prepares data once per (dataset, ratio, repetition) and keeps it for reuse.

    Data seeds hash (benchmark seed, dataset, ratio, repetition) but not the method, so every
    method of a repetition sees the very same subsample and split: comparisons are paired.
    """

    def __init__(self, spec: Spec, max_prepared: int = 32) -> None:
        self.spec = spec
        self._pools: dict[str, datasets.Dataset] = {}
        self._prepared: dict[tuple, datasets.Prepared] = {}
        self._max = max_prepared

    def pool(self, ds: DatasetSpec) -> datasets.Dataset:
        if ds.identity not in self._pools:
            seed = derive_seed(self.spec.seed, ds.identity, "pool")
            self._pools[ds.identity] = datasets.load(ds.name, ds.params, seed=seed)
        return self._pools[ds.identity]

    def prepared(self, ds: DatasetSpec, ratio: float | str, repetition: int) -> datasets.Prepared:
        key = (ds.identity, ratio, repetition)
        if key not in self._prepared:
            if len(self._prepared) >= self._max:
                self._prepared.pop(next(iter(self._prepared)))
            self._prepared[key] = datasets.prepare(
                self.pool(ds),
                ratio,
                seed=derive_seed(self.spec.seed, ds.identity, ratio, repetition, "split"),
                fractions=self.spec.split.fractions,
                min_test_minority=self.spec.min_test_minority,
            )
        return self._prepared[key]


def _train(
    spec: Spec,
    method: methods_registry.Method,
    params: dict[str, Any],
    data: datasets.Prepared,
    seed: int,
    on_epoch: Callable[[int, float], bool] | None = None,
):
    metric = metrics_registry.get(spec.tuning.metric)
    X_train, y_train = data.train.X, data.train.y
    if method.sampler is not None:  # the training split only: validation and test stay untouched
        X_train, y_train = samplers_registry.resample(method.sampler, params, X_train, y_train,
                                                     seed=derive_seed(seed, "sampler"))
    counts = np.bincount(y_train, minlength=data.n_classes).tolist()
    model = build_model(
        spec.model.name,
        data.n_features,
        hidden_sizes=tuple(spec.model.hidden_sizes),
        dropout=spec.model.dropout,
        prior=counts[1] / sum(counts),
        seed=seed,
    )
    config = TrainConfig(
        lr=params["lr"],
        weight_decay=params["weight_decay"],
        max_epochs=spec.training.max_epochs,
        batch_size=spec.training.batch_size,
        patience=spec.training.patience,
    )
    result = fit(
        model,
        method.build(params, counts),
        as_tensors(X_train, y_train),
        as_tensors(data.validation.X, data.validation.y),
        config,
        seed=seed,
        score=metric,
        higher_is_better=metric.higher_is_better,
        on_epoch=on_epoch,
        stop_on="loss" if spec.training.early_stopping == "loss" else "score",
    )
    return model, result, counts


def _logit_prior(counts: list[int]) -> float:
    return math.log(counts[1] / counts[0])


def _make_study(spec: Spec, cell: Cell) -> optuna.Study:
    metric = metrics_registry.get(spec.tuning.metric)
    sampler = optuna.samplers.TPESampler(
        seed=derive_seed(spec.seed, cell.dataset.identity, cell.ratio, cell.method, "tpe"),
        n_startup_trials=min(spec.tuning.n_trials, 5),
        multivariate=True,
        group=True,
        constant_liar=True,
    )
    pruner = (
        optuna.pruners.MedianPruner(n_startup_trials=3, n_warmup_steps=3)
        if spec.tuning.pruner == "median"
        else optuna.pruners.NopPruner()
    )
    return optuna.create_study(
        direction="maximize" if metric.higher_is_better else "minimize",
        sampler=sampler,
        pruner=pruner,
        study_name=cell.label,
    )


def run_cell(
    spec: Spec,
    cell: Cell,
    data: DataProvider,
    progress: Callable[[], None] = lambda: None,
) -> CellResult:
    """Tune ``cell``'s method on repetition 0, then evaluate the best configuration on each repetition."""
    start = now_ms()
    method = methods_registry.get(cell.method)
    space = {name: dist.describe() for name, dist in method.full_space.items()}
    data0 = data.prepared(cell.dataset, cell.ratio, 0)
    study = _make_study(spec, cell)
    trials: list[TrialRecord] = []

    def objective(trial: optuna.Trial) -> float:
        t0 = now_ms()
        params = method.suggest(trial)

        def on_epoch(epoch: int, value: float) -> bool:
            trial.report(value, epoch)
            return trial.should_prune()

        seed = derive_seed(spec.seed, cell.dataset.identity, cell.ratio, cell.method, "trial", trial.number)
        _, result, _ = _train(spec, method, params, data0, seed, on_epoch)
        state = {"pruned": "PRUNED", "diverged": "FAIL"}.get(result.stopped_by, "COMPLETE")
        if state == "FAIL" and math.isfinite(result.best_score):
            state = "COMPLETE"  # diverged late: the best epoch before it still counts
        value = result.best_score if math.isfinite(result.best_score) else None
        trials.append(
            TrialRecord(trial.number, params, value, state, result.stopped_by, result.curve, t0, now_ms(), result.reason)
        )
        progress()
        if state == "PRUNED":
            raise optuna.TrialPruned()
        if state == "FAIL":
            trial.set_user_attr("fail_reason", result.reason)
            return float("nan")
        return result.best_score

    study.optimize(objective, n_trials=spec.tuning.n_trials, catch=())
    completed = [t for t in study.trials if t.state == optuna.trial.TrialState.COMPLETE]
    if not completed:
        reasons = sorted({t.reason for t in trials if t.reason}) or ["every trial was pruned"]
        return CellResult(cell, "failed", "; ".join(reasons), {}, None, trials, [], space, start, now_ms())
    best_params = dict({t.number: t for t in trials}[study.best_trial.number].params)
    repetitions = []
    for rep in range(spec.evaluation.repetitions):
        t0 = now_ms()
        prepared = data.prepared(cell.dataset, cell.ratio, rep)
        seed = derive_seed(spec.seed, cell.dataset.identity, cell.ratio, cell.method, "repetition", rep)
        model, result, counts = _train(spec, method, best_params, prepared, seed)
        val_logits, test_logits = (
            predict_logits(model, torch.as_tensor(split.X, dtype=torch.float32)).double().numpy()
            for split in (prepared.validation, prepared.test)
        )
        if not (np.all(np.isfinite(val_logits)) and np.all(np.isfinite(test_logits))):
            reason = f"repetition {rep}: non-finite predictions ({result.reason or 'diverged'})"
            return CellResult(cell, "failed", reason, best_params, study.best_value, trials, repetitions, space, start, now_ms())
        record = RepetitionRecord(rep, seed, {}, {}, prepared.fingerprint, result.epochs_run, t0, 0,
                                  prepared.test.y, test_logits, {}, prepared.test.posterior)
        loss_params = method.loss_params(best_params, counts)
        # resampling moved the training prior: the closed form maps back to the data's prior
        shift = _logit_prior(prepared.train.counts(prepared.n_classes)) - _logit_prior(counts)
        for variant in spec.evaluation.calibration:
            out = calibrate(variant, loss=method.loss, loss_params=loss_params, val_logits=val_logits,
                            y_val=prepared.validation.y, test_logits=test_logits, prior_shift=shift)
            if out is None:
                continue  # no closed-form correction for this loss
            threshold = metrics_registry.best_f1_threshold(prepared.validation.y, out.val_prob)
            record.thresholds[variant] = threshold
            record.probs[variant] = out.test_prob
            record.metrics[variant] = metrics_registry.evaluate(
                spec.evaluation.metrics, prepared.test.y, out.test_prob,
                val_threshold=threshold, posterior=prepared.test.posterior, scores=out.test_score,
            )
        record.end_ms = now_ms()
        repetitions.append(record)
        progress()
    return CellResult(cell, "ok", "", best_params, study.best_value, trials, repetitions, space, start, now_ms())
