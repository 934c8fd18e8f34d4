"""A cell's files beside the table: predictions (Parquet) and figures."""

from __future__ import annotations

from pathlib import Path

from . import per_task, plots
from . import results as results_store
from .records import CellResult
from .spec import Spec


def write_cell_outputs(spec: Spec, result: CellResult, out_dir: Path) -> list[Path]:
    """Predictions and figures of one cell; their paths, for MLflow."""
    if not result.repetitions:
        return []
    artifacts = [results_store.write_predictions(result, out_dir / "predictions")]
    if spec.evaluation.plots:
        slug = results_store.cell_slug(result)
        artifacts.append(plots.cell_figure(result, out_dir / "plots" / f"{slug}.png"))
        metric = per_task.tuning_metrics(spec, per_task.n_classes_of(result.repetitions[0].logits))[0]
        artifacts.append(plots.tuning_figure(result, out_dir / "plots" / f"{slug}_tuning.png", metric))
    return [a for a in artifacts if a is not None]
