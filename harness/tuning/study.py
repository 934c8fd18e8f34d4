"""Tuning a cell's method with Optuna: study creation and seeding, and the two protocols.

- :func:`tune_batched` (one process per study): trials go in batches of ``batch_trials``,
  asked one after another, trained together, then told. The study runs in memory and each
  finished batch is appended to the storage whole, so a run killed inside a batch redoes that
  batch from the same history and a resumed study ends exactly as an uninterrupted one.
- :func:`tune_shared` (several workers on one stored study): each trial takes the next free
  budget slot, so the cap holds exactly; not reproducible run to run.

Only Optuna's public API is used. The objective's contact with training is
:func:`run_trials`: configurations in, outcomes out.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import numpy as np
import optuna

import datasets
from harness.faults import fault_point
from harness.learners import Learner
from harness.methods.registry import Method
from harness.metrics import per_task
from harness.plan.cells import Cell
from harness.plan.tasks import make_job
from harness.seeding import derive_seed
from harness.spec.schema import Spec
from harness.store.records import TrialRecord, now_ms
from harness.tuning.values import tuning_values

_DONE_STATES = (optuna.trial.TrialState.COMPLETE, optuna.trial.TrialState.PRUNED, optuna.trial.TrialState.FAIL)


@dataclass(frozen=True)
class Tuning:
    """What the trials of one study train: the cell's method on one repetition's data."""

    spec: Spec
    cell: Cell
    method: Method
    data: datasets.Prepared
    learner: Learner
    repetition: int = 0
    progress: Callable[[], None] = lambda: None


def tpe_sampler(spec: Spec, cell: Cell, slot: int | str, repetition: int) -> optuna.samplers.TPESampler:
    """TPE seeded per trial slot: a resumed study draws exactly what an uninterrupted one would.
    In Optuna, only finished trials count towards the random startup: a whole batch asked before
    ``n_startup_trials`` trials finished is random."""
    return optuna.samplers.TPESampler(
        seed=derive_seed(spec.seed, cell.dataset.identity, cell.ratio, cell.method, *cell.seed_parts, "tpe",
                         repetition, slot),
        n_startup_trials=spec.tuning.startup_trials(cell.budget),
        multivariate=True,
        group=True,
        constant_liar=True,
    )


def study_name(spec: Spec, cell: Cell, repetition: int) -> str:
    return f"{spec.name}:{spec.spec_hash()}:{cell.label}:tune{repetition}"


def open_study(spec: Spec, cell: Cell, repetition: int, storage, sampler=None) -> optuna.Study:
    """The cell's study in ``storage`` (None: in memory), created if missing."""
    metrics = spec.tuning.metrics
    directions = ["maximize" if per_task.higher_is_better(m) else "minimize" for m in metrics]
    pruner = (
        optuna.pruners.MedianPruner(n_startup_trials=3, n_warmup_steps=3)
        if spec.tuning.pruner == "median" and len(metrics) == 1  # Optuna prunes single-objective studies only
        else optuna.pruners.NopPruner()
    )
    return optuna.create_study(storage=storage, study_name=study_name(spec, cell, repetition),
                               load_if_exists=True, directions=directions, pruner=pruner,
                               sampler=sampler or tpe_sampler(spec, cell, 0, repetition))


def finished_trials(study: optuna.Study) -> list[optuna.trial.FrozenTrial]:
    """Trials that ran to an outcome inside the budget (the ``done`` mark)."""
    return [t for t in study.trials if t.state in _DONE_STATES and t.user_attrs.get("done")]


def trial_record(t: optuna.trial.FrozenTrial, repetition: int) -> TrialRecord:
    a = t.user_attrs
    return TrialRecord(a["slot"], dict(a["config"]), t.values if t.state.name == "COMPLETE" else None,
                       t.state.name, a.get("stopped_by", ""), list(a.get("curve", [])),
                       a.get("start_ms", 0), a.get("end_ms", 0), a.get("reason", ""), repetition)


