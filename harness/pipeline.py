"""Run one cell: tune on repetition 0, evaluate the best configuration on R repetitions.

Computing only: nothing here talks to MLflow or writes files. The result of a cell is a plain
:class:`CellResult` that tracking and the results store consume afterwards.
"""

from __future__ import annotations

import math
import time
import warnings
from collections.abc import Callable
from dataclasses import dataclass, field, replace
from typing import Any

import numpy as np
import optuna
import torch

import datasets

from . import methods as methods_registry
from . import metrics as metrics_registry
from . import samplers as samplers_registry
from .batched import Member, can_batch, fit_batched
from .calibration import calibrate
from .cells import Cell
from .faults import fault_point
from .models import build_model
from .seeding import derive_seed
from .space import Fixed
from .spec import DatasetSpec, Spec
from .trainer import TrainConfig, TrainResult, as_tensors, fit, predict_logits

optuna.logging.set_verbosity(optuna.logging.ERROR)
warnings.filterwarnings("ignore", category=optuna.exceptions.ExperimentalWarning)


def now_ms() -> int:
    return time.time_ns() // 1_000_000


@dataclass
class TrialRecord:
    """One Optuna trial as stored: ``number`` is its slot in the budget (stale trials of a
    killed run are not counted), ``values`` one per tuning metric."""

    number: int
    params: dict[str, Any]
    values: list[float] | None
    state: str
    stopped_by: str
    curve: list[float]
    start_ms: int
    end_ms: int
    reason: str = ""
    repetition: int = 0

    @property
    def value(self) -> float | None:
        return self.values[0] if self.values else None


@dataclass
class RepetitionRecord:
    """One evaluation repetition: test metrics per calibration variant, and the predictions."""

    repetition: int
    seed: int
    params: dict[str, Any]  # the evaluated configuration
    loss: str
    sampler: str | None
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
    importances: dict[str, float] = field(default_factory=dict)  # of the (first) study's parameters
    optuna_seconds: float = 0.0  # time in Optuna itself (sampling, pruning, storage), not training


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


def resolve_device(name: str) -> torch.device:
    """``training.device``: "auto" is CUDA when torch sees a GPU, else the CPU."""
    if name == "auto":
        name = "cuda" if torch.cuda.is_available() else "cpu"
    return torch.device(name)


@dataclass
class _Job:
    """One training to run: the member of a batch, and the training class counts."""

    member: Member
    counts: list[int]


def _setup(
    spec: Spec,
    method: methods_registry.Method,
    params: dict[str, Any],
    data: datasets.Prepared,
    seed: int,
    on_epoch: Callable[[int, float], bool] | None = None,
    tensors: dict | None = None,
) -> _Job:
    """The model, loss and data of one training; ``tensors`` caches the unresampled splits as
    tensors (shared by the members of a batch: the batched trainer then gathers from one copy)."""
    device = resolve_device(spec.training.device)
    tensors = {} if tensors is None else tensors

    def cached(split: str, X: np.ndarray, y: np.ndarray):
        if (split, id(data)) not in tensors:
            tensors[(split, id(data))] = tuple(t.to(device) for t in as_tensors(X, y))
        return tensors[(split, id(data))]

    X_train, y_train = data.train.X, data.train.y
    sampler = method.resolve(params)[1]
    if sampler is not None:  # the training split only: validation and test stay untouched
        X_train, y_train = samplers_registry.resample(sampler, params, X_train, y_train,
                                                     seed=derive_seed(seed, "sampler"))
        train = tuple(t.to(device) for t in as_tensors(X_train, y_train))
    else:
        train = cached("train", X_train, y_train)
    validation = cached("validation", data.validation.X, data.validation.y)
    counts = np.bincount(y_train, minlength=data.n_classes).tolist()
    model = build_model(
        spec.model.name,
        data.n_features,
        hidden_sizes=tuple(spec.model.hidden_sizes),
        dropout=spec.model.dropout,
        prior=counts[1] / sum(counts),
        seed=seed,
    ).to(device)
    member = Member(model, method.build(params, counts), train, validation,
                    params["lr"], params["weight_decay"], seed, on_epoch)
    return _Job(member, counts)


