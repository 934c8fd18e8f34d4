"""A cell's files beside the table: predictions (Parquet) and figures."""

from __future__ import annotations

import json
from pathlib import Path

from harness.evaluation import plots
from harness.files import write_atomic
from harness.metrics import per_task
from harness.spec.schema import Spec
from harness.store import results as results_store
from harness.store.records import CellResult


def write_cell_outputs(spec: Spec, result: CellResult, out_dir: Path) -> list[Path]:
    """Predictions and figures of one cell; their paths, for MLflow."""
    if not result.repetitions:
        return []
    artifacts = [results_store.write_predictions(result, out_dir / "predictions"), write_tuning_summary(result, out_dir),
                 write_curves(result, out_dir)]
    if spec.evaluation.plots:
        slug = results_store.cell_slug(result)
        artifacts.append(plots.cell_figure(result, out_dir / "plots" / f"{slug}.png"))
        metric = per_task.tuning_metrics(spec, per_task.n_classes_of(result.repetitions[0].logits))[0]
        artifacts.append(plots.tuning_figure(result, out_dir / "plots" / f"{slug}_tuning.png", metric))
    return [a for a in artifacts if a is not None]


def tuning_summary(result: CellResult) -> dict:
    """What tuning chose for a cell and how sure it was: the best configuration and its
    validation score, the flatness of the top trials and the parameter importances (fANOVA)."""
    cell = result.cell
    return {"dataset": cell.dataset.key, "imbalance_ratio": cell.ratio_label, "model": cell.model_key,
            "method": cell.method,
            "best_params": result.best_params, "best_value": result.best_value, "flatness": result.flatness,
            "importances": result.importances, "trials": len(result.trials)}


def write_tuning_summary(result: CellResult, out_dir: Path) -> Path:
    """``<out_dir>/tuning/<cell slug>.json`` (the report's tuning section reads these)."""
    path = out_dir / "tuning" / f"{results_store.cell_slug(result)}.json"
    text = json.dumps(tuning_summary(result), indent=1, default=str)
    return write_atomic(path, lambda tmp: tmp.write_text(text))


def curves(result: CellResult) -> dict:
    """The cell's per-epoch training and validation NLL and final NLLs, per evaluated repetition
    (of learners that track them: :attr:`~harness.store.records.RepetitionRecord.history`)."""
    cell = result.cell
    reps = [{"repetition": rep.repetition, "epochs": rep.epochs, **rep.history,
             "test_nll_final": rep.metrics.get("raw", {}).get("log_loss")}
            for rep in result.repetitions if rep.history]
    return {"dataset": cell.dataset.key, "imbalance_ratio": cell.ratio_label, "model": cell.model_key,
            "method": cell.method, "repetitions": reps}


def write_curves(result: CellResult, out_dir: Path) -> Path | None:
    """``<out_dir>/curves/<cell slug>.json`` when the cell's learner tracked curves (the report's
    over-fitting evidence reads these), else nothing."""
    summary = curves(result)
    if not summary["repetitions"]:
        return None
    path = out_dir / "curves" / f"{results_store.cell_slug(result)}.json"
    text = json.dumps(summary, indent=1, default=float)
    return write_atomic(path, lambda tmp: tmp.write_text(text))
