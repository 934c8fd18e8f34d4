"""Per-cell figures: reliability diagram and precision-recall curve (matplotlib, no display)."""

from __future__ import annotations

from pathlib import Path

import numpy as np
from matplotlib.figure import Figure
from sklearn.calibration import calibration_curve
from sklearn.metrics import precision_recall_curve

from harness.files import write_atomic
from harness.store.records import CellResult


def new_figure(nrows: int = 1, ncols: int = 1, *, figsize: tuple[float, float], layout: str | None = None,
               **subplots) -> tuple[Figure, object]:
    """A figure and its axes, made without pyplot: no backend is chosen, no global state
    changes, nothing stays open (``subplots`` go to :meth:`Figure.subplots`)."""
    fig = Figure(figsize=figsize, layout=layout)
    return fig, fig.subplots(nrows, ncols, **subplots)


def save_figure(fig: Figure, path: Path, dpi: int = 90) -> Path:
    """Write ``fig`` as PNG, atomically (never a truncated image)."""
    return write_atomic(path, lambda tmp: fig.savefig(tmp, dpi=dpi, format="png"))


_MARGINS = {"left": 0.1, "right": 0.98, "bottom": 0.12, "top": 0.87, "wspace": 0.25}
_STYLES = {"raw": "-o", "temperature": "--s", "closed_form": "-.^", "isotonic": ":d", "vector_scaling": ":v"}


def cell_figure(result: CellResult, path: Path) -> Path:
    """Reliability diagram (all repetitions pooled, one line per calibration variant) and
    precision-recall curves (one per repetition), written to ``path`` as PNG."""
    # fixed margins: a layout engine would measure every text box, which costs more than drawing
    fig, (ax_rel, ax_pr) = new_figure(1, 2, figsize=(10, 4.4), gridspec_kw=_MARGINS)
    y = np.concatenate([r.y_true for r in result.repetitions])
    if result.repetitions[0].logits.ndim == 2:
        return _multiclass_cell_figure(result, y, fig, ax_rel, ax_pr, path)
    for variant in result.repetitions[0].probs:
        p = np.concatenate([r.probs[variant] for r in result.repetitions])
        frac, mean = calibration_curve(y, p, n_bins=10, strategy="quantile")
        ax_rel.plot(mean, frac, _STYLES.get(variant, "-"), label=variant, markersize=4)
    ax_rel.plot([0, 1], [0, 1], color="grey", linewidth=0.8, label="perfect")
    ax_rel.set(xlabel="mean predicted probability (10 equal-mass bins)", ylabel="observed positive rate",
               title="Reliability", xlim=(0, 1), ylim=(0, 1))
    ax_rel.legend(loc="upper left", fontsize=8)
    for rep in result.repetitions:
        precision, recall, _ = precision_recall_curve(rep.y_true, rep.probs["raw"])
        ap = rep.metrics["raw"].get("average_precision")
        label = f"repetition {rep.repetition}" + (f" (AP {ap:.3f})" if ap is not None else "")
        ax_pr.step(recall, precision, where="post", label=label)
    prevalence = y.mean()
    ax_pr.axhline(prevalence, color="grey", linewidth=0.8, linestyle="--", label=f"prevalence {prevalence:.3f}")
    ax_pr.set(xlabel="recall", ylabel="precision", title="Precision-recall (raw)", xlim=(0, 1), ylim=(0, 1.02))
    ax_pr.legend(loc="upper right", fontsize=8)
    fig.suptitle(result.cell.label)
    return save_figure(fig, path)


def _multiclass_cell_figure(result: CellResult, y: np.ndarray, fig: Figure, ax_rel, ax_pr, path: Path) -> Path:
    """:func:`cell_figure` for (N, C) predictions: the reliability of the top label (confidence
    against accuracy of the argmax), and one-vs-rest precision-recall per class (raw, pooled)."""
    for variant in result.repetitions[0].probs:
        p = np.concatenate([r.probs[variant] for r in result.repetitions])
        frac, mean = calibration_curve(p.argmax(axis=1) == y, p.max(axis=1), n_bins=10, strategy="quantile")
        ax_rel.plot(mean, frac, _STYLES.get(variant, "-"), label=variant, markersize=4)
    ax_rel.plot([0, 1], [0, 1], color="grey", linewidth=0.8, label="perfect")
    ax_rel.set(xlabel="mean top-label confidence (10 equal-mass bins)", ylabel="accuracy of the top label",
               title="Reliability (top label)", xlim=(0, 1), ylim=(0, 1))
    ax_rel.legend(loc="upper left", fontsize=8)
    raw = np.concatenate([r.probs["raw"] for r in result.repetitions])
    for k in range(raw.shape[1]):
        precision, recall, _ = precision_recall_curve(y == k, raw[:, k])
        ax_pr.step(recall, precision, where="post", label=f"class {k} (prevalence {np.mean(y == k):.3f})")
    ax_pr.set(xlabel="recall", ylabel="precision", title="Precision-recall per class (raw, one vs rest)",
              xlim=(0, 1), ylim=(0, 1.02))
    ax_pr.legend(loc="upper right", fontsize=8)
    fig.suptitle(result.cell.label)
    return save_figure(fig, path)


def tuning_figure(result: CellResult, path: Path, metric: str) -> Path:
    """Optimisation history (each trial's validation value and the best so far) and fANOVA
    parameter importances of the cell's study, written to ``path`` as PNG."""
    from harness.metrics.per_task import higher_is_better

    higher = higher_is_better(metric)
    fig, (ax_h, ax_i) = new_figure(1, 2, figsize=(10, 4.0), gridspec_kw={**_MARGINS, "wspace": 0.68})
    trials = [t for t in result.trials if t.repetition == 0]
    done = [(t.number, t.value) for t in trials if t.value is not None]
    stopped = [(t.number, t.curve[-1]) for t in trials if t.value is None and t.curve]
    if done:
        xs, ys = zip(*done)
        ax_h.plot(xs, ys, "o", label="complete", markersize=5)
        best = np.maximum.accumulate(ys) if higher else np.minimum.accumulate(ys)
        ax_h.step(xs, best, where="post", label="best so far")
    if stopped:
        xs, ys = zip(*stopped)
        ax_h.plot(xs, ys, "x", color="grey", label="pruned or failed (last epoch)")
    ax_h.set(xlabel="trial", ylabel=f"validation {metric}", title="Optimisation history")
    ax_h.legend(loc="best", fontsize=8)
    if result.importances:
        names = list(result.importances)[::-1]
        ax_i.barh(names, [result.importances[n] for n in names])
        ax_i.set(xlabel="importance (fANOVA)", title="Parameter importances")
    else:
        ax_i.text(0.5, 0.5, "too few completed trials", ha="center", va="center")
        ax_i.set_axis_off()
    fig.suptitle(result.cell.label)
    return save_figure(fig, path)
