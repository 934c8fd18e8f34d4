"""The verdict on one dataset: each method against ``ce`` over its cross-validation test folds,
with the Bayesian correlated t-test — what ``runner.py run --data`` prints.

Corani & Benavoli, "A Bayesian approach for comparing cross-validated algorithms on multiple data
sets", Machine Learning 100 (2015). The differences d_j = method − ce on the J = K·R test folds of
R repetitions of K-fold cross-validation are correlated (the training sets overlap), so the
posterior of the mean difference is Student's t with J − 1 degrees of freedom, location d̄ and
scale sqrt((1/J + ρ/(1 − ρ)) s²), with ρ = n_test / (n_train + n_test) (1/K: Nadeau & Bengio's
correction) and s² the sample variance of the d_j. This is ``baycomp.CorrelatedTTest``, whose
posterior (``baycomp.single.Posterior``) gives the probabilities here; the statistics are formed
from the folds' sizes, because baycomp infers ρ = 1/K from the number of scores, which a fold
left out as invalid would change.

The rule, one comparison at a time, with the ROPE ±0.01 of :data:`harness.report.effects.ROPE`:

- *better*: P(d > ROPE) ≥ 0.95; *worse*: P(d < −ROPE) ≥ 0.95;
- *equivalent*: P(|d| < ROPE) ≥ 0.95;
- otherwise *cannot resolve* when the 95 % interval of d is wider than the ROPE (2 × 0.01),
  else *undecided* (a narrow interval across the ROPE's edge).

Lower-is-better metrics (ECE) are turned around first: "better" means a lower value. Rows with
``valid == False`` (a fold the run marked unusable) are left out and counted.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
from baycomp.single import Posterior
from scipy import stats as sps

from harness.files import write_atomic
from harness.metrics import per_task
from harness.report.effects import ROPE, rope_width
from harness.report.decision import SHORT
from harness.store.results import read_table

#: the metrics of the verdict, ranking first (binary; multi-class: their counterparts)
METRICS = ("average_precision", "roc_auc", "f1_val_threshold", "mcc_val_threshold", "ece")
METRICS_MULTICLASS = ("average_precision_macro", "roc_auc_macro", "balanced_accuracy", "f1_macro", "top_label_ece")
BASELINE = "ce"
ENSEMBLE = "ensemble"  # the model key of the ensemble methods, compared within every other model
FOLD = ["repeat", "fold"]  # a test fold's coordinates in the results table
P_DECIDE = 0.95
LEVEL = 0.95  # of the interval of the mean difference
BETTER, WORSE, EQUIVALENT, UNDECIDED, UNRESOLVED = "better", "worse", "equivalent", "undecided", "cannot resolve"
COLUMNS = ["model", "metric", "method", "folds", "left_out", "rho", "rope", "diff", "ci_low", "ci_high",
           "p_worse", "p_equivalent", "p_better", "mde", "verdict"]
FILE = "verdict.md"


def correlated_t(diff: np.ndarray, rho: float) -> tuple[float, float, int]:
    """``(mean, variance, df)`` of the correlated t-test's posterior of the mean difference.

    Parameters
    ----------
    diff : ndarray of shape (J,)
        Per-fold differences (method − baseline), J ≥ 2.
    rho : float in [0, 1)
        Correlation of the folds' scores, n_test / (n_train + n_test).
    """
    n = len(diff)
    return float(np.mean(diff)), float((1 / n + rho / (1 - rho)) * np.var(diff, ddof=1)), n - 1


def compare(diff: np.ndarray, rho: float, rope: float) -> dict[str, float | str]:
    """One method against the baseline from its per-fold differences, oriented so that positive
    is better: the mean, its 95 % interval, the three probabilities, the verdict, and ``mde``, the
    smallest mean difference that would be called better at this scale (ROPE + t₀.₉₅ · scale)."""
    if len(diff) < 2:
        nan = float("nan")
        return {"diff": float(np.mean(diff)) if len(diff) else nan, "ci_low": nan, "ci_high": nan, "p_worse": nan,
                "p_equivalent": nan, "p_better": nan, "mde": nan, "verdict": UNRESOLVED}
    mean, var, df = correlated_t(diff, rho)
    worse, equivalent, better = Posterior(mean, var, df, rope).probs()
    scale = np.sqrt(var)
    low, high = (mean, mean) if var == 0 else sps.t.interval(LEVEL, df, loc=mean, scale=scale)
    out = {"diff": mean, "ci_low": float(low), "ci_high": float(high), "p_worse": float(worse),
           "p_equivalent": float(equivalent), "p_better": float(better),
           "mde": float(rope + sps.t.ppf(P_DECIDE, df) * scale)}
    return out | {"verdict": _verdict(out, rope)}


def _verdict(c: dict, rope: float) -> str:
    if c["p_better"] >= P_DECIDE:
        return BETTER
    if c["p_worse"] >= P_DECIDE:
        return WORSE
    if c["p_equivalent"] >= P_DECIDE:
        return EQUIVALENT
    return UNDECIDED if c["ci_high"] - c["ci_low"] <= 2 * rope else UNRESOLVED


def model_rows(table: pd.DataFrame, model: str | None = None) -> tuple[pd.DataFrame, str | None]:
    """The rows of ``model`` (default: the first that is not the ensembles') with the ensemble
    methods' rows, and the model's name (None: the table names no model)."""
    if "model" not in table:
        return table, None
    if model is None:
        models = [m for m in dict.fromkeys(table["model"]) if m != ENSEMBLE]
        model = str(models[0]) if models else ENSEMBLE
    return table[table["model"].isin([model, ENSEMBLE])], model


def _valid(rows: pd.DataFrame) -> pd.Series:
    """True where a row counts: no ``valid`` column, or ``valid`` true (read back as bool or text)."""
    if "valid" not in rows:
        return pd.Series(True, index=rows.index)
    return rows["valid"].map(lambda v: str(v).strip().lower() in ("true", "1", "1.0"))


def _rho(baseline_rows: pd.DataFrame) -> pd.Series:
    """Per test fold ρ = n_test / (n_train + n_test) of the baseline's rows (its training set is
    the fold's, not a resampled one); 1/K per fold where the table does not hold the sizes."""
    first = baseline_rows.groupby(FOLD).first()
    if {"n_train", "n_test"} <= set(first.columns):
        return (first["n_test"] / (first["n_train"] + first["n_test"])).astype(float)
    return pd.Series(1 / baseline_rows["fold"].nunique(), index=first.index)


def verdicts(table: pd.DataFrame, metric: str, *, model: str | None = None, baseline: str = BASELINE,
             calibration: str = "raw", rope: float = ROPE) -> pd.DataFrame:
    """Each method against ``baseline`` on ``metric`` over the test folds of one dataset.

    Parameters
    ----------
    table : DataFrame
        Results rows of one dataset and ratio with the per-fold columns ``repeat, fold, n_train,
        n_test`` and ``valid`` (rows with ``valid`` false are left out).
    metric : str
        Metric name; its direction comes from the metric registry.
    model : str, optional
        The model whose methods are compared (default: the first; the ensembles join every model).
    baseline, calibration : str, default "ce", "raw"
        The method compared against, and the calibration variant whose scores are compared.
    rope : float, default 0.01
        Half-width of the region of practical equivalence (relative on log loss, see
        :func:`harness.report.effects.rope_width`); must be > 0.

    Returns
    -------
    DataFrame
        One row per method: :data:`COLUMNS`. ``diff, ci_low, ci_high`` are method − baseline in the
        metric's units (negative is better on ECE); ``p_*`` are oriented (``p_better``: the method
        is better); ``folds`` compared, ``left_out`` folds (invalid or unscored on either side);
        ``mde`` the smallest |difference| this many folds could call better or worse.
    """
    if not rope > 0:
        raise ValueError(f"rope: expected a width > 0, got {rope}")
    rows, model = model_rows(table, model)
    rows = rows[(rows["metric"] == metric) & (rows["calibration"] == calibration)]
    if baseline not in set(rows["method"]):
        return pd.DataFrame(columns=COLUMNS)
    wide = rows.assign(value=rows["value"].where(_valid(rows))).groupby(FOLD + ["method"])["value"].mean()
    wide = wide.unstack("method")
    sign = 1.0 if per_task.higher_is_better(metric) else -1.0
    width = rope_width(metric, wide[baseline].dropna().to_numpy(), rope)
    rho = _rho(rows[rows["method"] == baseline])
    out = []
    for method in [m for m in dict.fromkeys(rows["method"]) if m != baseline]:
        pair = wide[[baseline, method]].dropna()
        r = float(rho.reindex(pair.index).mean()) if len(pair) else float("nan")
        c = compare(sign * (pair[method] - pair[baseline]).to_numpy(), r, width)
        low, high = sorted((sign * c["ci_low"], sign * c["ci_high"]))
        out.append({"model": model, "metric": metric, "method": method, "folds": len(pair),
                    "left_out": len(wide) - len(pair), "rho": r, "rope": width,
                    **c, "diff": sign * c["diff"], "ci_low": low, "ci_high": high})
    return pd.DataFrame(out, columns=COLUMNS)


def _effect(row, lower: bool = False) -> str:
    return (f"{row.diff:+.3f} [{row.ci_low:+.3f}, {row.ci_high:+.3f}]"
            + (" (lower is better)" if lower else ""))


def verdict_lines(table: pd.DataFrame, metric: str, *, model: str | None = None, baseline: str = BASELINE,
                  calibration: str = "raw", rope: float = ROPE) -> list[str]:
    """The verdict of :func:`verdicts` in words, effect and interval first, probability second:
    a line per method that beats or trails ``baseline``; one line when every method is
    equivalent; otherwise one line each for the equivalent, the undecided and those the folds
    cannot resolve (with the smallest difference they could call); one for folds left out."""
    v = verdicts(table, metric, model=model, baseline=baseline, calibration=calibration, rope=rope)
    name = SHORT.get(metric, metric)
    if v.empty:
        return [f"on {name}: no per-fold scores of {baseline} and another method to compare"]
    band, lower = f"±{v['rope'].iloc[0]:.2g}", not per_task.higher_is_better(metric)
    if (v["verdict"] == EQUIVALENT).all():
        return [(f"no method differs from {baseline} by more than {band} on {name} "
                 f"(P(equivalent) ≥ {P_DECIDE} for each of the {len(v)} methods)"), *_left_out(v, name)]
    by = {k: v[v["verdict"] == k] for k in (BETTER, WORSE, EQUIVALENT, UNDECIDED, UNRESOLVED)}
    out = [f"on your data, {r.method} beats {baseline} on {name} by {_effect(r, lower)}, P(better) = {r.p_better:.2f}"
           for r in by[BETTER].itertuples()]
    out += [f"on your data, {r.method} is worse than {baseline} on {name} by {_effect(r, lower)}, "
            f"P(worse) = {r.p_worse:.2f}" for r in by[WORSE].itertuples()]
    if len(by[EQUIVALENT]):
        out.append(f"within {band} of {baseline} on {name} (P(equivalent) ≥ {P_DECIDE}): "
                   + ", ".join(by[EQUIVALENT]["method"]))
    if len(by[UNDECIDED]):
        out.append(f"undecided on {name} (interval across the edge of {band}): " + "; ".join(
            f"{r.method} {_effect(r)}, P(better) = {r.p_better:.2f}, P(equivalent) = {r.p_equivalent:.2f}"
            for r in by[UNDECIDED].itertuples()))
    if len(by[UNRESOLVED]):
        folds, mde = int(by[UNRESOLVED]["folds"].max()), by[UNRESOLVED]["mde"].min()
        out.append(f"cannot resolve {band} on {name} with {folds} test folds for "
                   + "; ".join(f"{r.method} {_effect(r)}" for r in by[UNRESOLVED].itertuples())
                   + (f": only a difference of about {mde:.2f} or more could be called here" if np.isfinite(mde) else ""))
    return out + _left_out(v, name)


def _left_out(v: pd.DataFrame, name: str) -> list[str]:
    short = v[v["left_out"] > 0]
    if short.empty:
        return []
    return [f"left out on {name} (a fold marked invalid, or unscored): "
            + ", ".join(f"{r.method} {r.left_out} of {r.folds + r.left_out} folds" for r in short.itertuples())]


def metrics_of(table: pd.DataFrame) -> list[str]:
    """The verdict's metrics (:data:`METRICS`, or :data:`METRICS_MULTICLASS` on multi-class rows)
    that the table holds."""
    multi = "n_classes" in table and bool((table["n_classes"] > 2).any())
    present = set(table["metric"])
    return [m for m in (METRICS_MULTICLASS if multi else METRICS) if m in present]


def applies(table: pd.DataFrame) -> bool:
    """Whether the table holds per-fold scores of one dataset at one ratio, which the verdict needs."""
    if not set(FOLD) <= set(table.columns) or table["fold"].isna().all():
        return False
    return len(table[["dataset", "imbalance_ratio"]].drop_duplicates()) == 1


def summary_lines(table: pd.DataFrame, *, model: str | None = None, baseline: str = BASELINE,
                  rope: float = ROPE) -> list[str]:
    """The verdict on every metric of :func:`metrics_of`, after a line counting the comparisons
    (with many, a P ≥ 0.95 by chance is plausible)."""
    metrics = metrics_of(table)
    rows, model = model_rows(table, model)
    methods = [m for m in dict.fromkeys(rows["method"]) if m != baseline]
    n = len(methods) * len(metrics)
    out = [f"{_count(len(methods), 'method')} compared with {baseline} on {_count(len(metrics), 'metric')}"
           + (f" (model {model})" if model and model != ENSEMBLE else "")
           + f": {n} comparisons at P ≥ {P_DECIDE}, so even if no method differed, up to about {n / 20:.1f} "
           "chance decisions among them are plausible"]
    for metric in metrics:
        out += verdict_lines(table, metric, model=model, baseline=baseline, rope=rope)
    return out


def _count(n: int, noun: str) -> str:
    return f"{n} {noun}" + ("" if n == 1 else "s")


def section(table: pd.DataFrame, *, rope: float = ROPE) -> list[str]:
    """The report's section "On your data" (Markdown lines); empty when :func:`applies` is false."""
    return _markdown(table, summary_lines(table, rope=rope), rope) if applies(table) else []


def _markdown(table: pd.DataFrame, lines: list[str], rope: float) -> list[str]:
    folds = table[FOLD].dropna().drop_duplicates()
    return ["## On your data", "",
            (f"Each method against {BASELINE} over the {len(folds)} test folds of {table['dataset'].iloc[0]} "
             f"(Bayesian correlated t-test, Corani & Benavoli 2015; ROPE ±{rope:.2g}; a decision needs "
             f"P ≥ {P_DECIDE}; differences are method − {BASELINE} with their 95 % interval):"), "",
            *[f"- {line}" for line in lines], ""]


def write_verdict(results_dir: Path) -> tuple[list[str], Path]:
    """``<results_dir>/verdict.md`` from the folder's results table; returns its lines (without
    the Markdown) and its path. A table without per-fold scores of one dataset gets one line
    saying so."""
    table = read_table(results_dir)
    if applies(table):
        lines = summary_lines(table)
        text = "\n".join(_markdown(table, lines, ROPE))
    else:
        lines = [(f"no verdict: {results_dir.name} holds no per-fold scores of one dataset "
                  "(they come from evaluation.protocol: cv)")]
        text = lines[0]
    return lines, write_atomic(results_dir / FILE, lambda tmp: tmp.write_text(text + "\n"))
