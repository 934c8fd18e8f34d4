"""Evaluating a cell's chosen configuration: retrain it on each repetition (holdout) or fold
(cv), score it once on its test split under every calibration variant (fitted on validation only)."""

from __future__ import annotations

import math
from typing import Any

import numpy as np
from scipy import special

import datasets
from harness.evaluation import calibration_multiclass
from harness.evaluation.calibration import calibrate
from harness.evaluation.dense import add_dense_scores
from harness.learners import Fitted, Learner
from harness.methods.registry import Method
from harness.metrics import binary as metrics_registry
from harness.metrics import multiclass as metrics_multiclass
from harness.metrics import per_task
from harness.plan.cells import Cell
from harness.plan.tasks import Job, make_job
from harness.seeding import derive_seed
from harness.spec.schema import Spec
from harness.store.records import RepetitionRecord, now_ms


def nll(logits: np.ndarray, y: np.ndarray) -> float:
    """Mean negative log-likelihood of labels ``y`` under (N,) binary or (N, C) multi-class logits."""
    if logits.ndim == 1:
        return float(-np.mean(np.where(y == 1, special.log_expit(logits), special.log_expit(-logits))))
    return float(-np.mean(special.log_softmax(logits, axis=1)[np.arange(len(y)), y]))


def _history(fitted: Fitted, task) -> dict[str, Any]:
    """The fit's per-epoch curves and the kept weights' NLL on the rows it trained on (empty
    when the learner tracks no curves: the extra pass over the training rows is for those only)."""
    if not fitted.report.history:
        return {}
    return {**fitted.report.history, "train_nll_final": nll(fitted.predict_logits(task.X_train), task.y_train)}


def _logit_prior(counts: list[int]) -> float:
    return math.log(counts[1] / counts[0])


def _score(spec: Spec, record: RepetitionRecord, prepared: datasets.Prepared, val_logits: np.ndarray,
           loss_params: dict[str, Any], shift: float, trained: float) -> None:
    """Every calibration variant's test metrics, threshold and probabilities, into ``record``."""
    for variant in spec.evaluation.calibration:
        cal = calibrate(variant, loss=record.loss, loss_params=loss_params, val_logits=val_logits,
                        y_val=prepared.validation.y, test_logits=record.logits, prior_shift=shift,
                        trained_logit_prior=trained)
        if cal is None:
            continue  # no closed-form correction for this loss
        threshold = metrics_registry.best_f1_threshold(prepared.validation.y, cal.val_prob)
        record.thresholds[variant] = threshold
        record.probs[variant] = cal.test_prob
        record.metrics[variant] = metrics_registry.evaluate(
            spec.evaluation.metrics, prepared.test.y, cal.test_prob,
            val_threshold=threshold, posterior=prepared.test.posterior, scores=cal.test_score,
        )


def _score_multiclass(spec: Spec, record: RepetitionRecord, prepared: datasets.Prepared, val_logits: np.ndarray,
                     loss_params: dict[str, Any], trained_counts: list[int]) -> None:
    """Every multi-class calibration variant's test metrics and probabilities (N, C), into ``record``.

    The closed form's prior shift is log π_data − log π_trained (C,): the training split's class
    shares minus those after resampling; head / medium / tail come from the data's training counts.
    """
    c = prepared.n_classes
    data_counts = np.asarray(prepared.train.counts(c), dtype=np.float64)
    trained = np.asarray(trained_counts, dtype=np.float64)
    shift = np.log(data_counts / data_counts.sum()) - np.log(trained / trained.sum())
    names = per_task.evaluation_metrics(spec, c)
    for variant in per_task.variants(spec, c):
        cal = calibration_multiclass.calibrate(variant, loss=record.loss, loss_params=loss_params,
                                               val_logits=val_logits, y_val=prepared.validation.y,
                                               test_logits=record.logits, prior_shift=shift,
                                               trained_log_prior=np.log(trained / trained.sum()))
        if cal is None:
            continue  # no closed-form correction for this loss
        record.probs[variant] = cal.test_prob
        record.metrics[variant] = metrics_multiclass.evaluate(
            names, prepared.test.y, cal.test_prob, train_counts=data_counts.astype(int).tolist(),
            posterior=prepared.test.posterior)


def _repetition(spec: Spec, method: Method, run: tuple, seed: int, job: Job, fitted: Fitted,
                t0: int) -> RepetitionRecord | str:
    """The scored record of one retrained repetition, or why it failed."""
    rep, params, prepared = run
    val_logits, test_logits = (fitted.predict_logits(split.X) for split in (prepared.validation, prepared.test))
    if not (np.all(np.isfinite(val_logits)) and np.all(np.isfinite(test_logits))):
        return f"repetition {rep}: non-finite predictions ({fitted.report.reason or 'diverged'})"
    loss, sampler = method.resolve(params)
    repeat, fold = spec.evaluation.fold_of(rep)
    record = RepetitionRecord(rep, seed, dict(params), loss or method.loss, sampler, {}, {}, prepared.fingerprint,
                              fitted.report.epochs_run, t0, 0, prepared.test.y, test_logits, {},
                              prepared.test.posterior, repeat, fold,
                              len(prepared.train.y) + len(prepared.validation.y), _history(fitted, job.task))
    if prepared.n_classes > 2:
        _score_multiclass(spec, record, prepared, val_logits, dict(job.task.loss_params), job.counts)
    else:  # resampling moved the training prior: the closed form maps back to the data's prior
        shift = _logit_prior(prepared.train.counts(prepared.n_classes)) - _logit_prior(job.counts)
        _score(spec, record, prepared, val_logits, dict(job.task.loss_params), shift, _logit_prior(job.counts))
    if "dense" in prepared.info:  # canvases: object-level AP and the mechanism probes
        add_dense_scores(record, prepared, fitted)
    record.end_ms = now_ms()
    return record


def evaluate(spec: Spec, cell: Cell, method: Method, learner: Learner,
             runs: list[tuple[int, dict[str, Any], datasets.Prepared]]) -> list[RepetitionRecord | str]:
    """Retrain each (repetition, params, data) — together where the learner can — and score it
    on test; a string says why a repetition failed."""
    t0 = now_ms()
    seeds = [derive_seed(spec.seed, cell.dataset.identity, cell.ratio, cell.method, *cell.seed_parts,
                         "repetition", rep)
             for rep, _, _ in runs]
    jobs = [make_job(method, params, prepared, seed) for (_, params, prepared), seed in zip(runs, seeds)]
    fits = learner.fit([job.task for job in jobs])
    return [_repetition(spec, method, run, seed, job, fitted, t0)
            for run, seed, job, fitted in zip(runs, seeds, jobs, fits)]