def _fit_all(spec: Spec, jobs: list[_Job]) -> list[TrainResult]:
    """Train every job: those that can share a stack (same data size, a loss in the common
    form, no dropout) as one model per group with ``training.stacked``, the rest one by one.
    Each member's result is what it would get alone, to float tolerance."""
    metric = metrics_registry.get(spec.tuning.metrics[0])
    stop_on = "loss" if spec.training.early_stopping == "loss" else "score"
    config = TrainConfig(lr=0.0, weight_decay=0.0, max_epochs=spec.training.max_epochs,
                         batch_size=spec.training.batch_size, patience=spec.training.patience)
    results: dict[int, TrainResult] = {}
    groups: dict[tuple, list[int]] = {}
    for i, job in enumerate(jobs):
        if spec.training.stacked and can_batch([job.member]):
            key = (tuple(job.member.train[0].shape), tuple(job.member.validation[0].shape))
            groups.setdefault(key, []).append(i)
    for group in groups.values():
        out = fit_batched([jobs[i].member for i in group], config, score=metric.monitor,
                          higher_is_better=metric.higher_is_better, stop_on=stop_on)
        results.update(zip(group, out))
    for i, job in enumerate(jobs):
        if i not in results:
            m = job.member
            results[i] = fit(m.model, m.loss, m.train, m.validation,
                             replace(config, lr=m.lr, weight_decay=m.weight_decay), seed=m.seed, score=metric.monitor,
                             higher_is_better=metric.higher_is_better, on_epoch=m.on_epoch, stop_on=stop_on)
    return [results[i] for i in range(len(jobs))]


def _logit_prior(counts: list[int]) -> float:
    return math.log(counts[1] / counts[0])


def trial_budget(spec: Spec, method: methods_registry.Method) -> int:
    """The cell's number of trials: ``tuning.n_trials``, raised by ``tuning.trials_per_parameter``
    times the method's tuned parameters (those of its full space the spec does not fix; for
    ``tuned_loss`` every loss's and sampler's, plus the choices)."""
    n_params = sum(1 for dist in method.full_space.values() if not isinstance(dist, Fixed))
    return spec.tuning.budget(n_params)


def _sampler(spec: Spec, cell: Cell, slot: int | str, repetition: int) -> optuna.samplers.TPESampler:
    """TPE seeded per trial slot: a resumed study draws exactly what an uninterrupted one would."""
    budget = trial_budget(spec, spec.method(cell.method))
    return optuna.samplers.TPESampler(
        seed=derive_seed(spec.seed, cell.dataset.identity, cell.ratio, cell.method, "tpe", repetition, slot),
        n_startup_trials=spec.tuning.startup_trials(budget),
        multivariate=True,
        group=True,
        constant_liar=True,
    )


def study_name(spec: Spec, cell: Cell, repetition: int) -> str:
    return f"{spec.name}:{spec.spec_hash()}:{cell.label}:tune{repetition}"


def _finished(study: optuna.Study) -> list[optuna.trial.FrozenTrial]:
    done = (optuna.trial.TrialState.COMPLETE, optuna.trial.TrialState.PRUNED, optuna.trial.TrialState.FAIL)
    return [t for t in study.trials if t.state in done and t.user_attrs.get("done")]


def _record(t: optuna.trial.FrozenTrial, repetition: int) -> TrialRecord:
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
    signs = np.array([1.0 if metrics_registry.get(m).higher_is_better else -1.0 for m in metrics])
    good = values * signs
    span = good.max(axis=0) - good.min(axis=0)
    scaled = np.where(span > 0, (good - good.min(axis=0)) / np.where(span > 0, span, 1), 1.0)
    return front[int(np.argmin(np.linalg.norm(1.0 - scaled, axis=1)))]


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


def close_stale(study: optuna.Study) -> None:
    """Trials left RUNNING by a killed process: one whose outcome was recorded (the ``done``
    mark is the last step before Optuna is told) is told that outcome; the others are failed
    and, without the ``done`` mark, stay out of the budget (their slots are redrawn, see
    :func:`tune`). Only for a study nobody else is working on: it would close their trials too."""
    for t in study.trials:
        if t.state != optuna.trial.TrialState.RUNNING:
            continue
        outcome = t.user_attrs.get("outcome") if t.user_attrs.get("done") else None
        if outcome is None:
            study._storage.set_trial_state_values(t._trial_id, optuna.trial.TrialState.FAIL)
        else:
            _tell(study, t.number, outcome)


