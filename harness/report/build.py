"""The report: "which loss, when?" answered from ``results.csv`` and the stored predictions.

Writes ``report.md`` and a self-contained ``report.html`` (figures embedded) into the results
folder, figures under ``report/``. Nothing is re-run: the report is reproducible from the
results folder alone. It opens with the decision table (:mod:`harness.report.decision`) and a summary
of at most 12 lines; the per-method tables, figures and sections follow.
"""

from __future__ import annotations

import json
from pathlib import Path

import pandas as pd

from harness.errors import UserError
from harness.files import write_atomic
from harness.report import decision, effects, own_data, stats
from harness.report.effects import REPRODUCTION
from harness.report.figures import (
    HEADLINE,
    _ratio_key,
    calibration_figure,
    cd_figure,
    figure_datasets,
    metric_vs_ratio_figure,
    reliability_figure,
)
from harness.report.dense import dense_section
from harness.report.literature import images_literature_section, literature_section
from harness.report.markdown import md_table, to_html
from harness.report.sections import (
    focal_section,
    logit_adjusted_baseline_section,
    smooth_ece_section,
    tuned_loss_section,
)
from harness.report.tuning import tuning_section
from harness.store.results import read_table, slugify
from harness.store.run_spec import method_trials, read_run_spec
from harness.vocabulary import FAMILIES, FAMILIES_MULTICLASS, HEADLINE_MULTICLASS

FAMILY_METRICS = tuple(dict.fromkeys(m for fam in (FAMILIES, FAMILIES_MULTICLASS) for ms in fam.values() for m in ms))

__all__ = ["HEADLINE", "build", "calibration_table", "compare", "calibration_figure", "cd_figure",
           "metric_vs_ratio_figure", "reliability_figure"]


def calibration_table(table: pd.DataFrame, metric: str = "ece") -> pd.DataFrame:
    """Mean of ``metric`` per method (rows) and calibration variant (columns), over blocks and splits."""
    df = table[table["metric"] == metric]
    if df.empty:
        return pd.DataFrame()
    out = df.groupby(["method", "calibration"])["value"].mean().unstack("calibration")
    order = [c for c in ("raw", "temperature", "closed_form", "isotonic", "vector_scaling") if c in out.columns]
    return out[order].reindex(list(dict.fromkeys(df["method"])))


def ensembles_per_model(table: pd.DataFrame) -> pd.DataFrame:
    """With several models, the ensemble baselines (model ``ensemble``: their own learner) are
    compared within every other model's cells, so their rows are repeated under each model."""
    if "model" not in table or "ensemble" not in set(table["model"]):
        return table
    others = [m for m in dict.fromkeys(table["model"]) if m != "ensemble"]
    ensembles = table[table["model"] == "ensemble"]
    return pd.concat([table[table["model"] != "ensemble"]] + [ensembles.assign(model=m) for m in others],
                     ignore_index=True) if others else table


def first_model(table: pd.DataFrame) -> tuple[pd.DataFrame, str | None]:
    """The rows of the first model (None: the table has one model, or none named)."""
    if "model" not in table or table["model"].nunique() < 2:
        return table, None
    model = next(iter(dict.fromkeys(table["model"])))
    return table[table["model"] == model], str(model)


def _load(results_dir: Path) -> pd.DataFrame:
    table = read_table(results_dir)
    if table.empty:
        raise UserError(f"report: {results_dir / 'results.csv'} holds no results")
    return table


def described_rows(table: pd.DataFrame) -> tuple[pd.DataFrame, pd.DataFrame, str | None]:
    """(the first model's rows, the same with the ensembles' rows once beside them, its name):
    what the sections below the decision describe. The ensembles are their own learner (model
    ``ensemble``): ranked beside the first model's methods, never repeated under each model."""
    ensemble = table["model"].astype(str).eq(effects.ENSEMBLE) if "model" in table else pd.Series(False, index=table.index)
    rows, model = first_model(table[~ensemble])
    beside = table[ensemble]
    if len(rows) and "model" in rows:  # the same blocks as the model's methods, so ranked with them
        beside = beside.assign(model=rows["model"].iloc[0])
    return rows, pd.concat([rows, beside], ignore_index=True), model


