"""The report: "which loss, when?" answered from ``results.csv`` and the stored predictions.

Writes ``report.md`` and a self-contained ``report.html`` (figures embedded) into the results
folder, figures under ``report/``. Nothing is re-run: the report is reproducible from the
results folder alone.
"""

from __future__ import annotations

import base64
import html
import math
from pathlib import Path

import numpy as np
import pandas as pd
import scikit_posthocs as sp
from scipy import stats as sps
from sklearn.calibration import calibration_curve

from . import metrics as metrics_registry
from . import stats
from .errors import UserError
from .plots import new_figure, save_figure
from .files import write_atomic
from .results import slugify

HEADLINE = ["average_precision", "roc_auc", "ece", "brier", "log_loss"]


def _ratio_key(label: str) -> float:
    return math.inf if label == "natural" else float(label)


def _save(fig, path: Path) -> Path:
    return save_figure(fig, path, dpi=100)


def metric_vs_ratio_figure(table: pd.DataFrame, dataset: str, path: Path) -> Path:
    """One panel per headline metric: mean over repetitions and its 95 % t-interval, vs ρ."""
    df = table[(table["dataset"] == dataset) & (table["calibration"] == "raw")]
    metrics = [m for m in HEADLINE if m in set(df["metric"])]
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
            ax.errorbar(xs, mean.to_numpy(), yerr=np.vstack([mean - low, high - mean]), marker="o", markersize=3,
                        capsize=2, linewidth=1, label=method)
        arrow = "↑" if metrics_registry.get(metric).higher_is_better else "↓"
        ax.set(xticks=x, xticklabels=ratios, xlabel="imbalance ratio ρ", title=f"{metric} {arrow}")
    axes[0][0].set_ylabel("mean and 95 % t-interval over repetitions")
    handles, labels = axes[0][0].get_legend_handles_labels()
    fig.legend(handles, labels, loc="outside right center", fontsize=8)
    fig.suptitle(dataset)
    return _save(fig, path)


def reliability_figure(predictions: Path, dataset_slug: str, ratios: list[str], path: Path,
                       methods=("ce", "focal"), model: str = "mlp") -> Path | None:
    """CE vs focal, raw and closed-form corrected, one panel per ratio (repetitions pooled)."""
    panels = []
    for ratio in ratios:
        curves = []
        for method in methods:
            file = predictions / f"{dataset_slug}__rho{ratio}__{model}__{method}.parquet"
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


def cd_figure(means: pd.DataFrame, metric: str, friedman: stats.Friedman, path: Path) -> Path:
    ranks = stats.average_ranks(means, metric)
    fig, ax = new_figure(figsize=(10, 0.45 * len(ranks) + 1.8))
    fig.subplots_adjust(left=0.22, right=0.78, top=0.8, bottom=0.05)
    sp.critical_difference_diagram(ranks, friedman.nemenyi, ax=ax)
    fig.suptitle(f"{metric}: average ranks over {friedman.n_blocks} cells (1 = best); "
                 f"bars join methods Nemenyi does not separate (α = 0.05)", fontsize=10)
    return _save(fig, path)


def calibration_table(table: pd.DataFrame, metric: str = "ece") -> pd.DataFrame:
    """Mean of ``metric`` per method (rows) and calibration variant (columns), over cells and repetitions."""
    df = table[table["metric"] == metric]
    if df.empty:
        return pd.DataFrame()
    out = df.groupby(["method", "calibration"])["value"].mean().unstack("calibration")
    order = [c for c in ("raw", "temperature", "closed_form", "isotonic") if c in out.columns]
    return out[order].reindex(list(dict.fromkeys(df["method"])))


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


def _md_table(frame: pd.DataFrame, floatfmt: str = "{:.4g}") -> str:
    def fmt(v):
        if isinstance(v, float):
            return "—" if math.isnan(v) else floatfmt.format(v)
        return str(v)

    cols = [str(c) for c in frame.columns]
    lines = ["| " + " | ".join(cols) + " |", "|" + "---|" * len(cols)]
    lines += ["| " + " | ".join(fmt(v) for v in row) + " |" for row in frame.itertuples(index=False)]
    return "\n".join(lines)


def _load(results_dir: Path) -> pd.DataFrame:
    csv = results_dir / "results.csv"
    if not csv.is_file():
        raise UserError(f"report: no results.csv in {str(results_dir)!r}; run the benchmark first")
    table = pd.read_csv(csv, dtype={"imbalance_ratio": str})
    if table.empty:
        raise UserError(f"report: {csv} holds no results")
    return by_model(table)


def by_model(table: pd.DataFrame) -> pd.DataFrame:
    """The table with the model in the method's place: with several models, ``method`` becomes
    ``<model>/<method>`` (so every grouping by method groups by model too); ``plain_method``
    keeps the method alone. Results from before the model axis count as ``mlp``."""
    if "model" not in table:
        table = table.assign(model="mlp")
    table = table.assign(plain_method=table["method"])
    if table["model"].nunique() > 1:
        table = table.assign(method=table["model"].astype(str) + "/" + table["method"].astype(str))
    return table