def _tell(study: optuna.Study, trial, outcome: dict) -> None:
    state = optuna.trial.TrialState[outcome["state"]]
    values = outcome["values"] if state == optuna.trial.TrialState.COMPLETE else None
    study.tell(trial, values=values, state=state, skip_if_finished=True)


def open_study(spec: Spec, cell: Cell, repetition: int, storage, sampler=None) -> optuna.Study:
    metrics = spec.tuning.metrics
    directions = ["maximize" if metrics_registry.get(m).higher_is_better else "minimize" for m in metrics]
    pruner = (
        optuna.pruners.MedianPruner(n_startup_trials=3, n_warmup_steps=3)
        if spec.tuning.pruner == "median" and len(metrics) == 1  # Optuna prunes single-objective studies only
        else optuna.pruners.NopPruner()
    )
    return optuna.create_study(storage=storage, study_name=study_name(spec, cell, repetition),
                               load_if_exists=True, directions=directions, pruner=pruner,
                               sampler=sampler or _sampler(spec, cell, 0, repetition))


def tune(
    spec: Spec,
    cell: Cell,
    method: methods_registry.Method,
    data: datasets.Prepared,
    *,
    repetition: int = 0,
    storage=None,
    progress: Callable[[], None] = lambda: None,
    shared: int | None = None,
) -> tuple[optuna.Study, list[TrialRecord]]:
    """Run (or resume) the cell's study until its budget of trials (:func:`trial_budget`) has finished.

    ``shared=k`` makes this process worker ``k`` of several that split one study's trials
    (through a storage they all reach). Each trial takes the next free budget slot at its start
    (slots are counted in Optuna's trial order, so two workers never take the same one); a
    trial that finds the budget full is pruned unmarked and not counted, so the cap holds
    exactly, and Optuna's ``MaxTrialsCallback`` ends each worker's loop. Training seeds still
    follow the slot, but which configuration a slot gets depends on the workers' timing:
    shared tuning is not reproducible run to run. The caller closes stale trials beforehand.
    """
    metrics = spec.tuning.metrics
    n_trials = trial_budget(spec, method)
    if shared is None:
        study = open_study(spec, cell, repetition, storage)
        close_stale(study)
    else:
        sampler = _sampler(spec, cell, f"shared{shared}", repetition)
        study = open_study(spec, cell, repetition, storage, sampler=sampler)
    scorers = [metrics_registry.get(m) for m in metrics]
    tensors: dict = {}

    def train(trials: list[tuple[optuna.Trial, int, dict]], tell: bool = True) -> list[dict]:
        """Train these trials together (one stack where possible), record and tell each; their
        outcomes ({"state", "values"})."""
        t0 = now_ms()
        jobs = []
        for trial, slot, params in trials:
            def on_epoch(epoch: int, value: float, trial=trial) -> bool:
                if len(metrics) > 1:
                    return False
                trial.report(value, epoch)
                return trial.should_prune()

            seed = derive_seed(spec.seed, cell.dataset.identity, cell.ratio, cell.method, "trial", repetition, slot)
            jobs.append(_setup(spec, method, params, data, seed, on_epoch, tensors))
        results = _fit_all(spec, jobs)
        outcomes = []
        for (trial, slot, params), job, result in zip(trials, jobs, results):
            state = {"pruned": "PRUNED", "diverged": "FAIL"}.get(result.stopped_by, "COMPLETE")
            if state == "FAIL" and math.isfinite(result.best_score):
                state = "COMPLETE"  # diverged late: the best epoch before it still counts
            values = None
            if state == "COMPLETE":
                prob = torch.sigmoid(predict_logits(job.member.model, job.member.validation[0]).double()).cpu().numpy()
                values = [m(data.validation.y, prob) for m in scorers]
            trial.set_user_attr("slot", slot)
            trial.set_user_attr("config", params)
            for key, value in (("stopped_by", result.stopped_by), ("curve", result.curve), ("start_ms", t0),
                               ("end_ms", now_ms()), ("reason", result.reason),
                               ("outcome", {"state": state, "values": values})):
                trial.set_user_attr(key, value)
            progress()
            trial.set_user_attr("done", True)  # the outcome is stored: a resumed run tells it (close_stale)
            fault_point("trial")
            outcomes.append({"state": state, "values": values})
            if tell:
                _tell(study, trial, outcomes[-1])
        return outcomes

    if shared is not None:
        def shared_objective(trial: optuna.Trial):
            slot = free_slot(study, trial.number, n_trials)  # the next free slot, in trial order
            if slot is None:
                trial.set_user_attr("surplus", True)
                raise optuna.TrialPruned()  # no ``done`` mark: outside the budget
            trial.set_user_attr("worker", shared)
            outcome = train([(trial, slot, method.suggest(trial))], tell=False)[0]
            if outcome["state"] == "PRUNED":
                raise optuna.TrialPruned()
            if outcome["state"] == "FAIL":
                return float("nan") if len(metrics) == 1 else [float("nan")] * len(metrics)
            return outcome["values"][0] if len(metrics) == 1 else outcome["values"]

        if _taken_slots(study) < n_trials:
            # running trials count towards the stop; failed ones (killed earlier, or raised) do not
            states = (optuna.trial.TrialState.COMPLETE, optuna.trial.TrialState.PRUNED, optuna.trial.TrialState.RUNNING)
            cap = optuna.study.MaxTrialsCallback(n_trials, states=states)
            study.optimize(shared_objective, catch=(), callbacks=[cap])
        return study, [_record(t, repetition) for t in _finished(study)]

    # Slots go in batches of ``batch_trials``: a batch's trials are asked one after another (each
    # from a TPE seeded by its slot, the earlier ones of the batch as running "liars"), trained
    # together, then told. The study runs in memory and each finished batch is appended to the
    # storage whole: per-epoch reports cost nothing, and a run killed inside a batch redoes
    # that batch from the same history, so a resumed study ends exactly as an uninterrupted one.
    size = spec.tuning.batch_trials
    persistent, work = (None, study) if storage is None else (study, optuna.create_study(
        directions=study.directions, pruner=study.pruner, sampler=study.sampler))
    if persistent is not None:
        work.add_trials(_complete_batches(persistent))
    study = work  # what train() tells
    done_slots = {t.user_attrs["slot"] for t in _finished(work)}
    for first in range(0, n_trials, size):
        slots = [s for s in range(first, min(first + size, n_trials)) if s not in done_slots]
        if not slots:
            continue
        attempt = len(persistent.trials) if persistent is not None else 0  # tells a redone batch apart
        batch = []
        for slot in slots:
            work.sampler = _sampler(spec, cell, slot, repetition)
            trial = work.ask()
            trial.set_user_attr("batch", [first, attempt, len(slots)])
            batch.append((trial, slot, method.suggest(trial)))
        train(batch)
        if persistent is not None:
            numbers = {trial.number for trial, _, _ in batch}
            persistent.add_trials([t for t in work.get_trials(deepcopy=False) if t.number in numbers])
    return work, [_record(t, repetition) for t in _finished(work)]