def _splits(table: pd.DataFrame) -> str:
    """How many splits a dataset×ratio block had: repeats × folds, or repetitions of a holdout."""
    if "fold" in table and table["fold"].nunique() > 1:
        repeats = table["repeat"].nunique() if "repeat" in table else table["repetition"].nunique()
        return f"{repeats} repeats × {table['fold'].nunique()} folds"
    return f"{table['repetition'].nunique()} repetitions of a holdout split"


def _header(table: pd.DataFrame) -> list[str]:
    datasets, methods = list(dict.fromkeys(table["dataset"])), list(dict.fromkeys(table["method"]))
    ratios = sorted(table["imbalance_ratio"].unique(), key=_ratio_key)
    return [f"# Report: {table['benchmark'].iloc[0]}", "",
            f"{len(datasets)} datasets × {len(ratios)} ratios ({', '.join(ratios)}) × {len(methods)} methods "
            f"({', '.join(methods)}), {_splits(table)}. Spec hash "
            f"`{table['spec_hash'].iloc[0]}`, code {_each(table, 'git_commit', '`{}`')}, "
            f"{_each(table, 'versions')}.", ""]


def _each(table: pd.DataFrame, column: str, form: str = "{}") -> str:
    """Every distinct value of ``column`` in order of appearance (cells added later by ``--against``
    may have run under another commit or other versions), with its share of the rows where several."""
    counts = table[column].value_counts(sort=False)
    if len(counts) == 1:
        return form.format(counts.index[0])
    return "; ".join(f"{form.format(value)} ({n / len(table):.0%} of the rows)" for value, n in counts.items())


def _reproduction(results_dir: Path, spec_hash: str) -> list[str]:
    """What a re-run on another machine reproduced, as measured (``reproduction.json``, written by
    ``benchmarks/reproduce.py``); nothing where it was not measured. Measured on an earlier spec
    whose cells this one extends (methods added by ``--against --publish``), it says so."""
    path = results_dir / REPRODUCTION
    if not path.is_file():
        return []
    r = json.loads(path.read_text())
    earlier = (f" of spec `{r['spec_hash']}` (the cells before later methods were added; those were not re-run "
               "elsewhere)" if r.get("spec_hash") not in (None, spec_hash) else "")
    models = ", ".join(f"{m} {v['reproduced']}/{v['compared']}" for m, v in r.get("by_model", {}).items())
    worst = max((c["max_ap_gap"] for c in r.get("not_reproduced", []) if pd.notna(c.get("max_ap_gap"))), default=0.0)
    where = f"{r['machine']['cpu_model']}; published on {(r.get('published_machine') or {}).get('cpu_model', '?')}"
    return [f"Reproduction, as measured ({r['measured']}, {where}): a re-run of {len(r['datasets'])} datasets drawn "
            f"at random{earlier} reproduced {r['cells_reproduced']} of {r['cells_compared']} cells (every fold value within "
            f"{r['tolerance']:g}; {models}); the others differ by up to {worst:.3g} AP (their cause is not traced fit "
            f"by fit; for the MLP, last-bit arithmetic differences that flip a tuning choice are the likely one). "
            f"Which cells: `{REPRODUCTION}`.", ""]


def _figure_sections(table: pd.DataFrame, results_dir: Path, figdir: Path, figures: list[Path],
                     model: str) -> list[str]:
    """Metrics against ρ per dataset, and CE vs focal reliability diagrams where both ran."""
    datasets, note = figure_datasets(table)
    md = ["## Metrics against the imbalance ratio", "", *note]
    for ds in datasets:
        fig = metric_vs_ratio_figure(table, ds, figdir / f"metrics_{slugify(ds)}.png")
        figures.append(fig)
        md += [f"![{ds}](report/{fig.name})", ""]
    predictions = results_dir / "predictions"
    if predictions.is_dir() and {"ce", "focal"} <= set(table["method"]):
        md += ["## Reliability: CE vs focal, raw and corrected", ""]
        for ds in datasets:
            ds_ratios = sorted(table.loc[table["dataset"] == ds, "imbalance_ratio"].unique(), key=_ratio_key)
            fig = reliability_figure(predictions, slugify(ds), ds_ratios, figdir / f"reliability_{slugify(ds)}.png",
                                     model=model)
            if fig is not None:
                figures.append(fig)
                md += [f"![reliability {ds}](report/{fig.name})", ""]
    return md


