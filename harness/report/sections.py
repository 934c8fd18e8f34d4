"""Report sections that answer one question each from ``results.csv`` and the stored predictions:
why focal works when it does, the loss as a hyperparameter, and smooth calibration error.

Each ``*_section`` returns Markdown lines (one line saying why, when what it needs is absent)
and a list of plain-words findings for the summary.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd

from harness.metrics import per_task
from harness.report import decision, effects, stats
from harness.report.figures import (
    figure_datasets,
    prediction_file,
    smooth_reliability_figure,
)
from harness.report.markdown import md_table
from harness.store.results import slugify
from harness.vocabulary import BINARY_VARIANTS as VARIANTS


def _as_methods(table: pd.DataFrame, pairs: list[tuple[str, str]]) -> pd.DataFrame:
    """Rows of (method, calibration) ``pairs`` relabelled as methods "<method> <calibration>"."""
    keep = pd.Series(False, index=table.index)
    for method, calibration in pairs:
        keep |= (table["method"] == method) & (table["calibration"] == calibration)
    out = table[keep].copy()
    out["method"] = out["method"] + " " + out["calibration"]
    out["calibration"] = "raw"
    return out


def effect_text(row) -> str:
    """μ, its interval, the three probabilities and the verdict of one :mod:`effects` comparison."""
    return (f"{int(row['datasets'])} datasets, μ {row['mu']:+.4f} [{row['ci_low']:+.4f}, {row['ci_high']:+.4f}] "
            f"(better = +), P(better/equiv./worse) = {row['p_better']:.2f}/{row['p_equivalent']:.2f}/"
            f"{row['p_worse']:.2f}, MDE {row['mde']:.4f}: {row['verdict']}")


RELATION = {"better": "better than", "worse": "worse than", "equivalent": "practically equivalent to",
            "cannot resolve": "not resolvable (MDE above the ROPE) from", "not shown": "not shown to differ from",
            "too few": "not testable (too few datasets) against"}
FOCAL_PLAN = [("average_precision", "ce raw", "focal raw"), ("roc_auc", "ce raw", "focal raw"),
              ("ece", "ce raw", "focal raw"), ("ece", "ce raw", "focal closed_form"),
              ("ece", "ce temperature", "focal closed_form"), ("ece", "ce temperature", "focal temperature")]


def _focal_tests(relabelled: pd.DataFrame, rope: float) -> tuple[list[str], list[str]]:
    """Focal variants against CE variants, the dataset as the unit (:func:`effects.compare_arms`,
    Holm over these six): ranking on raw, ECE after correction."""
    md, words = [], []
    comp = effects.compare_arms(relabelled, FOCAL_PLAN, rope=rope)
    for row in comp.to_dict("records"):
        md.append(f"- {row['method']} vs {row['baseline']} on {row['metric']}: {effect_text(row)}.")
        if row["metric"] in ("average_precision", "roc_auc") and row["method"] == "focal raw":
            kept = {"better": "survives", "too few": "cannot be tested on"}.get(row["verdict"], "does not survive")
            words.append(f"Ranking: focal's {decision.SHORT[row['metric']]} gain over CE {kept} the test over "
                         f"{int(row['datasets'])} datasets (μ {row['mu']:+.4f}, P(better) {row['p_better']:.2f}, "
                         f"{row['verdict']}).")
        if (row["baseline"], row["method"]) == ("ce temperature", "focal closed_form"):
            words.append(f"Calibration: closed-form-corrected focal is {RELATION[row['verdict']]} temperature-scaled "
                         f"CE on ECE (μ {row['mu']:+.4f}, P(equivalent) {row['p_equivalent']:.2f}).")
    return md, words


def focal_section(table: pd.DataFrame, *, rope: float, seed: int, model: str | None = None) -> tuple[list[str], list[str]]:
    """"Why focal works, when it does": focal raw / closed-form vs CE raw / temperature, on the
    rows of one model (``model``: its name, for the heading; None: the one model of the table)."""
    title = [f"## Why focal works, when it does{f' (model `{model}`)' if model else ''}", ""]
    if not {"ce", "focal"} <= set(table["method"]):
        return title + ["Skipped: needs both `ce` and `focal` in the results.", ""], []
    pairs = [("ce", "raw"), ("ce", "temperature"), ("focal", "raw"), ("focal", "temperature"),
             ("focal", "closed_form")]
    relabelled = _as_methods(table, pairs)
    metrics = [m for m in ("average_precision", "roc_auc", "ece") if m in set(relabelled["metric"])]
    means = pd.DataFrame({m: stats.dataset_means(relabelled, m).mean() for m in metrics})
    means = means.reindex([f"{m} {c}" for m, c in pairs]).dropna(how="all")
    md = title + ["Focal loss trains on a tilted objective: its raw probabilities are miscalibrated by "
                  "construction, and the closed-form correction maps them back. Post-hoc corrections are "
                  "monotone, so they leave AP and ROC AUC unchanged: a ranking gain of focal is in its raw "
                  "scores or nowhere. Means over datasets:", "",
                  md_table(means.rename_axis("method · calibration").reset_index()), ""]
    tests, words = _focal_tests(relabelled, rope)
    return md + tests + [""], words


REGRET_METRICS = ("average_precision", "mcc_val_threshold", "log_loss")


def _regret(means: pd.DataFrame, metric: str, fixed: list[str], tuned: str = "tuned_loss") -> pd.DataFrame:
    """Per cell: best fixed loss (in hindsight) minus ``tuned``, and ce minus ``tuned`` (goodness)."""
    good = means if per_task.higher_is_better(metric) else -means
    return pd.DataFrame({"vs best fixed": good[fixed].max(axis=1) - good[tuned],
                         "vs ce": good["ce"] - good[tuned]})


def selection_regret(table: pd.DataFrame, metric: str, fixed: list[str], *, n_perm: int = 20,
                     seed: int = 0) -> float:
    """Median regret (best of ``fixed`` in hindsight minus one of them) that noise alone makes:
    each loss's fit values centred on its own block mean (so no loss is better in truth), the
    residuals permuted among the losses within each (dataset, ratio, model, repeat, fold) and
    averaged per block, over ``n_perm`` permutations. The
    yardstick for ``tuned_loss``'s regret: picking the best of K noisy estimates has this regret
    against a loss equal to it. NaN without per-fit rows of at least two fixed losses."""
    split = [c for c in ("dataset", "imbalance_ratio", "model", "repeat", "fold", "repetition") if c in table]
    rows = table[(table["calibration"] == "raw") & (table["metric"] == metric) & table["method"].isin(fixed)]
    wide = rows.pivot_table(index=split, columns="method", values="value", aggfunc="mean").dropna()
    if wide.shape[1] < 2 or wide.empty:
        return float("nan")
    values = wide.to_numpy() * (1.0 if per_task.higher_is_better(metric) else -1.0)
    block = wide.index.droplevel([c for c in ("repeat", "fold", "repetition") if c in split])
    codes = pd.factorize(block)[0]
    values = values - pd.DataFrame(values).groupby(codes).transform("mean").to_numpy()  # residuals only
    n = np.bincount(codes)[codes][:, None]
    values = values * np.sqrt(n / np.maximum(n - 1, 1))  # centring on n fits shrinks their spread by (n−1)/n
    rng, medians = np.random.default_rng(seed), []
    for _ in range(n_perm):
        shuffled = pd.DataFrame(rng.permuted(values, axis=1)).groupby(codes).mean().to_numpy()
        medians.append(np.median(shuffled.max(axis=1) - shuffled[:, 0]))
    return float(np.mean(medians))


def budget_variants(methods) -> list[str]:
    """``tuned_loss`` and its budget variants: the methods whose key starts with ``tuned_loss``
    (e.g. labels ``tuned_loss_2x``, ``tuned_loss_4x`` with their own ``n_trials``)."""
    return [m for m in dict.fromkeys(methods) if str(m).startswith("tuned_loss")]


def budget_table(table: pd.DataFrame, fixed: list[str], variants: list[str],
                 trials: dict[str, int]) -> pd.DataFrame:
    """Regret of each ``tuned_loss`` budget variant, per metric, on the dataset×ratio blocks where
    every fixed loss and every variant ran (so the budgets are compared on the same blocks).

    Returns one row per (metric, variant): its ``trials`` (from the run's spec; "?" unknown),
    ``blocks``, median and mean regret against the best fixed loss in hindsight, median regret
    against ce (positive = the variant is worse), and the blocks where it is at least as good as
    the best fixed loss.
    """
    rows = []
    for metric in [m for m in REGRET_METRICS if m in set(table["metric"])]:
        means = stats.cell_means(table[table["method"].isin(fixed + variants)], metric)
        if means.empty or not set(variants) <= set(means):
            continue
        for variant in variants:
            regret = _regret(means, metric, fixed, variant)
            rows.append({"metric": metric, "method": variant, "trials": trials.get(variant, "?"), "blocks": len(means),
                         "median regret vs best fixed": regret["vs best fixed"].median(),
                         "mean regret vs best fixed": regret["vs best fixed"].mean(),
                         "median regret vs ce": regret["vs ce"].median(),
                         "blocks ≥ best fixed": f"{int((regret['vs best fixed'] <= 0).sum())} of {len(means)}"})
    return pd.DataFrame(rows)


def _budget_words(budget: pd.DataFrame) -> str:
    """One sentence on the first metric: regret at each budget, and whether more trials shrink it."""
    first = budget[budget["metric"] == budget["metric"].iloc[0]]
    at = ", ".join(f"{r['median regret vs best fixed']:+.4f} at {r['trials']} trials ({r['method']})"
                   for _, r in first.iterrows())
    low, high = first["median regret vs best fixed"].iloc[0], first["median regret vs best fixed"].iloc[-1]
    trend = "shrinks" if high < low else "does not shrink"
    return (f"tuned_loss budget: median regret on {first['metric'].iloc[0]} against the best fixed loss in "
            f"hindsight {at} over {first['blocks'].iloc[0]} dataset×ratio blocks: with more trials it {trend} "
            f"(against ce: {first['median regret vs ce'].iloc[0]:+.4f} → {first['median regret vs ce'].iloc[-1]:+.4f}).")


def _budget_lines(table: pd.DataFrame, fixed: list[str], trials: dict[str, int]) -> tuple[list[str], list[str]]:
    """The budget table and its sentence, when the results hold more than one ``tuned_loss`` budget."""
    variants = budget_variants(table["method"])
    if len(variants) < 2:
        return [], []
    variants = sorted(variants, key=lambda v: (trials.get(v) or 0, variants.index(v)))
    budget = budget_table(table, fixed, variants, trials)
    if budget.empty:
        return [], []
    md = ["### Regret against the trial budget", "",
          f"Does `tuned_loss`, which searches a larger space (the loss, then that loss's parameters), trail "
          f"the best fixed loss only for want of trials? The same regrets at each budget ({', '.join(variants)}), "
          "on the dataset×ratio blocks where all of them ran; positive = worse than the best fixed loss (or ce):", "",
          md_table(budget), ""]
    return md, [_budget_words(budget)]


def tuned_loss_section(table: pd.DataFrame, *, rope: float, seed: int,
                       trials: dict[str, int] | None = None) -> tuple[list[str], list[str]]:
    """"The loss as a hyperparameter": regret of ``tuned_loss`` and which losses it chose, and its
    regret at each trial budget when the results hold budget variants (``trials``: per method key,
    from the run's spec)."""
    title = ["## The loss as a hyperparameter", ""]
    if not {"tuned_loss", "ce"} <= set(table["method"]):
        return title + ["Skipped: needs `tuned_loss` and `ce` in the results.", ""], []
    plain = table[(table["sampler"].astype(str) == "none") & (table["method"] == table["loss"])]
    fixed = [m for m in dict.fromkeys(plain["method"]) if m not in budget_variants(plain["method"])]
    rows, words = [], []
    for metric in [m for m in REGRET_METRICS if m in set(table["metric"])]:
        means = stats.cell_means(table[table["method"].isin(fixed + ["tuned_loss"])], metric)
        if "tuned_loss" not in means or len(means) == 0:
            continue
        regret = _regret(means, metric, fixed)
        rows.append({"metric": metric, "blocks": len(means),
                     "median regret vs best fixed": regret["vs best fixed"].median(),
                     "max regret vs best fixed": regret["vs best fixed"].max(),
                     "median regret vs ce": regret["vs ce"].median(),
                     "selection regret of noise alone": selection_regret(table, metric, fixed, seed=seed)})
    md = title + [f"Regret = best fixed loss chosen per dataset×ratio block in hindsight (of {', '.join(fixed)}) minus "
                  "`tuned_loss`, in the metric's better-is-positive direction (0 = as good as the best). Beside it, "
                  "the regret that choosing the best of the fixed losses' noisy estimates makes on its own (their "
                  "fits permuted among them within each fold, so none is better in truth): a `tuned_loss` regret "
                  "near it is what selection on noise produces, not a worse choice of loss:", ""]
    if rows:
        md += [md_table(pd.DataFrame(rows)), ""]
        words.append(f"tuned_loss: median regret on {rows[0]['metric']} {rows[0]['median regret vs best fixed']:+.4f} "
                     f"against the best fixed loss in hindsight, {rows[0]['median regret vs ce']:+.4f} against ce.")
    budget_md, budget_words = _budget_lines(table, fixed, trials or {})
    return md + budget_md + _chosen_losses(table), words + budget_words


def _chosen_losses(table: pd.DataFrame) -> list[str]:
    """Which losses ``tuned_loss`` trained with (one count per split of a dataset×ratio block), by regime."""
    chosen = table[(table["method"] == "tuned_loss") & (table["calibration"] == "raw")]
    chosen = chosen.drop_duplicates(["dataset", "imbalance_ratio", "repetition"] +
                                    [c for c in ("fold", "model") if c in chosen])
    if "regime" not in chosen or chosen.empty:
        return []
    counts = chosen.groupby(["regime", "loss"]).size().unstack("loss", fill_value=0)
    return ["Losses `tuned_loss` trained with (one count per split of a dataset×ratio block), by regime:", "",
            md_table(counts.reset_index()), ""]


def _prediction_files(predictions: Path, table: pd.DataFrame) -> dict[tuple[str, str, str], Path]:
    """Stored predictions per (dataset, ratio, method), found by the names the run writes."""
    files = {}
    model = str(table["model"].iloc[0]) if "model" in table and len(table) else "mlp"
    for key in table[["dataset", "imbalance_ratio", "method"]].drop_duplicates().itertuples(index=False):
        file = prediction_file(predictions, slugify(key[0]), key[1], key[2], model)
        if file.exists():
            files[tuple(key)] = file
    return files


def smooth_ece_table(files: dict[tuple[str, str, str], Path]) -> pd.DataFrame:
    """smECE (``relplot.smECE``) per cell, method and calibration variant, mean over repetitions."""
    import relplot  # imports pyplot and seaborn: only when computed, never on import

    rows = []
    for (dataset, ratio, method), file in files.items():
        frame = pd.read_parquet(file)
        for variant in [v for v in VARIANTS if f"prob_{v}" in frame]:
            values = [float(relplot.smECE(rep[f"prob_{variant}"].to_numpy(np.float64), rep["y_true"].to_numpy()))
                      for _, rep in frame.groupby("repetition")]
            rows.append({"dataset": dataset, "imbalance_ratio": ratio, "method": method,
                         "calibration": variant, "smece": float(np.mean(values))})
    return pd.DataFrame(rows)


def _smooth_figures(files, table: pd.DataFrame, figdir: Path, figures: list[Path]) -> list[str]:
    """One smoothed reliability figure per dataset: CE raw, focal raw and focal closed-form."""
    chosen, md = figure_datasets(table)
    curves_of = (("ce", "raw"), ("focal", "raw"), ("focal", "closed_form"))
    for dataset in chosen:
        panels = []
        for ratio in dict.fromkeys(table.loc[table["dataset"] == dataset, "imbalance_ratio"]):
            curves = []
            for method, variant in curves_of:
                file = files.get((dataset, ratio, method))
                frame = pd.read_parquet(file) if file is not None else pd.DataFrame()
                if f"prob_{variant}" in frame:
                    curves.append((f"{method} {variant}", frame["y_true"].to_numpy(),
                                   frame[f"prob_{variant}"].to_numpy(np.float64)))
            if curves:
                panels.append((ratio, curves))
        if panels:
            fig = smooth_reliability_figure(panels, dataset, figdir / f"smooth_reliability_{slugify(dataset)}.png")
            figures.append(fig)
            md += [f"![smoothed reliability {dataset}](report/{fig.name})", ""]
    return md


SMOOTH_PAIRS = 40  # (dataset, ratio) pairs smECE reads at most: relplot takes tens of ms a call, 12 a file


def _smooth_subset(table: pd.DataFrame, seed: int = 0) -> tuple[pd.DataFrame, list[str]]:
    """All the table, or its rows of :data:`SMOOTH_PAIRS` (dataset, ratio) pairs drawn at random
    (seeded; every method of a pair kept, so the comparison stays paired) and a note saying so."""
    pairs = table[["dataset", "imbalance_ratio"]].drop_duplicates()
    if len(pairs) <= SMOOTH_PAIRS:
        return table, []
    chosen = pairs.sample(SMOOTH_PAIRS, random_state=seed)
    subset = table.merge(chosen, on=["dataset", "imbalance_ratio"])
    return subset, [f"On {SMOOTH_PAIRS} of the {len(pairs)} (dataset, ratio) pairs, drawn at random (seed {seed}); "
                    "binned ECE on the same pairs.", ""]


def smooth_ece_section(table: pd.DataFrame, results_dir: Path, figdir: Path, figures: list[Path]) -> list[str]:
    """Smooth ECE beside binned ECE per method × variant, and CE vs focal smoothed diagrams."""
    title = ["## Smooth calibration error", ""]
    table, note = _smooth_subset(table)
    files = _prediction_files(results_dir / "predictions", table)
    if not files:
        return title + ["Skipped: no stored predictions under `predictions/`.", ""]
    smooth = smooth_ece_table(files)
    binned = table[table["metric"] == "ece"].groupby(["method", "calibration"])["value"].mean()
    both = pd.DataFrame({"ECE (15 bins)": binned, "smECE": smooth.groupby(["method", "calibration"])["smece"].mean()})
    both = both.dropna().reset_index()
    md = title + ["smECE (Błasiok & Nakkiran 2023, `relplot`) replaces the bins by a Gaussian kernel of "
                  "self-chosen width: consistent, and free of the binning choice. Means over dataset×ratio blocks and "
                  "repetitions, beside binned ECE:", "", *note, md_table(both), ""]
    if {"ce", "focal"} <= set(table["method"]):
        md += _smooth_figures(files, table, figdir, figures)
    return md


THRESHOLD_AT_HALF = ("balanced_accuracy",)  # decided at 0.5: what a prior shift moves


def logit_adjusted_baseline_section(table: pd.DataFrame, *, rope: float, model: str | None = None) -> list[str]:
    """Threshold metrics at 0.5 against the baseline a careful reader asks for: ``ce`` with
    post-hoc logit adjustment (its ``logit_adjusted`` variant, Menon et al. 2021) instead of raw
    ``ce`` — re-weighting and resampling mostly move the threshold, which the adjustment does for
    free. Every other method raw; the same dataset-level rule, Holm over this table's comparisons."""
    from harness.report import effects

    if "logit_adjusted" not in set(table["calibration"]):
        return []  # results from before the variant
    rows = effects.with_defaults(table)
    rows = rows if "model" in rows else rows.assign(model="mlp")  # a table from before the model axis
    rows = rows[rows["metric"].isin(THRESHOLD_AT_HALF) & (rows["model"] != effects.ENSEMBLE)]
    adjusted = rows[(rows["method"] == "ce") & (rows["calibration"] == "logit_adjusted")].assign(calibration="raw")
    if adjusted.empty:
        return []
    others = rows[(rows["method"] != "ce") & (rows["calibration"] == "raw")]
    comp = effects.compare(pd.concat([others, adjusted]), rope=rope, metrics=list(THRESHOLD_AT_HALF)).table
    comp = comp[(comp["question"] == "loss") & (comp["scope"] == effects.ALL_RHO)]
    if comp.empty:
        return []
    cols = [c for c in ("family", "metric", "method", "datasets", "mu", "ci_low", "ci_high", "mde", "p_better",
                        "p_worse", "verdict") if c in comp]
    return [f"## Threshold metrics against CE with post-hoc logit adjustment (model `{model or 'mlp'}`)", "",
            "Balanced accuracy at the 0.5 threshold, each method raw against `ce` whose logits are shifted by "
            "−log(π / (1 − π)) of its training prior (Menon et al. 2021; the `logit_adjusted` variant): the baseline "
            "that moves the threshold as re-weighting and resampling do, at no cost. Positive = better than the "
            "adjusted `ce`; the same dataset-level rule, Holm over this table's comparisons:", "",
            md_table(comp[cols].reset_index(drop=True)), ""]
