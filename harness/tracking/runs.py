"""What each MLflow run of a cell holds, as plain data: no MLflow import, no store.

Layout (experiment = benchmark): a parent run per cell (tags, ``<metric>_mean`` / ``_std``,
``best.*`` and ``space.*`` params, figures, predictions and a ``trials.csv`` table with every
trial's per-epoch validation curve); a child run per Optuna trial (params, state, the tuning
metric as ``validation_score``) and per evaluation repetition (the test metrics). The
tracker (:mod:`harness.tracking.mlflow_tracker`) writes each :class:`RunPlan` with three calls.
"""

from __future__ import annotations

import csv
import io
import json
import math
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

import numpy as np

if TYPE_CHECKING:  # the record types may move between modules: only needed for annotations
    from harness.store.records import CellResult, RepetitionRecord, TrialRecord

# tags a child run shares with its parent, so that children filter and group alone
CHILD_TAGS = ("benchmark", "dataset", "imbalance_ratio", "model", "method", "loss", "sampler", "runner_host", "runner_pid")


@dataclass
class RunPlan:
    """One run to write: ``metrics`` as (key, value, timestamp ms, step); non-finite values are dropped."""

    name: str
    start_ms: int
    end_ms: int
    tags: dict[str, str]
    params: dict[str, Any] = field(default_factory=dict)
    metrics: list[tuple[str, float, int, int]] = field(default_factory=list)
    status: str = "FINISHED"


def metric_keys(metrics: dict[str, dict[str, float]]) -> dict[str, float]:
    """Flatten {variant: {metric: value}} to MLflow keys: ``ece`` (raw), ``ece_temperature``, ..."""
    return {
        (name if variant == "raw" else f"{name}_{variant}"): value
        for variant, scores in metrics.items()
        for name, value in scores.items()
    }


def fmt_param(value: Any) -> str:
    """A parameter value as MLflow stores it: floats to 10 significant digits, None as ``none``."""
    return "none" if value is None else (f"{value:.10g}" if isinstance(value, float) else str(value))


def finite(metrics) -> list[tuple[str, float, int, int]]:
    """The metrics whose value is finite, as floats (MLflow stores no NaN usefully)."""
    return [(k, float(v), ts, step) for k, v, ts, step in metrics if math.isfinite(float(v))]


def cell_tags(result: CellResult, method, common: dict[str, str]) -> dict[str, str]:
    """Tags of a cell's parent run: the cell's coordinates, its status and the run's provenance."""
    cell = result.cell
    reps = result.repetitions
    tags = {**common, "kind": "cell", "dataset": cell.dataset.key, "imbalance_ratio": cell.ratio_label,
            "model": cell.model_key, "method": cell.method, "loss": method.loss, "sampler": method.sampler or "none",
            "status": result.status, "dataset_fingerprint": reps[0].fingerprint if reps else ""}
    if result.reason:
        tags["failure_reason"] = result.reason[:5000]
    if reps and "tuned_loss" in (method.loss, method.sampler):
        tags["chosen_loss"] = reps[0].loss
        tags["chosen_sampler"] = reps[0].sampler or "none"
    tags.update(task_tags(result))
    return tags


def task_tags(result: CellResult) -> dict[str, str]:
    """``task``, ``n_classes`` and ``profile`` of a cell, read from its predictions (none for a
    cell that failed before any); binary cells have profile ``none``."""
    if not result.repetitions:
        return {}
    logits = result.repetitions[0].logits
    n_classes = 2 if logits.ndim == 1 else int(logits.shape[1])
    profile = (result.cell.dataset.profile or "long_tailed") if n_classes > 2 else "none"
    return {"task": "binary" if n_classes == 2 else "multiclass", "n_classes": str(n_classes), "profile": profile}