def baseline_method(table: pd.DataFrame) -> str:
    """The method every other is tested against: ``ce`` (of the first model, with several)."""
    models = list(dict.fromkeys(table["model"]))
    return "ce" if len(models) == 1 else f"{models[0]}/ce"


def _header(table: pd.DataFrame) -> list[str]:
    datasets, methods = list(dict.fromkeys(table["dataset"])), list(dict.fromkeys(table["method"]))
    ratios = sorted(table["imbalance_ratio"].unique(), key=_ratio_key)
    return [f"# Report: {table['benchmark'].iloc[0]}", "",
            f"{len(datasets)} datasets × {len(ratios)} ratios ({', '.join(ratios)}) × {len(methods)} methods "
            f"({', '.join(methods)}), {table['repetition'].nunique()} repetitions. Spec hash "
            f"`{table['spec_hash'].iloc[0]}`, code `{table['git_commit'].iloc[0]}`, {table['versions'].iloc[0]}.", ""]


def _summary_section(table: pd.DataFrame, cal: pd.DataFrame) -> list[str]:
    """The plain-words summary first: what the statistics support."""
    sentences = stats.summary_sentences(table, [m for m in HEADLINE if m in set(table["metric"])],
                                        baseline=baseline_method(table))
    if not cal.empty and "closed_form" in cal:
        for method in cal.index:
            raw, fixed = cal.loc[method, "raw"], cal.loc[method, "closed_form"]
            if pd.notna(raw) and pd.notna(fixed) and method != baseline_method(table):
                change = "lowers" if fixed < raw else "does not lower"
                sentences.append(f"The closed-form correction {change} the ECE of {method}, averaged over all "
                                 f"cells and repetitions ({raw:.4f} → {fixed:.4f}; descriptive, not tested).")
    return ["## Summary", ""] + [f"- {s}" for s in sentences] + [
        "", "Tests: each method against `ce` with the Wilcoxon signed-rank test over cells (a cell is a "
        "dataset at a ratio, its value the mean over repetitions), Holm-corrected across methods per "
        "metric; a tie is a difference of at most 0.001. Fewer than "
        f"{stats.MIN_CELLS_FOR_TEST} cells cannot reach p < 0.05 and are reported without a claim.", ""]


def _figure_sections(table: pd.DataFrame, results_dir: Path, figdir: Path, figures: list[Path]) -> list[str]:
    """Metrics against ρ per dataset, and CE vs focal reliability diagrams where both ran."""
    datasets = list(dict.fromkeys(table["dataset"]))
    md = ["## Metrics against the imbalance ratio", ""]
    for ds in datasets:
        fig = metric_vs_ratio_figure(table, ds, figdir / f"metrics_{slugify(ds)}.png")
        figures.append(fig)
        md += [f"![{ds}](report/{fig.name})", ""]
    predictions = results_dir / "predictions"
    model = str(table["model"].iloc[0])
    first = table[table["model"] == model]
    if predictions.is_dir() and {"ce", "focal"} <= set(first["plain_method"]):
        md += [f"## Reliability: CE vs focal ({model}), raw and corrected", ""]
        for ds in datasets:
            ds_ratios = sorted(table.loc[table["dataset"] == ds, "imbalance_ratio"].unique(), key=_ratio_key)
            fig = reliability_figure(predictions, slugify(ds), ds_ratios, figdir / f"reliability_{slugify(ds)}.png",
                                     model=slugify(model))
            if fig is not None:
                figures.append(fig)
                md += [f"![reliability {ds}](report/{fig.name})", ""]
    return md


def _rank_section(table: pd.DataFrame, metric: str, figdir: Path, figures: list[Path]) -> list[str]:
    """Average ranks, the Friedman test (and its diagram where it rejects), each method vs CE."""
    means = stats.cell_means(table, metric)
    if means.empty:
        return []
    ranks = stats.average_ranks(means, metric)
    fr = stats.friedman_nemenyi(means, metric)
    md = [f"### {metric}", "",
          _md_table(ranks.rename("average rank").reset_index().rename(columns={"index": "method"}), "{:.2f}"), ""]
    if fr is None:
        md.append("Too few methods or cells for the Friedman test.")
    else:
        md.append(f"Friedman χ² = {fr.statistic:.2f}, p = {fr.p_value:.3g} over {fr.n_blocks} cells; "
                  f"Nemenyi critical difference {fr.critical_difference:.2f} ranks (Demšar 2006).")
        if fr.p_value < 0.05:
            fig = cd_figure(means, metric, fr, figdir / f"cd_{metric}.png")
            figures.append(fig)
            md += ["", f"![critical difference {metric}](report/{fig.name})"]
        else:
            md.append("The Friedman test does not reject equal ranks, so no post-hoc comparison is drawn.")
    md.append("")
    baseline = baseline_method(table)
    vs = stats.versus_baseline(means, metric, baseline)
    if not vs.empty:
        md += [f"Against `{baseline}` (positive median difference = better than `{baseline}`):", "",
               _md_table(vs[["method", "cells", "wins", "ties", "losses", "median_diff", "p", "p_holm"]]), ""]
    return md


