"""The report's figures: metrics against ρ, reliability (binned and smoothed), calibration
variants, and the critical-difference diagram built on Wilcoxon–Holm tests.

Every figure is made with :func:`harness.evaluation.plots.new_figure` (no pyplot, no backend chosen) and
written atomically as PNG.
"""

from __future__ import annotations

import math
from pathlib import Path

import numpy as np
import pandas as pd
import scikit_posthocs as sp
from scipy import stats as sps
from sklearn.calibration import calibration_curve

from harness.evaluation.plots import new_figure, save_figure
from harness.metrics import per_task
from harness.report import stats
from harness.store.results import slugify
from harness.vocabulary import FIGURE_METRICS as HEADLINE

FIGURE_DATASETS = 8  # per-dataset figures for more datasets than this would swamp the report


def figure_datasets(table: pd.DataFrame) -> tuple[list[str], list[str]]:
    """The datasets that get per-dataset figures (all, or the :data:`FIGURE_DATASETS` seen at the
    most ratios, first in table order), and a note when some are left out."""
    names = list(dict.fromkeys(table["dataset"]))
    if len(names) <= FIGURE_DATASETS:
        return names, []
    ratios = table.groupby("dataset")["imbalance_ratio"].nunique()
    chosen = set(sorted(names, key=lambda d: (-ratios[d], names.index(d)))[:FIGURE_DATASETS])
    return [d for d in names if d in chosen], [
        f"Figures for {FIGURE_DATASETS} of {len(names)} datasets (those run at the most ratios, first in table "
        "order); the numbers of every dataset are in the tables and in the results.", ""]


def _ratio_key(label: str) -> float:
    return math.inf if label == "natural" else float(label)


def _save(fig, path: Path) -> Path:
    return save_figure(fig, path, dpi=100)


def metric_vs_ratio_figure(table: pd.DataFrame, dataset: str, path: Path, metrics: list[str] | None = None) -> Path:
    """One panel per headline metric (``metrics``, default :data:`HEADLINE`): mean over
    repetitions and its 95 % t-interval, vs ρ."""
    df = table[(table["dataset"] == dataset) & (table["calibration"] == "raw")]
    metrics = [m for m in (metrics or HEADLINE) if m in set(df["metric"])]
    fig, axes = new_figure(1, len(metrics), figsize=(3.6 * len(metrics), 3.8), layout="constrained", squeeze=False)
    ratios = sorted(df["imbalance_ratio"].astype(str).unique(), key=_ratio_key)
    x = np.arange(len(ratios))
    methods = list(dict.fromkeys(df["method"]))
    for ax, metric in zip(axes[0], metrics):
        for i, method in enumerate(methods):
            sub = df[(df["metric"] == metric) & (df["method"] == method)]
            g = sub.groupby(sub["imbalance_ratio"].astype(str))["value"]
            mean, sd, n = g.mean(), g.std(ddof=1), g.count()
            half = (sps.t.ppf(0.975, np.maximum(n - 1, 1)) * sd / np.sqrt(n)).fillna(0)
            low, high = mean - half, mean + half
            if metric != "log_loss":  # bounded metrics: the interval is clipped to [0, 1]
                low, high = low.clip(0, 1), high.clip(0, 1)
            else:
                low = low.clip(lower=0)
            xs = [x[ratios.index(r)] + (i - len(methods) / 2) * 0.03 for r in mean.index]
            err = np.clip(np.nan_to_num(np.vstack([mean - low, high - mean])), 0, None)  # float noise at a bound
            ax.errorbar(xs, mean.to_numpy(), yerr=err, marker="o", markersize=3,
                        capsize=2, linewidth=1, label=method)
        arrow = "↑" if per_task.higher_is_better(metric) else "↓"
        ax.set(xticks=x, xticklabels=ratios, xlabel="imbalance ratio ρ", title=f"{metric} {arrow}")
    axes[0][0].set_ylabel("mean and 95 % t-interval over repetitions")
    handles, labels = axes[0][0].get_legend_handles_labels()
    fig.legend(handles, labels, loc="outside right center", fontsize=8)
    fig.suptitle(dataset)
    return _save(fig, path)


def prediction_file(predictions: Path, dataset_slug: str, ratio: str, method: str, model: str = "mlp") -> Path:
    """A cell's stored predictions: named with the model since the model axis, without before."""
    named = predictions / f"{dataset_slug}__rho{ratio}__{slugify(model)}__{slugify(method)}.parquet"
    legacy = predictions / f"{dataset_slug}__rho{ratio}__{slugify(method)}.parquet"
    return named if named.exists() or not legacy.exists() else legacy