def trial_run(t: TrialRecord, base: dict[str, str]) -> RunPlan:
    """A trial child: its params, state and tuning-metric value (the curve is in the parent's table)."""
    tags = {**base, "kind": "trial", "state": t.state, "stopped_by": t.stopped_by,
            "tuned_on_repetition": str(t.repetition), "epochs": str(len(t.curve))}
    if t.reason:
        tags["fail_reason"] = t.reason[:5000]
    metrics = [("validation_score", t.value, t.end_ms, 0)] if t.value is not None else []
    name = f"trial {t.number}" + (f" (repetition {t.repetition})" if t.repetition else "")
    return RunPlan(name, t.start_ms, t.end_ms, tags, params=dict(t.params), metrics=metrics,
                   status="FAILED" if t.state == "FAIL" else "FINISHED")


def repetition_run(r: RepetitionRecord, base: dict[str, str]) -> RunPlan:
    """A repetition child: every test metric of every calibration variant, and its thresholds."""
    tags = {**base, "kind": "repetition", "seed": str(r.seed), "dataset_fingerprint": r.fingerprint,
            "loss": r.loss, "sampler": r.sampler or "none"}
    params = {"repetition": r.repetition, "seed": r.seed, "epochs": r.epochs,
              **{f"threshold_{k}": v for k, v in r.thresholds.items()}}
    metrics = [(k, v, r.end_ms, 0) for k, v in metric_keys(r.metrics).items()]
    return RunPlan(f"repetition {r.repetition}", r.start_ms, r.end_ms, tags, params=params, metrics=metrics)


def cell_summary(result: CellResult) -> tuple[list[tuple[str, float, int, int]], dict[str, Any]]:
    """The parent's metrics (``<metric>_mean`` / ``_std`` over repetitions, the best validation
    score) and params (``best.*``, ``space.*``)."""
    metrics = []
    if result.repetitions:
        flats = [metric_keys(r.metrics) for r in result.repetitions]
        for name in flats[0]:
            values = np.array([f[name] for f in flats])
            metrics += [(f"{name}_mean", values.mean(), result.end_ms, 0),
                        (f"{name}_std", values.std(ddof=1) if len(values) > 1 else 0.0, result.end_ms, 0)]
    if result.best_value is not None:
        metrics.append(("best_validation_score", result.best_value, result.end_ms, 0))
    metrics += [(f"tuning_{k}", v, result.end_ms, 0) for k, v in result.flatness.items()]
    metrics += [(f"importance.{k}", v, result.end_ms, 0) for k, v in result.importances.items()]
    params = {f"best.{k}": v for k, v in result.best_params.items()}
    params.update({f"space.{k}": v for k, v in result.search_space.items()})
    return metrics, params


def trials_table(result: CellResult) -> str:
    """Every trial of a cell as CSV: number, repetition tuned on, state, value, params and the
    per-epoch validation curve (a JSON list), one row per trial."""
    names = sorted({k for t in result.trials for k in t.params})
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow(["trial", "tuned_on_repetition", "state", "stopped_by", "validation_score", *names,
                     "validation_curve"])
    for t in result.trials:
        writer.writerow([t.number, t.repetition, t.state, t.stopped_by, "" if t.value is None else repr(t.value),
                         *(fmt_param(t.params[k]) if k in t.params else "" for k in names),
                         json.dumps([float(v) for v in t.curve])])
    return out.getvalue()


def parent_run(result: CellResult, tags: dict[str, str]) -> RunPlan:
    """The cell's parent run, still RUNNING: its files and dataset inputs follow, then it closes."""
    metrics, params = cell_summary(result)
    return RunPlan(result.cell.label, result.start_ms, result.end_ms, tags, params=params, metrics=metrics,
                   status="RUNNING")


def cell_runs(result: CellResult, tags: dict[str, str]) -> list[RunPlan]:
    """The children of a cell's parent run: one per trial, then one per repetition."""
    base = {k: tags[k] for k in CHILD_TAGS}
    return [trial_run(t, base) for t in result.trials] + [repetition_run(r, base) for r in result.repetitions]