def pick_best(study: optuna.Study, metrics: list[str]) -> optuna.trial.FrozenTrial:
    """The trial to evaluate. One objective: the best. Two: among the Pareto-optimal trials,
    each objective rescaled to [0, 1] over the front (1 = best), the one closest to (1, 1);
    ties go to the earliest trial."""
    if len(metrics) == 1:
        return study.best_trial
    front = sorted(study.best_trials, key=lambda t: t.user_attrs["slot"])
    values = np.array([t.values for t in front], dtype=np.float64)
    signs = np.array([1.0 if per_task.higher_is_better(m) else -1.0 for m in metrics])
    good = values * signs
    span = good.max(axis=0) - good.min(axis=0)
    scaled = np.where(span > 0, (good - good.min(axis=0)) / np.where(span > 0, span, 1), 1.0)
    return front[int(np.argmin(np.linalg.norm(1.0 - scaled, axis=1)))]


def param_importances(study: optuna.Study) -> dict[str, float]:
    """fANOVA importances of the tuned parameters (empty when too few trials completed)."""
    complete = [t for t in study.trials if t.state == optuna.trial.TrialState.COMPLETE]
    if len(complete) < 2:
        return {}
    try:
        evaluator = optuna.importance.FanovaImportanceEvaluator(seed=0)
        return dict(optuna.importance.get_param_importances(study, evaluator=evaluator, target=lambda t: t.values[0]))
    except (ValueError, RuntimeError, ZeroDivisionError):
        return {}


def _tell(study: optuna.Study, trial, outcome: dict) -> None:
    state = optuna.trial.TrialState[outcome["state"]]
    values = outcome["values"] if state == optuna.trial.TrialState.COMPLETE else None
    study.tell(trial, values=values, state=state, skip_if_finished=True)


def close_stale(study: optuna.Study) -> None:
    """Trials left RUNNING by a killed process: one whose outcome was recorded (the ``done``
    mark is the last step before Optuna is told) is told that outcome; the others are failed
    and, without the ``done`` mark, stay out of the budget (their slots are redrawn). Only for
    a study nobody else is working on: it would close their trials too."""
    for t in study.get_trials(deepcopy=False, states=(optuna.trial.TrialState.RUNNING,)):
        outcome = t.user_attrs.get("outcome") if t.user_attrs.get("done") else None
        _tell(study, t.number, outcome or {"state": "FAIL", "values": None})


def _trial_seed(t: Tuning, slot: int) -> int:
    spec, cell = t.spec, t.cell
    return derive_seed(spec.seed, cell.dataset.identity, cell.ratio, cell.method, *cell.seed_parts, "trial",
                       t.repetition, slot)


def _pruning_callback(trial: optuna.Trial, n_metrics: int) -> Callable[[int, float], bool]:
    def on_step(step: int, value: float) -> bool:
        if n_metrics > 1:
            return False  # Optuna prunes single-objective studies only
        trial.report(value, step)
        return trial.should_prune()

    return on_step


def _outcome(t: Tuning, fitted) -> dict[str, Any]:
    """{"state", "values"} of a fitted trial: diverged before any good epoch is a failure."""
    report = fitted.report
    state = {"pruned": "PRUNED", "diverged": "FAIL"}.get(report.stopped_by, "COMPLETE")
    if state == "FAIL" and math.isfinite(report.best_score):
        state = "COMPLETE"  # diverged late: the best epoch before it still counts
    values = None
    if state == "COMPLETE":
        values = tuning_values(t.spec, t.data.validation.y, fitted.predict_logits(t.data.validation.X))
    return {"state": state, "values": values}