def _calibration_section(table: pd.DataFrame, cal: pd.DataFrame, figdir: Path, figures: list[Path]) -> list[str]:
    if cal.empty:
        return []
    md = ["## Calibration before and after post-hoc correction", "",
          "Mean ECE (15 equal-width bins) over dataset×ratio blocks and splits, per method and calibration variant:",
          "",
          md_table(cal.reset_index()), ""]
    fig = calibration_figure(cal, "ece", figdir / "calibration_ece.png")
    figures.append(fig)
    md += [f"![calibration](report/{fig.name})", ""]
    tce = calibration_table(table, "true_calibration_error")
    if not tce.empty:
        md += ["Against the true posterior (synthetic data), mean |p − η|:", "", md_table(tce.reset_index()), ""]
    return md


def compare(a: Path, b: Path, calibration: str = "raw") -> pd.DataFrame:
    """Mean metric per cell in two results folders, and their difference (B − A)."""
    frames = []
    for folder in (a, b):
        df = read_table(folder)
        frames.append(df[df["calibration"] == calibration]
                      .groupby(["dataset", "imbalance_ratio", "method", "metric"])["value"].mean())
    out = pd.concat(frames, axis=1, keys=["A", "B"])
    out["B - A"] = out["B"] - out["A"]
    return out


def _rank_section(table: pd.DataFrame, metric: str, figdir: Path, figures: list[Path], prefix: str = "") -> list[str]:
    """Average ranks, the Friedman test, and the Wilcoxon–Holm critical-difference diagram, over
    datasets (each the mean over its complete dataset×ratio blocks: ratios of one dataset are
    not independent)."""
    means = stats.dataset_means(table, metric)
    if means.empty or means.shape[1] < 2:
        return []
    ranks = stats.average_ranks(means, metric)
    md = [f"### {metric}", "",
          md_table(ranks.rename("average rank").reset_index().rename(columns={"index": "method"}), "{:.2f}"), ""]
    fr = stats.friedman(means, metric)
    if fr is not None:
        md.append(f"Friedman χ² = {fr.statistic:.2f}, p = {fr.p_value:.3g} over {fr.n_blocks} datasets "
                  "(an omnibus test: it names no winner).")
    if len(means) >= stats.MIN_CELLS_FOR_TEST:
        fig = cd_figure(means, metric, figdir / f"cd_{prefix}{metric}.png")
        figures.append(fig)
        md += ["", f"![critical difference {metric}](report/{fig.name})"]
    else:
        md.append(f"Fewer than {stats.MIN_CELLS_FOR_TEST} datasets: no pairwise tests, no diagram.")
    return md + [""]


def build(results_dir: Path, *, rope: float = effects.ROPE, seed: int = 0) -> tuple[Path, Path, list[Path]]:
    """Write ``report.md`` and ``report.html`` for a results folder; returns their paths and the figures.

    Parameters
    ----------
    results_dir : Path
        A results folder holding the results table (and ``predictions/`` for the smooth-ECE section).
    rope : float, default 0.01
        ROPE of the verdicts on [0, 1] metrics; relative (fraction of ce's median) on log loss.
    seed : int, default 0
        Base seed of the signed-rank posterior samples (hashed per comparison).
    """
    table = decision.with_regimes(_load(results_dir))
    evidence = effects.compare(table, rope=rope, metrics=FAMILY_METRICS)
    figdir, figures = results_dir / "report", []
    binary, multi = table[table["n_classes"] <= 2], table[table["n_classes"] > 2]
    reproduction = _reproduction(results_dir, str(table["spec_hash"].iloc[0]))
    md = _header(table) + reproduction + own_data.section(table, rope=rope)  # own data: its verdict first
    if not binary.empty:
        md += _binary_sections(binary, evidence, results_dir, figdir, figures, rope=rope, seed=seed)
    if not multi.empty:
        md += _multiclass_sections(multi, evidence, figdir, figures, rope=rope, seed=seed)
        md += images_literature_section(multi, results_dir, rope=rope)
    md += tuning_section(results_dir)
    _write_comparisons(evidence, figdir / effects.COMPARISONS)
    text = "\n".join(md) + "\n"
    md_path, html_path = results_dir / "report.md", results_dir / "report.html"
    write_atomic(md_path, lambda tmp: tmp.write_text(text))
    page = to_html(text, results_dir)
    write_atomic(html_path, lambda tmp: tmp.write_text(page))
    return md_path, html_path, figures