def _complete_batches(study: optuna.Study) -> list[optuna.trial.FrozenTrial]:
    """The stored trials of whole batches (the first whole attempt of each), and the trials of
    shared tuning (stored one by one); a batch only partly written (a kill while it was being
    stored) is left out and redone."""
    attempts: dict[tuple, list[optuna.trial.FrozenTrial]] = {}
    single = []
    for t in study.get_trials(deepcopy=False):
        if t.user_attrs.get("done") and t.state.is_finished():
            if "batch" in t.user_attrs:
                attempts.setdefault(tuple(t.user_attrs["batch"]), []).append(t)
            else:
                single.append(t)
    chosen: dict[int, list[optuna.trial.FrozenTrial]] = {}
    for (first, _, expected), trials in sorted(attempts.items()):
        if first not in chosen and len(trials) == expected:
            chosen[first] = trials
    return single + [t for first in sorted(chosen) for t in chosen[first]]


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


def _evaluate(
    spec: Spec,
    cell: Cell,
    method: methods_registry.Method,
    runs: list[tuple[int, dict[str, Any], datasets.Prepared]],
) -> list[RepetitionRecord | str]:
    """Retrain each (repetition, params, data) — together where they can share a stack — and
    score it on test; a string says why a repetition failed."""
    t0 = now_ms()
    seeds = [derive_seed(spec.seed, cell.dataset.identity, cell.ratio, cell.method, "repetition", rep) for rep, _, _ in runs]
    jobs = [_setup(spec, method, params, prepared, seed) for (rep, params, prepared), seed in zip(runs, seeds)]
    results = _fit_all(spec, jobs)
    out: list[RepetitionRecord | str] = []
    for (rep, params, prepared), seed, job, result in zip(runs, seeds, jobs, results):
        model, counts = job.member.model, job.counts
        val_logits, test_logits = (
            predict_logits(model, torch.as_tensor(split.X, dtype=torch.float32)).double().cpu().numpy()
            for split in (prepared.validation, prepared.test)
        )
        if not (np.all(np.isfinite(val_logits)) and np.all(np.isfinite(test_logits))):
            out.append(f"repetition {rep}: non-finite predictions ({result.reason or 'diverged'})")
            continue
        loss, sampler = method.resolve(params)
        record = RepetitionRecord(rep, seed, dict(params), loss, sampler, {}, {}, prepared.fingerprint,
                                  result.epochs_run, t0, 0, prepared.test.y, test_logits, {}, prepared.test.posterior)
        loss_params = method.loss_params(params, counts)
        # resampling moved the training prior: the closed form maps back to the data's prior
        shift = _logit_prior(prepared.train.counts(prepared.n_classes)) - _logit_prior(counts)
        for variant in spec.evaluation.calibration:
            cal = calibrate(variant, loss=loss, loss_params=loss_params, val_logits=val_logits,
                            y_val=prepared.validation.y, test_logits=test_logits, prior_shift=shift)
            if cal is None:
                continue  # no closed-form correction for this loss
            threshold = metrics_registry.best_f1_threshold(prepared.validation.y, cal.val_prob)
            record.thresholds[variant] = threshold
            record.probs[variant] = cal.test_prob
            record.metrics[variant] = metrics_registry.evaluate(
                spec.evaluation.metrics, prepared.test.y, cal.test_prob,
                val_threshold=threshold, posterior=prepared.test.posterior, scores=cal.test_score,
            )
        record.end_ms = now_ms()
        out.append(record)
    return out


