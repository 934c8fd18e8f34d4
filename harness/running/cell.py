"""Run one cell: tune its method, then evaluate the chosen configuration on R repetitions.

Computing only: nothing here talks to MLflow or writes files. The result of a cell is a plain
:class:`~harness.store.records.CellResult` that tracking and the results store consume afterwards.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import replace

from harness.evaluation.protocol import evaluate
from harness.faults import fault_point
from harness.learners import Learner, for_model
from harness.metrics import binary as metrics_registry
from harness.plan.cells import Cell
from harness.plan.data import DataProvider
from harness.spec.schema import Spec
from harness.store.records import CellResult, TrialRecord, now_ms
from harness.tuning.study import Tuning, param_importances, pick_best, sized, tune_batched
from harness.tuning.summary import flatness


def _optuna_seconds(records: list[TrialRecord], since_ms: int, elapsed: float) -> float:
    """Time of a tuning run spent outside training: trials trained together share their time
    span, so each batch counts once."""
    batches: dict[int, int] = {}
    for t in records:
        if t.start_ms >= since_ms:
            batches[t.start_ms] = max(batches.get(t.start_ms, 0), t.end_ms)
    busy = sum(end - begin for begin, end in batches.items()) / 1000
    return max(0.0, elapsed - busy)


def _failed(cell: Cell, reason: str, trials: list[TrialRecord], space: dict, start: int, **found) -> CellResult:
    return CellResult(cell, "failed", reason, found.get("best_params", {}), found.get("best_value"), trials,
                      found.get("repetitions", []), space, start, now_ms())


def run_cell(
    spec: Spec,
    cell: Cell,
    data: DataProvider,
    progress: Callable[[], None] = lambda: None,
    storage=None,
    learner: Learner | None = None,
) -> CellResult:
    """Tune ``cell``'s method (on repetition 0 — cv: fold 0's train and validation, never its
    test fold —, or on each repetition or fold with ``tuning.per_repetition``: nested), then
    evaluate the chosen configuration on every repetition or fold (trained together where the
    learner can). A cell without trials (``tuning.n_trials: 0``) evaluates its fixed configuration."""
    if cell.model is None:
        cell = replace(cell, model=spec.model)
    start, learner = now_ms(), learner or for_model(spec, cell.model)
    method = cell.config
    # the space as tuned: size-bound ranges (LightGBM's fewest samples per leaf) capped for the first
    # tuning's training split (each tuning caps them for its own)
    first = sized(method, data.prepared(cell.dataset, cell.ratio, 0))
    space = {name: dist.describe() for name, dist in first.full_space.items()}
    trials: list[TrialRecord] = []
    best_params, best_value, importances, optuna_seconds, runs = {}, None, {}, 0.0, []
    for rep in range(spec.evaluation.fits):
        prepared = data.prepared(cell.dataset, cell.ratio, rep)
        if cell.budget == 0:  # no tuning (every parameter fixed, checked when planned): that configuration
            best_params = method.suggest(None)
        elif rep == 0 or spec.tuning.per_repetition:
            t0 = time.perf_counter()
            t = Tuning(spec, cell, sized(method, prepared), prepared, learner, rep, progress)
            study, records = tune_batched(t, storage)
            optuna_seconds += _optuna_seconds(records, start, time.perf_counter() - t0)
            trials += records
            if rep == 0:
                importances = param_importances(study)
            if not any(t.state == "COMPLETE" for t in records):
                reasons = sorted({t.reason for t in records if t.reason}) or ["every trial was pruned"]
                return _failed(cell, "; ".join(reasons), trials, space, start,
                               best_params=best_params, best_value=best_value)
            best = pick_best(study, spec.tuning.metrics)
            best_params, best_value = dict(best.user_attrs["config"]), best.values[0]
        runs.append((rep, best_params, prepared))
    repetitions = []
    for record in evaluate(spec, cell, method, learner, runs):
        if isinstance(record, str):
            return _failed(cell, record, trials, space, start, best_params=best_params,
                           best_value=best_value, repetitions=repetitions)
        repetitions.append(record)
        progress()
        fault_point("repetition")
    return CellResult(cell, "ok", "", best_params, best_value, trials, repetitions, space, start, now_ms(),
                      importances, optuna_seconds, _flatness(spec, trials))


def _flatness(spec: Spec, trials: list[TrialRecord]) -> dict[str, float]:
    """How flat the tuning objective was at its top (first tuning of the cell), for the record."""
    higher = metrics_registry.get(spec.tuning.metrics[0]).higher_is_better
    flat = flatness([t for t in trials if t.repetition == 0], k=5, higher_is_better=higher)
    return {} if flat is None else {"top5_gap": flat.gap, "top5_std": flat.std, "top": float(flat.top)}