def run_trials(t: Tuning, study: optuna.Study, trials: list[tuple[optuna.Trial, int, dict]],
               tell: bool = True) -> list[dict]:
    """Train these (trial, slot, configuration) together (one stack where possible), record
    each outcome on its trial, and tell it (unless ``tell`` is False); the outcomes."""
    t0 = now_ms()
    n_metrics = len(t.spec.tuning.metrics)
    jobs = [make_job(t.method, params, t.data, _trial_seed(t, slot), _pruning_callback(trial, n_metrics))
            for trial, slot, params in trials]
    fits = t.learner.fit([job.task for job in jobs])
    outcomes = []
    for (trial, slot, params), fitted in zip(trials, fits):
        outcome, report = _outcome(t, fitted), fitted.report
        for key, value in (("slot", slot), ("config", params), ("stopped_by", report.stopped_by),
                           ("curve", report.curve), ("start_ms", t0), ("end_ms", now_ms()),
                           ("reason", report.reason), ("outcome", outcome)):
            trial.set_user_attr(key, value)
        t.progress()
        trial.set_user_attr("done", True)  # the outcome is stored: a resumed run tells it (close_stale)
        fault_point("trial")
        outcomes.append(outcome)
        if tell:
            _tell(study, trial, outcome)
    return outcomes


def _complete_batches(study: optuna.Study) -> list[optuna.trial.FrozenTrial]:
    """The stored trials of whole batches (the first whole attempt of each), and the trials of
    shared tuning (stored one by one); a batch only partly written (a kill while it was being
    stored) is left out and redone."""
    attempts: dict[tuple, list[optuna.trial.FrozenTrial]] = {}
    single = []
    for trial in study.get_trials(deepcopy=False):
        if trial.user_attrs.get("done") and trial.state.is_finished():
            if "batch" in trial.user_attrs:
                attempts.setdefault(tuple(trial.user_attrs["batch"]), []).append(trial)
            else:
                single.append(trial)
    chosen: dict[int, list[optuna.trial.FrozenTrial]] = {}
    for (first, _, expected), trials in sorted(attempts.items()):
        if first not in chosen and len(trials) == expected:
            chosen[first] = trials
    return single + [trial for first in sorted(chosen) for trial in chosen[first]]


def _ask_batch(t: Tuning, work: optuna.Study, slots: list[int], first: int, attempt: int) -> list[tuple]:
    """Ask one trial per slot, each from a TPE seeded by its slot; the earlier trials of the
    batch are still running, so the constant liar spreads the later ones."""
    batch = []
    for slot in slots:
        work.sampler = tpe_sampler(t.spec, t.cell, slot, t.repetition)
        trial = work.ask()
        trial.set_user_attr("batch", [first, attempt, len(slots)])
        batch.append((trial, slot, t.method.suggest(trial)))
    return batch


def tune_batched(t: Tuning, storage=None) -> tuple[optuna.Study, list[TrialRecord]]:
    """Run (or resume) the study in batches of ``tuning.batch_trials`` until ``n_trials``
    trials have finished; the in-memory study and the trial records (see the module docstring)."""
    persistent = open_study(t.spec, t.cell, t.repetition, storage)
    close_stale(persistent)
    work = persistent
    if storage is not None:  # work in memory, append whole batches to the storage
        work = optuna.create_study(directions=persistent.directions, pruner=persistent.pruner,
                                   sampler=persistent.sampler)
        work.add_trials(_complete_batches(persistent))
    n_trials, size = t.cell.budget, t.spec.tuning.batch_trials
    done_slots = {trial.user_attrs["slot"] for trial in finished_trials(work)}
    for first in range(0, n_trials, size):
        slots = [s for s in range(first, min(first + size, n_trials)) if s not in done_slots]
        if not slots:
            continue
        attempt = len(persistent.trials) if storage is not None else 0  # tells a redone batch apart
        batch = _ask_batch(t, work, slots, first, attempt)
        run_trials(t, work, batch)
        if storage is not None:
            numbers = {trial.number for trial, _, _ in batch}
            persistent.add_trials([trial for trial in work.get_trials(deepcopy=False) if trial.number in numbers])
    return work, [trial_record(trial, t.repetition) for trial in finished_trials(work)]