def reliability_figure(predictions: Path, dataset_slug: str, ratios: list[str], path: Path,
                       methods=("ce", "focal"), model: str = "mlp") -> Path | None:
    """CE vs focal, raw and closed-form corrected, one panel per ratio (repetitions pooled)."""
    panels = []
    for ratio in ratios:
        curves = []
        for method in methods:
            file = prediction_file(predictions, dataset_slug, ratio, method, model)
            if not file.exists():
                continue
            frame = pd.read_parquet(file)
            for variant in ("raw", "closed_form"):
                column = f"prob_{variant}"
                if column in frame and not (method == "ce" and variant == "closed_form"):
                    curves.append((f"{method} {variant}", frame["y_true"].to_numpy(), frame[column].to_numpy()))
        if curves:
            panels.append((ratio, curves))
    if not panels:
        return None
    fig, axes = new_figure(1, len(panels), figsize=(3.8 * len(panels), 3.8), layout="constrained", squeeze=False)
    styles = {"ce raw": "-o", "focal raw": "--s", "focal closed_form": "-.^"}
    for ax, (ratio, curves) in zip(axes[0], panels):
        for label, y, p in curves:
            frac, mean = calibration_curve(y, p, n_bins=10, strategy="quantile")
            ax.plot(mean, frac, styles.get(label, "-"), markersize=3, label=label)
        ax.plot([0, 1], [0, 1], color="grey", linewidth=0.8)
        ax.set(xlim=(0, 1), ylim=(0, 1), title=f"ρ = {ratio}", xlabel="mean predicted probability")
        ax.legend(fontsize=7, loc="upper left")
    axes[0][0].set_ylabel("observed positive rate")
    fig.suptitle(f"{dataset_slug}: reliability (10 equal-mass bins)")
    return _save(fig, path)


def calibration_figure(cal: pd.DataFrame, metric: str, path: Path) -> Path:
    fig, ax = new_figure(figsize=(max(6, 0.9 * len(cal)), 3.8), layout="constrained")
    width = 0.8 / max(len(cal.columns), 1)
    x = np.arange(len(cal))
    for i, variant in enumerate(cal.columns):
        ax.bar(x + i * width - 0.4 + width / 2, cal[variant].to_numpy(), width, label=variant)
    ax.set(xticks=x, ylabel=f"mean {metric} (lower is better)", title=f"{metric} before and after post-hoc calibration")
    ax.set_xticklabels(cal.index, rotation=30, ha="right")
    ax.legend(fontsize=8)
    return _save(fig, path)


def cd_figure(means: pd.DataFrame, metric: str, path: Path, alpha: float = 0.05) -> Path:
    """Critical-difference diagram: average ranks on an axis, methods joined by a bar when their
    pairwise Wilcoxon signed-rank test, Holm-corrected over all pairs, does not reject at ``alpha``
    (Ismail Fawaz et al. 2019; drawn by ``scikit_posthocs.critical_difference_diagram``)."""
    ranks = stats.average_ranks(means, metric)
    pvalues = stats.pairwise_wilcoxon_holm(means)
    fig, ax = new_figure(figsize=(9, 0.45 * len(ranks) + 1.8))
    fig.subplots_adjust(left=0.22, right=0.78, top=0.76, bottom=0.05)
    sp.critical_difference_diagram(ranks, pvalues, alpha=alpha, ax=ax)
    fig.suptitle(f"{metric}: average ranks over {len(means)} cells (1 = best)\nbars join methods that "
                 f"pairwise Wilcoxon–Holm tests do not separate (α = {alpha})", fontsize=9)
    return _save(fig, path)


def smooth_reliability_figure(panels: list[tuple[str, list[tuple[str, np.ndarray, np.ndarray]]]], title: str,
                              path: Path) -> Path:
    """Smoothed reliability diagrams (Błasiok & Nakkiran 2023), one panel per ratio, curves overlaid.

    Parameters
    ----------
    panels : list of (ratio label, [(curve label, y_true, prob), ...])
        Each curve is drawn by ``relplot.plot_rel_diagram`` from ``relplot.prepare_rel_diagram``
        (kernel-smoothed E[y | f] with the smECE bandwidth; line width follows the density of f),
        without relplot's unseeded bootstrap band and without its global style.
    """
    import relplot  # imports pyplot and seaborn: only where the figure is drawn, never on import

    colors = ("tab:blue", "tab:red", "tab:green", "tab:purple")
    fig, axes = new_figure(1, len(panels), figsize=(3.9 * len(panels), 4.0), layout="constrained", squeeze=False)
    for ax, (ratio, curves) in zip(axes[0], panels):
        for color, (label, y, p) in zip(colors, curves):
            diagram = relplot.prepare_rel_diagram(p, y, plot_confidence_band=False, report_CE_std=False)
            smece = diagram.pop("ce")
            relplot.plot_rel_diagram(diagram, fig=fig, ax=ax, use_default_style=False, color=color,
                                     plot_labels=False, plot_density_ticks=False)
            ax.plot([], [], color=color, label=f"{label} (smECE {smece:.3f})")
        ax.set(title=f"ρ = {ratio}", xlabel="predicted probability f")
        ax.legend(fontsize=7, loc="upper left")
    axes[0][0].set_ylabel("smoothed E[y | f]")
    fig.suptitle(f"{title}: smoothed reliability (relplot)")
    return _save(fig, path)