def _write_comparisons(evidence: effects.Evidence, path: Path) -> Path:
    """Every decided comparison of the report, one row each (``calibration``: raw, or the common
    post-hoc variant of the probability family), for re-analysis and for checks that read the
    verdicts rather than the markdown."""
    frame = pd.concat([evidence.table.assign(calibration="raw"),
                       evidence.posthoc.assign(calibration=effects.POSTHOC)], ignore_index=True)
    path.parent.mkdir(parents=True, exist_ok=True)
    return write_atomic(path, lambda tmp: frame.to_csv(tmp, index=False))


def _binary_sections(table: pd.DataFrame, evidence: effects.Evidence, results_dir: Path, figdir: Path,
                     figures: list[Path], *, rope: float, seed: int) -> list[str]:
    """The report's sections on the binary rows: the decision over every model, then the first
    model's methods described."""
    rows, described, model = described_rows(table)
    focal_md, focal_words = focal_section(rows, rope=rope, seed=seed, model=model)
    trials = method_trials(read_run_spec(results_dir))
    tuned_md, tuned_words = tuned_loss_section(rows, rope=rope, seed=seed, trials=trials)
    md = decision.decision_section(evidence, "binary", FAMILIES, rope=rope, extra=focal_words + tuned_words)
    if model is not None:
        md += [f"The sections below the decision table describe the methods of the first model, `{model}` "
               "(the ensembles, their own learner, ranked beside them).", ""]
    md += decision.versus_section(evidence, "binary", seed=seed) + logit_adjusted_baseline_section(
        rows, rope=rope, model=model)
    md += focal_md + tuned_md
    md += literature_section(rows, results_dir, rope=rope, seed=seed, model=model)
    md += dense_section(rows, figdir, figures)  # the dense task's mechanism (nothing without dense rows)
    md += _figure_sections(described, results_dir, figdir, figures, model or "mlp")
    md += ["## Ranks across datasets", ""]
    for metric in [m for m in HEADLINE if m in set(described["metric"])]:
        md += _rank_section(described, metric, figdir, figures)
    cal = calibration_table(described, "ece")
    return md + _calibration_section(described, cal, figdir, figures) + smooth_ece_section(rows, results_dir, figdir,
                                                                                            figures)


def _multiclass_sections(table: pd.DataFrame, evidence: effects.Evidence, figdir: Path, figures: list[Path], *,
                         rope: float, seed: int) -> list[str]:
    """The multi-class rows, decided and ranked apart from the binary ones (their own metric
    families and headline metrics, figures named ``*_multiclass_*``)."""
    md = ["# Multi-class datasets", "", "Decided and ranked apart from the binary datasets.", ""]
    md += decision.decision_section(evidence, "multi-class", FAMILIES_MULTICLASS, rope=rope)
    md += decision.versus_section(evidence, "multi-class", seed=seed)
    md += ["## Metrics against the imbalance ratio (multi-class)", ""]
    for ds in dict.fromkeys(table["dataset"]):
        fig = metric_vs_ratio_figure(table, ds, figdir / f"metrics_{slugify(ds)}.png", metrics=HEADLINE_MULTICLASS)
        figures.append(fig)
        md += [f"![{ds}](report/{fig.name})", ""]
    md += ["## Ranks across datasets (multi-class)", ""]
    for metric in [m for m in HEADLINE_MULTICLASS if m in set(table["metric"])]:
        md += _rank_section(table, metric, figdir, figures, prefix="multiclass_")
    cal = calibration_table(table, "top_label_ece")
    if not cal.empty:
        md += ["## Calibration before and after post-hoc correction (multi-class)", "",
               "Mean top-label ECE (15 equal-width bins) over dataset×ratio blocks and repetitions:", "",
               md_table(cal.reset_index()), ""]
        tce = calibration_table(table, "true_calibration_error")
        if not tce.empty:
            md += ["Against the true posterior (synthetic data), mean total variation ½‖p − η‖₁:", "",
                   md_table(tce.reset_index()), ""]
    return md