def _taken_slots(study: optuna.Study, before: int | None = None) -> int:
    """Budget slots in use: trials that finished (``done`` mark) or are still running, among
    the trials numbered below ``before`` (all trials when None)."""
    running = optuna.trial.TrialState.RUNNING
    return sum(1 for t in study.get_trials(deepcopy=False)
               if (before is None or t.number < before) and (t.state == running or t.user_attrs.get("done")))


def free_slot(study: optuna.Study, number: int, n_trials: int) -> int | None:
    """The budget slot of trial ``number`` in a shared study, None when the budget is full.

    Slots go in Optuna's trial order (numbers are unique across workers): a trial's slot is the
    count of lower-numbered trials that are running or finished with the ``done`` mark. Two
    workers that start trials at once thus never share a slot, and the later one finds the
    budget full when the earlier one took its last slot."""
    slot = _taken_slots(study, before=number)
    return slot if slot < n_trials else None


def _shared_objective(t: Tuning, study: optuna.Study, worker: int):
    n_metrics = len(t.spec.tuning.metrics)

    def objective(trial: optuna.Trial):
        slot = free_slot(study, trial.number, t.cell.budget)  # the next free slot, in trial order
        if slot is None:
            trial.set_user_attr("surplus", True)
            raise optuna.TrialPruned()  # no ``done`` mark: outside the budget
        trial.set_user_attr("worker", worker)
        outcome = run_trials(t, study, [(trial, slot, t.method.suggest(trial))], tell=False)[0]
        if outcome["state"] == "PRUNED":
            raise optuna.TrialPruned()
        if outcome["state"] == "FAIL":
            return float("nan") if n_metrics == 1 else [float("nan")] * n_metrics
        return outcome["values"][0] if n_metrics == 1 else outcome["values"]

    return objective


def tune_shared(t: Tuning, storage, worker: int) -> tuple[optuna.Study, list[TrialRecord]]:
    """Run trials as worker ``worker`` of several that split one stored study's budget.

    Each trial takes the next free budget slot at its start (slots are counted in Optuna's
    trial order, so two workers never take the same one); a trial that finds the budget full
    is pruned unmarked and not counted, so the cap holds exactly, and Optuna's
    ``MaxTrialsCallback`` ends each worker's loop. Training seeds still follow the slot, but
    which configuration a slot gets depends on the workers' timing: shared tuning is not
    reproducible run to run. The caller closes stale trials beforehand.
    """
    sampler = tpe_sampler(t.spec, t.cell, f"shared{worker}", t.repetition)
    study = open_study(t.spec, t.cell, t.repetition, storage, sampler=sampler)
    n_trials = t.cell.budget
    if _taken_slots(study) < n_trials:
        # running trials count towards the stop; failed ones (killed earlier, or raised) do not
        states = (optuna.trial.TrialState.COMPLETE, optuna.trial.TrialState.PRUNED, optuna.trial.TrialState.RUNNING)
        cap = optuna.study.MaxTrialsCallback(n_trials, states=states)
        study.optimize(_shared_objective(t, study, worker), catch=(), callbacks=[cap])
    return study, [trial_record(trial, t.repetition) for trial in finished_trials(study)]


def sized(method: Method, data: datasets.Prepared) -> Method:
    """``method`` with its size-bound ranges (LightGBM's fewest samples per leaf) capped for the
    training split a study tunes on."""
    return method.for_rows(len(data.train.y))


def tune(spec: Spec, cell: Cell, data: datasets.Prepared, *, repetition: int = 0,
         storage=None, progress: Callable[[], None] = lambda: None, shared: int | None = None,
         learner: Learner | None = None) -> tuple[optuna.Study, list[TrialRecord]]:
    """Tune the planned cell's method (``cell.config`` sized for ``data``, ``cell.budget`` trials) on ``data`` with
    the spec's learner: :func:`tune_batched`, or :func:`tune_shared` as worker ``shared``."""
    from harness.learners import for_model

    t = Tuning(spec, cell, sized(cell.config, data), data, learner or for_model(spec, cell.model), repetition, progress)
    return tune_batched(t, storage) if shared is None else tune_shared(t, storage, shared)