def run_cell(
    spec: Spec,
    cell: Cell,
    data: DataProvider,
    progress: Callable[[], None] = lambda: None,
    storage=None,
) -> CellResult:
    """Tune ``cell``'s method (on repetition 0, or on each repetition with
    ``tuning.per_repetition``), then evaluate the chosen configuration on every repetition
    (the repetitions train together, as one stack where they can)."""
    start = now_ms()
    method = spec.method(cell.method)
    space = {name: dist.describe() for name, dist in method.full_space.items()}
    trials: list[TrialRecord] = []
    best_params: dict[str, Any] = {}
    best_value = None
    importances: dict[str, float] = {}
    optuna_seconds = 0.0
    runs = []
    for rep in range(spec.evaluation.repetitions):
        prepared = data.prepared(cell.dataset, cell.ratio, rep)
        if rep == 0 or spec.tuning.per_repetition:
            t0 = time.perf_counter()
            study, records = tune(spec, cell, method, prepared, repetition=rep, storage=storage, progress=progress)
            # trials trained together share their time span: count it once per batch
            batches: dict[int, int] = {}
            for t in records:
                if t.start_ms >= start:
                    batches[t.start_ms] = max(batches.get(t.start_ms, 0), t.end_ms)
            busy = sum(end - begin for begin, end in batches.items()) / 1000
            optuna_seconds += max(0.0, time.perf_counter() - t0 - busy)
            trials += records
            if rep == 0 and spec.evaluation.plots:
                importances = param_importances(study)
            if not any(t.state == "COMPLETE" for t in records):
                reasons = sorted({t.reason for t in records if t.reason}) or ["every trial was pruned"]
                return CellResult(cell, "failed", "; ".join(reasons), best_params, best_value, trials,
                                  [], space, start, now_ms())
            best = pick_best(study, spec.tuning.metrics)
            best_params, best_value = dict(best.user_attrs["config"]), best.values[0]
        runs.append((rep, best_params, prepared))
    repetitions: list[RepetitionRecord] = []
    for record in _evaluate(spec, cell, method, runs):
        if isinstance(record, str):
            return CellResult(cell, "failed", record, best_params, best_value, trials, repetitions, space, start, now_ms())
        repetitions.append(record)
        progress()
        fault_point("repetition")
    return CellResult(cell, "ok", "", best_params, best_value, trials, repetitions, space, start, now_ms(),
                      importances, optuna_seconds)