def _calibration_section(table: pd.DataFrame, cal: pd.DataFrame, figdir: Path, figures: list[Path]) -> list[str]:
    if cal.empty:
        return []
    md = ["## Calibration before and after post-hoc correction", "",
          "Mean ECE (15 equal-width bins) over cells and repetitions, per method and calibration variant:", "",
          _md_table(cal.reset_index()), ""]
    fig = calibration_figure(cal, "ece", figdir / "calibration_ece.png")
    figures.append(fig)
    md += [f"![calibration](report/{fig.name})", ""]
    tce = calibration_table(table, "true_calibration_error")
    if not tce.empty:
        md += ["Against the true posterior (synthetic data), mean |p − η|:", "", _md_table(tce.reset_index()), ""]
    return md


def build(results_dir: Path) -> tuple[Path, Path, list[Path]]:
    """Write ``report.md`` and ``report.html`` for a results folder; returns their paths and the figures."""
    table = _load(results_dir)
    figdir, figures = results_dir / "report", []
    cal = calibration_table(table, "ece")
    md = _header(table) + _summary_section(table, cal) + _figure_sections(table, results_dir, figdir, figures)
    md += ["## Ranks across datasets and ratios", ""]
    for metric in [m for m in HEADLINE if m in set(table["metric"])]:
        md += _rank_section(table, metric, figdir, figures)
    md += _calibration_section(table, cal, figdir, figures)
    text = "\n".join(md) + "\n"
    md_path, html_path = results_dir / "report.md", results_dir / "report.html"
    write_atomic(md_path, lambda tmp: tmp.write_text(text))
    page = _html(text, results_dir)
    write_atomic(html_path, lambda tmp: tmp.write_text(page))
    return md_path, html_path, figures


def _html(markdown: str, base: Path) -> str:
    """A self-contained HTML page from the report's simple Markdown (headings, lists, tables, images)."""
    out, table_rows = [], []

    def flush_table():
        if table_rows:
            head, *body = table_rows
            out.append("<table><thead><tr>" + "".join(f"<th>{c}</th>" for c in head) + "</tr></thead><tbody>"
                       + "".join("<tr>" + "".join(f"<td>{c}</td>" for c in r) + "</tr>" for r in body)
                       + "</tbody></table>")
            table_rows.clear()

    in_list = False
    for line in markdown.splitlines():
        if line.startswith("|"):
            if not line.startswith("|---"):
                table_rows.append([html.escape(c.strip()) for c in line.strip("|").split("|")])
            continue
        flush_table()
        if line.startswith("- "):
            if not in_list:
                out.append("<ul>")
                in_list = True
            out.append(f"<li>{html.escape(line[2:])}</li>")
            continue
        if in_list:
            out.append("</ul>")
            in_list = False
        if line.startswith("#"):
            level = len(line) - len(line.lstrip("#"))
            out.append(f"<h{level}>{html.escape(line[level:].strip())}</h{level}>")
        elif line.startswith("!["):
            alt, src = line[2:].split("](", 1)
            data = base64.b64encode((base / src.rstrip(")")).read_bytes()).decode()
            out.append(f'<p><img alt="{html.escape(alt)}" src="data:image/png;base64,{data}"></p>')
        elif line.strip():
            out.append(f"<p>{html.escape(line).replace('`', '')}</p>")
    flush_table()
    if in_list:
        out.append("</ul>")
    style = ("body{font-family:system-ui,sans-serif;max-width:1400px;margin:2em auto;padding:0 1em;color:#222}"
             "table{border-collapse:collapse;margin:.5em 0}td,th{border:1px solid #ccc;padding:.2em .6em;"
             "text-align:right}th{background:#f3f3f3}img{max-width:100%}")
    return f"<!doctype html><html><head><meta charset='utf-8'><title>report</title><style>{style}</style></head><body>{''.join(out)}</body></html>\n"


def compare(a: Path, b: Path, calibration: str = "raw") -> pd.DataFrame:
    """Mean metric per cell in two results folders, and their difference (B − A)."""
    frames = []
    for folder in (a, b):
        csv = folder / "results.csv"
        if not csv.is_file():
            raise UserError(f"compare: no results.csv in {str(folder)!r}")
        df = pd.read_csv(csv, dtype={"imbalance_ratio": str})
        df = df if "model" in df else df.assign(model="mlp")
        frames.append(df[df["calibration"] == calibration]
                      .groupby(["dataset", "imbalance_ratio", "model", "method", "metric"])["value"].mean())
    out = pd.concat(frames, axis=1, keys=["A", "B"])
    out["B - A"] = out["B"] - out["A"]
    return out
