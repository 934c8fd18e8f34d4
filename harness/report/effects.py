"""Each method against a baseline with the dataset as the unit: per-dataset effects with the
Nadeau–Bengio corrected variance, a random-effects meta-analysis across datasets, and verdicts
that claim only what the evidence carries.

One *comparison* is (question, task, model family, metric, method, baseline, scope); a *scope* is
all ratios or one ρ bucket. For it:

1. **Paired differences** d = sign·(method − baseline) per (dataset, ratio, repeat, fold) where
   both have a valid value (sign flips lower-is-better metrics: positive = better).
2. **The dataset's effect** θ_d = mean over its ratios (in the scope) of the mean over folds.
   Its variance is Nadeau & Bengio's (Machine Learning 52, 2003) corrected resampled variance of
   the *ratio-averaged* differences a_j = mean_r d_{r,j} of the J (repeat, fold) units present at
   every ratio: v_d = (1/J + n_test/n_train)·s²(a). Averaging within a unit first lets the
   sample variance see whatever correlation the ratios of one dataset share (they share its
   population), instead of assuming them independent (var/R, anti-conservative) or perfectly
   correlated. n_test/n_train is the mean over the fold results (training rows include
   validation); where the table does not record them, :data:`TEST_OVER_TRAIN` (a 60/20/20 split).
   s² from 3 or 5 splits is itself noisy, and inverse-variance weights built on it let a few
   datasets whose s² came out small by chance carry the estimate (measured on null tables: a
   t-tail 10× too heavy at 0.1 %). So s² is moderated towards the comparison's median s₀² with
   :data:`PRIOR_DF` prior degrees of freedom (Smyth 2004, the moderated t); a dataset with one
   split (J = 1, no within variance) gets s₀². Where no dataset has two splits, every dataset
   gets equal weight and the spread of their effects alone carries the uncertainty (a
   one-sample t over datasets).
3. **Random effects across datasets**: DerSimonian–Laird τ² (closed form, so thousands of
   comparisons and null simulations stay vectorised; checked against
   ``statsmodels.stats.meta_analysis.combine_effects(..., method_re="dl")``), and μ's standard
   error by Hartung–Knapp (statsmodels' ``sd_eff_w_re_hksj``), referred to a t with k − 1 df:
   with few datasets DL's own normal interval is too narrow (IntHout et al. 2014). On null
   tables the resulting one-sided p-values are calibrated down to 0.1 % (benchmarks/perf/null_tables.py).
4. **Probabilities** P(μ > ROPE), P(|μ| < ROPE), P(μ < −ROPE) from that t (a flat-prior reading
   of μ's sampling distribution), and the predictive P(next dataset's effect > ROPE) from
   t_{k−2}(μ, SE² + τ²) (Higgins, Thompson & Spiegelhalter 2009). MDE = (z₀.₉₅ + z₀.₈₀)·SE.
5. **Verdicts** (:func:`verdicts`): Holm's correction over every comparison of the report on the
   one-sided p-values 1 − P(·), then better / worse / cannot resolve / equivalent / not shown.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field

import numpy as np
import pandas as pd
from scipy import stats as sps
from statsmodels.stats.multitest import multipletests

from harness.metrics import per_task
from harness.vocabulary import FAMILIES, FAMILIES_MULTICLASS, NO_LOSS

ROPE = 0.01  # on metrics in [0, 1]: differences of at most one point are practically nothing
RELATIVE_ROPE = frozenset({"log_loss"})  # unbounded: the rope is ROPE × the baseline's median value
P_DECIDE = 0.95
MIN_DATASETS = 5  # below this τ² (and so μ's interval) is not worth a verdict
TEST_OVER_TRAIN = 0.2 / 0.8  # n_test / n_train of a 60/20/20 split, training rows incl. validation
PRIOR_DF = 4  # d₀ of the variance moderation: one 5-fold dataset's worth of degrees of freedom
SATURATED = 0.99  # every method's block mean at or above this on a higher-is-better metric
Z_MDE = float(sps.norm.ppf(0.95) + sps.norm.ppf(0.80))
BASELINE = "ce"
ENSEMBLE = "ensemble"
ALL_RHO = "all ρ"
PLAIN = {"balanced_random_forest": "random_forest", "easy_ensemble": "bagging", "balanced_bagging": "bagging"}
SPLIT = ["repeat", "fold"]
KEYS = ["question", "task", "family", "metric", "method", "baseline", "scope"]
REPRODUCTION = "reproduction.json"  # what a re-run on another machine reproduced (benchmarks/reproduce.py)
COMPARISONS = "comparisons.csv"  # every decided comparison of a report, under its report/ folder
POSTHOC = "temperature"  # the common post-hoc calibration every method's probabilities are also judged after
POSTHOC_METRICS = frozenset(FAMILIES["probabilities"]) | frozenset(FAMILIES_MULTICLASS["probabilities"])
VERDICTS = ("better", "worse", "cannot resolve", "equivalent", "not shown", "too few")


def rope_width(metric: str, baseline_values: np.ndarray, rope: float = ROPE) -> float:
    """The ROPE of ``metric`` in its own units: ``rope`` on [0, 1] metrics, ``rope`` × the
    baseline's median |value| on :data:`RELATIVE_ROPE` (unbounded) ones."""
    if metric in RELATIVE_ROPE:
        return float(rope * np.median(np.abs(baseline_values)))
    return float(rope)


def with_defaults(table: pd.DataFrame) -> pd.DataFrame:
    """``table`` with the fold columns a holdout table lacks: ``repeat`` = ``repetition``,
    ``fold`` = 0, ``valid`` = True, ``n_train`` / ``n_test`` unknown (NaN)."""
    add = {}
    if "repeat" not in table:
        add["repeat"] = table.get("repetition", 0)
    if "fold" not in table:
        add["fold"] = 0
    if "valid" not in table:
        add["valid"] = True
    for column in ("n_train", "n_test"):
        if column not in table:
            add[column] = np.nan
    return table.assign(**add) if add else table


def _valid(column: pd.Series) -> np.ndarray:
    """``valid`` as booleans: True/False, their spellings as text ("False", "false", "0"), and a
    missing value (a row from before the column) as valid, as a holdout table's rows are."""
    if column.dtype == bool:
        return column.to_numpy()
    text = column.astype(str).str.strip().str.lower()
    return ~text.isin(["false", "0", "0.0", "no"]).to_numpy()


def prepare(table: pd.DataFrame, *, calibration: str = "raw", metrics=None) -> pd.DataFrame:
    """The rows the comparisons read, one per fold result: ``task, family, method, arm, dataset,
    ratio, rho, metric, repeat, fold, value, valid, c`` (c = n_test/n_train, NaN unknown).

    ``family`` is the model family: ``ensemble`` for the ensembles (model ``ensemble`` or loss
    ``none``: their own learner), else ``model``; ``rho`` is the ρ bucket (``decision.with_regimes``).
    """
    t = with_defaults(table)
    t = t[t["calibration"] == calibration] if "calibration" in t else t
    if metrics is not None:
        t = t[t["metric"].isin(list(metrics))]
    model = t["model"].astype(str) if "model" in t else pd.Series("spec model", index=t.index)
    ensemble = model == ENSEMBLE
    if "loss" in t:
        ensemble |= t["loss"].astype(str) == NO_LOSS
    if "task" in t:
        task = t["task"].astype(str).to_numpy()
    else:
        task = np.where(t["n_classes"] > 2 if "n_classes" in t else False, "multi-class", "binary")
    return pd.DataFrame({
        "task": task, "family": np.where(ensemble, ENSEMBLE, model),
        "method": t["method"].astype(str).to_numpy(), "dataset": t["dataset"].astype(str).to_numpy(),
        "ratio": t["imbalance_ratio"].astype(str).to_numpy(),
        "rho": t["rho"].astype(str).to_numpy() if "rho" in t else "ρ unknown",
        "metric": t["metric"].to_numpy(), "repeat": t["repeat"].to_numpy(), "fold": t["fold"].to_numpy(),
        "value": t["value"].to_numpy(float), "valid": _valid(t["valid"]),
        "c": (t["n_test"] / t["n_train"]).to_numpy(float)})


def _wide(rows: pd.DataFrame, group: list[str]) -> pd.DataFrame:
    """Valid values, index ``group`` + (dataset, ratio, rho, repeat, fold), one column per arm."""
    index = group + ["dataset", "ratio", "rho"] + SPLIT
    valid = rows[rows["valid"]]
    wide = valid.groupby(index + ["arm"], sort=False, observed=True)["value"].mean().unstack("arm")
    c = valid.groupby(index, sort=False)["c"].mean()
    return wide.assign(_c=c.reindex(wide.index).to_numpy())


def _saturated(wide: pd.DataFrame, arms: list[str]) -> pd.Series:
    """Per row: its (group, dataset, ratio) block has every arm's mean ≥ :data:`SATURATED` on a
    higher-is-better metric."""
    block = [n for n in wide.index.names if n not in SPLIT]
    means = wide[arms].groupby(level=block, sort=False).mean()
    higher = means.index.get_level_values("metric").map(per_task.higher_is_better).to_numpy(bool)
    sat = pd.Series((means.min(axis=1) >= SATURATED).to_numpy() & higher, index=means.index)
    return sat.reindex(wide.index.droplevel(SPLIT)).set_axis(wide.index)


def _pairs_of(rows: pd.DataFrame, group: list[str], pairs: list[tuple[str, str]], question: str):
    """Paired differences of ``pairs`` (arm, baseline arm) within ``group``, and the counts of
    what was left out: saturated blocks, blocks where the baseline ran and the arm did not."""
    wide = _wide(rows, group)
    arms = [a for a in wide.columns if a != "_c"]
    sat = _saturated(wide, arms)
    ran = rows.groupby(group + ["dataset", "ratio", "arm"], sort=False).size().unstack("arm").notna()
    frames, missing = [], 0
    for arm, base in pairs:
        if arm not in wide or base not in wide:
            continue
        missing += int((ran[base] & ~ran[arm] & ran[arm].groupby(level=group).transform("any")).sum())
        keep = wide[arm].notna() & wide[base].notna() & ~sat
        sub = wide.loc[keep, [arm, base, "_c"]]
        frames.append(pd.DataFrame({"method": arm, "baseline": base, "raw_arm": sub[arm].to_numpy(),
                                    "base_value": sub[base].to_numpy(), "c": sub["_c"].to_numpy()},
                                   index=sub.index).reset_index())
    counts = {"saturated": int(sat.groupby(level=[n for n in wide.index.names if n not in SPLIT]).first().sum()),
              "missing": missing}
    if not frames:
        return pd.DataFrame(), counts
    out = pd.concat(frames, ignore_index=True).assign(question=question)
    sign = out["metric"].map({m: 1.0 if per_task.higher_is_better(m) else -1.0 for m in out["metric"].unique()})
    out["d"] = sign * (out.pop("raw_arm") - out["base_value"])
    return out, counts


def loss_differences(rows: pd.DataFrame, baseline: str = BASELINE):
    """The loss question: each method against ``baseline`` within its own model family (the
    ensembles, their own learner, stay out)."""
    rows = rows[rows["family"] != ENSEMBLE].assign(arm=lambda r: r["method"])
    pairs = [(m, baseline) for m in dict.fromkeys(rows["method"]) if m != baseline]
    return _pairs_of(rows, ["task", "family", "metric"], pairs, "loss")


def reference_arm(rows: pd.DataFrame) -> str:
    """The model question's baseline: the MLP's ce (else the first model's)."""
    families = [f for f in dict.fromkeys(rows["family"]) if f != ENSEMBLE]
    return f"{'mlp' if 'mlp' in families else (families or ['mlp'])[0]} · {BASELINE}"


def model_differences(rows: pd.DataFrame, baseline: str = BASELINE):
    """The model question: each ensemble and each other model's ``baseline`` against the MLP's
    ``baseline``, and each balanced ensemble against its plain counterpart (:data:`PLAIN`)."""
    rows = rows[(rows["family"] == ENSEMBLE) | (rows["method"] == baseline)]
    rows = rows.assign(arm=rows["family"] + " · " + rows["method"])
    ref = reference_arm(rows)
    arms = [a for a in dict.fromkeys(rows["arm"]) if a != ref]
    pairs = [(a, ref) for a in arms]
    pairs += [(f"{ENSEMBLE} · {b}", f"{ENSEMBLE} · {p}") for b, p in PLAIN.items() if f"{ENSEMBLE} · {b}" in arms]
    out, counts = _pairs_of(rows.assign(family="models"), ["task", "family", "metric"], pairs, "model")
    return out, counts


def dataset_effects(diffs: pd.DataFrame) -> pd.DataFrame:
    """One row per comparison (:data:`KEYS`) × dataset, over all ratios (scope :data:`ALL_RHO`)
    and per ρ bucket: ``theta`` (mean over ratios of the mean over folds), ``s2`` (sample variance
    of the ratio-averaged unit differences, NaN with J < 2), ``J`` (complete repeat × fold units),
    ``c`` (n_test/n_train, NaN unknown), ``ratios``, ``folds`` (paired fold values) and ``base``
    (the baseline's mean, which scales a relative ROPE)."""
    scoped = pd.concat([diffs.assign(scope=ALL_RHO), diffs.assign(scope=diffs["rho"])], ignore_index=True)
    g = KEYS + ["dataset"]
    per_ratio = scoped.groupby(g + ["ratio"], sort=False).agg(d=("d", "mean"), base=("base_value", "mean"),
                                                             folds=("d", "size"))
    out = per_ratio.groupby(level=g, sort=False).agg(theta=("d", "mean"), ratios=("d", "size"),
                                                     base=("base", "mean"), folds=("folds", "sum"))
    units = scoped.groupby(g + SPLIT, sort=False).agg(a=("d", "mean"), n=("d", "size"), c=("c", "mean"))
    need = out["ratios"].reindex(units.index.droplevel(SPLIT)).to_numpy()
    complete = units[units["n"].to_numpy() == need]
    spread = complete.groupby(level=g, sort=False).agg(s2=("a", "var"), J=("a", "size"), c=("c", "mean"))
    out = out.join(spread)
    out["J"] = out["J"].fillna(0).astype(int)
    return out.reset_index()


def within_variances(ds: pd.DataFrame) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Per row of :func:`dataset_effects` the Nadeau–Bengio variance (1/J + c)·s̃² of the dataset's
    effect, with s² moderated towards its comparison's median s₀² over datasets with J ≥ 2:
    s̃² = ((J−1)s² + d₀s₀²)/(J−1+d₀), d₀ = :data:`PRIOR_DF` (Smyth 2004). A dataset with J < 2 gets
    s₀² itself; NaN where no dataset of the comparison has J ≥ 2; c unknown: :data:`TEST_OVER_TRAIN`.
    Returns (v, one-split mask, fallback-c mask)."""
    gid = ds.groupby(KEYS, sort=False).ngroup().to_numpy()
    s2, J = ds["s2"].to_numpy(float), ds["J"].to_numpy()
    own = (J >= 2) & np.isfinite(s2)
    median = pd.Series(np.where(own, s2, np.nan)).groupby(gid).transform("median").to_numpy()
    df = np.where(own, J - 1, 0)
    moderated = (df * np.where(own, s2, 0.0) + PRIOR_DF * median) / (df + PRIOR_DF)
    c = ds["c"].to_numpy(float)
    fallback = ~np.isfinite(c)
    v = (1.0 / np.maximum(J, 1) + np.where(fallback, TEST_OVER_TRAIN, c)) * moderated
    return v, ~own, fallback


def random_effects(theta: np.ndarray, v: np.ndarray, gid: np.ndarray) -> dict[str, np.ndarray]:
    """DerSimonian–Laird random-effects means with Hartung–Knapp standard errors, for many
    meta-analyses at once.

    Parameters
    ----------
    theta, v : ndarray of shape (n,)
        Each study's (dataset's) effect and its within variance; a group whose ``v`` are all NaN
        gets equal weights and τ² = the sample variance of its effects (a one-sample t).
    gid : ndarray of int, shape (n,)
        The meta-analysis (0 … G−1) each study belongs to.

    Returns
    -------
    dict of ndarray of shape (G,)
        ``k`` (studies), ``mu`` (Σw*θ/Σw*, w* = 1/(v + τ²)), ``tau2`` (DL:
        max(0, (Q − (k−1)) / (Σw − Σw²/Σw)), Q = Σw(θ − θ̄_FE)², w = 1/v) and ``se``
        (Hartung–Knapp: √(Σw*(θ − μ)² / ((k−1)Σw*))).
    """
    n = int(gid.max()) + 1 if len(gid) else 0
    total = lambda x: np.bincount(gid, weights=x, minlength=n)
    k = np.bincount(gid, minlength=n).astype(float)
    equal = total(np.isnan(v)) == k
    v = np.where(np.isnan(v), 0.0, np.maximum(v, 1e-12))
    w = 1.0 / np.where(equal[gid], 1.0, v)
    fixed = total(w * theta) / total(w)
    q_stat = total(w * (theta - fixed[gid]) ** 2)
    with np.errstate(divide="ignore", invalid="ignore"):
        dl = np.maximum(0.0, (q_stat - (k - 1)) / (total(w) - total(w * w) / total(w)))
        tau2 = np.where(equal, q_stat / np.maximum(k - 1, 1), dl)
        star = 1.0 / np.maximum(v + tau2[gid], 1e-12)
        mu = total(star * theta) / total(star)
        se = np.sqrt(total(star * (theta - mu[gid]) ** 2) / (np.maximum(k - 1, 1) * total(star)))
    return {"k": k, "mu": mu, "tau2": tau2, "se": se}


def meta_analysis(ds: pd.DataFrame, *, rope: float = ROPE) -> pd.DataFrame:
    """Random-effects meta-analysis per comparison over its datasets (module docstring, steps 3–4).

    Parameters
    ----------
    ds : DataFrame
        :func:`dataset_effects`' rows.
    rope : float, default 0.01
        ROPE on [0, 1] metrics; relative (× the baseline's median over datasets) on :data:`RELATIVE_ROPE`.

    Returns
    -------
    DataFrame
        One row per comparison: :data:`KEYS`, ``datasets`` (k), ``blocks`` (dataset × ratio),
        ``folds`` (paired fold values), ``one_split`` (datasets with one split), ``c_fallback``
        (datasets whose n_test/n_train is unknown), ``mu``, ``se``, ``ci_low``, ``ci_high``
        (95 %, t_{k−1}), ``tau2``, ``rope``, ``mde``, ``p_better``, ``p_equivalent``,
        ``p_worse``, ``p_next`` (the next dataset's effect > ROPE).
    """
    gid = ds.groupby(KEYS, sort=False).ngroup().to_numpy()
    total = lambda x: np.bincount(gid, weights=x)
    v, one_split, fallback = within_variances(ds)
    re = random_effects(ds["theta"].to_numpy(float), v, gid)
    first = ds.drop_duplicates(subset=KEYS)  # ngroup numbers groups in order of first appearance
    out = first[KEYS].reset_index(drop=True).assign(
        datasets=re["k"].astype(int), blocks=total(ds["ratios"].to_numpy(float)).astype(int),
        folds=total(ds["folds"].to_numpy(float)).astype(int), one_split=total(one_split).astype(int),
        c_fallback=total(fallback).astype(int), mu=re["mu"], se=re["se"], tau2=re["tau2"])
    base = pd.Series(ds["base"].abs().to_numpy()).groupby(gid).median().to_numpy()
    out["rope"] = np.where(out["metric"].isin(RELATIVE_ROPE), rope * base, rope)
    return _probabilities(out)


def _probabilities(out: pd.DataFrame) -> pd.DataFrame:
    """Interval, MDE and the probabilities of step 4 from ``mu, se, tau2, rope, datasets``."""
    k, mu, se, rope = out["datasets"].to_numpy(float), out["mu"], out["se"], out["rope"]
    df = np.maximum(k - 1, 1)
    half = sps.t.ppf(0.975, df) * se
    with np.errstate(divide="ignore", invalid="ignore"):
        better = sps.t.sf((rope - mu) / se, df)
        worse = sps.t.cdf((-rope - mu) / se, df)
        nxt = sps.t.sf((rope - mu) / np.sqrt(se ** 2 + out["tau2"]), np.maximum(k - 2, 1))
    return out.assign(ci_low=mu - half, ci_high=mu + half, mde=Z_MDE * se, p_better=better,
                      p_equivalent=np.clip(1 - better - worse, 0, 1), p_worse=worse, p_next=nxt)


def verdicts(comp: pd.DataFrame, *, level: float = P_DECIDE, min_datasets: int = MIN_DATASETS) -> pd.DataFrame:
    """``comp`` with Holm-adjusted p-values and a ``verdict`` per comparison.

    Holm's step-down runs over every comparison of ``comp`` with at least ``min_datasets``
    datasets (the whole report: all regimes, methods, metrics and questions): once over the
    directional claims (H: μ ≤ ROPE and H: μ ≥ −ROPE, p = 1 − P(better) and 1 − P(worse)), once
    over the equivalence claims (p = 1 − P(|μ| < ROPE), at least TOST's p). Verdicts, in order:
    ``too few`` (k < ``min_datasets``), ``better`` / ``worse`` (Holm-adjusted p ≤ 1 − ``level``),
    ``cannot resolve`` (MDE > ROPE: no claim of no difference), ``equivalent``, ``not shown``.
    """
    out = comp.copy()
    tested = (out["datasets"] >= min_datasets).to_numpy()
    alpha = 1 - level
    for name in ("holm_better", "holm_worse", "holm_equivalent"):
        out[name] = np.nan
    if tested.any():
        sub = out[tested]
        directional = np.concatenate([1 - sub["p_better"].to_numpy(), 1 - sub["p_worse"].to_numpy()])
        adjusted = multipletests(np.clip(directional, 0, 1), method="holm")[1]
        out.loc[tested, "holm_better"], out.loc[tested, "holm_worse"] = np.split(adjusted, 2)
        out.loc[tested, "holm_equivalent"] = multipletests(np.clip(1 - sub["p_equivalent"].to_numpy(), 0, 1),
                                                           method="holm")[1]
    kind = np.select([~tested, out["holm_better"] <= alpha, out["holm_worse"] <= alpha, out["mde"] > out["rope"],
                      out["holm_equivalent"] <= alpha],
                     ["too few", "better", "worse", "cannot resolve", "equivalent"], "not shown")
    return out.assign(verdict=kind)


@dataclass
class Evidence:
    """What :func:`compare` found: one row per comparison (``table``), per comparison × dataset
    (``datasets``), what was left out of the verdicts (``counts``), and the loss question on the
    probability metrics after the common post-hoc calibration (``posthoc``, decided in the same
    Holm family as ``table``)."""

    table: pd.DataFrame
    datasets: pd.DataFrame
    counts: dict[str, int] = field(default_factory=dict)
    posthoc: pd.DataFrame = field(default_factory=lambda: pd.DataFrame(columns=KEYS + ["verdict"]))


def _counts(table: pd.DataFrame, rows: pd.DataFrame, *parts: dict) -> dict[str, int]:
    """What the verdicts leave out: invalid fits (dataset × ratio × model × method × repeat × fold),
    saturated blocks (dataset × ratio × metric, per model family and once more for the model
    question), blocks (dataset × ratio × metric) where the baseline ran and a method did not
    (per method), fold values (one per metric) whose n_test/n_train is unknown."""
    fit = [c for c in ("dataset", "imbalance_ratio", "model", "method", "repeat", "fold") if c in table]
    t = with_defaults(table)
    invalid = t.loc[~_valid(t["valid"]), fit].drop_duplicates()
    return {"invalid fold results": len(invalid),
            "saturated blocks": sum(p["saturated"] for p in parts),
            "blocks without the method": sum(p["missing"] for p in parts),
            "fold values without n_test/n_train": int(np.isnan(rows["c"]).sum())}


def _posthoc_differences(table: pd.DataFrame, posthoc: str | None, metrics) -> pd.DataFrame:
    """The loss question once more on the probability metrics (:data:`POSTHOC_METRICS`) of the
    ``posthoc`` calibration variant, applied to every method alike; empty without those rows."""
    if posthoc is None or "calibration" not in table or not (table["calibration"] == posthoc).any():
        return pd.DataFrame()
    wanted = POSTHOC_METRICS if metrics is None else POSTHOC_METRICS & set(metrics)
    diffs, _ = loss_differences(prepare(table, calibration=posthoc, metrics=wanted))
    return diffs


def compare(table: pd.DataFrame, *, rope: float = ROPE, calibration: str = "raw", metrics=None,
            level: float = P_DECIDE, min_datasets: int = MIN_DATASETS, posthoc: str | None = POSTHOC) -> Evidence:
    """Every comparison of the report, decided (the loss question and the model question, and
    the loss question on probabilities after a common post-hoc calibration).

    Parameters
    ----------
    table : DataFrame
        The long results table (``dataset, imbalance_ratio, model, method, calibration, metric,
        value, repetition, n_classes``; optional ``repeat, fold, n_train, n_test, valid``) with a
        ``rho`` column (ρ bucket, ``decision.with_regimes``; absent: one bucket).
    rope, calibration, metrics
        ROPE (:func:`meta_analysis`), the calibration variant compared, the metrics (None: all).
    level, min_datasets
        See :func:`verdicts`.
    posthoc : str or None, default "temperature"
        The calibration variant every method's probabilities are also judged after
        (:attr:`Evidence.posthoc`); Holm's correction runs over these comparisons and the others
        together. None, or a table without that variant: none.
    """
    rows = prepare(table, calibration=calibration, metrics=metrics)
    loss, loss_counts = loss_differences(rows)
    model, model_counts = model_differences(rows)
    counts = _counts(table, rows, loss_counts, model_counts)
    diffs = pd.concat([d for d in (loss, model) if len(d)], ignore_index=True) if len(loss) + len(model) else None
    if diffs is None:
        return Evidence(pd.DataFrame(columns=KEYS + ["verdict"]), pd.DataFrame(columns=KEYS), counts)
    ds = dataset_effects(diffs)
    parts = [meta_analysis(ds, rope=rope).assign(_posthoc=False)]
    post = _posthoc_differences(table, posthoc, metrics)
    if len(post):
        parts.append(meta_analysis(dataset_effects(post), rope=rope).assign(_posthoc=True))
    comp = verdicts(pd.concat(parts, ignore_index=True), level=level, min_datasets=min_datasets)
    after = comp.pop("_posthoc").to_numpy(bool)
    return Evidence(comp[~after].reset_index(drop=True), ds, counts, comp[after].reset_index(drop=True))


def compare_arms(table: pd.DataFrame, plan: list[tuple[str, str, str]], *, rope: float = ROPE,
                 level: float = P_DECIDE, min_datasets: int = MIN_DATASETS) -> pd.DataFrame:
    """Pre-declared comparisons ``plan`` of (metric, baseline, method) over all ratios of
    ``table`` (one model's rows, methods as labelled there, calibration ``raw``), decided with
    Holm over the plan alone: one row per planned comparison that has data (:func:`verdicts`)."""
    rows = prepare(table, metrics={m for m, _, _ in plan})
    rows = rows.assign(arm=rows["method"], family="pairs")
    pairs = list(dict.fromkeys((method, base) for _, base, method in plan))
    diffs, _ = _pairs_of(rows, ["task", "family", "metric"], pairs, "pairs")
    if diffs.empty:
        return pd.DataFrame(columns=KEYS + ["verdict"])
    ds = dataset_effects(diffs)
    ds = ds[ds["scope"] == ALL_RHO]
    wanted = pd.DataFrame(plan, columns=["metric", "baseline", "method"])
    comp = meta_analysis(ds, rope=rope).merge(wanted, on=["metric", "baseline", "method"])
    return verdicts(comp, level=level, min_datasets=min_datasets)


def null_table(table: pd.DataFrame, seed: int) -> pd.DataFrame:
    """``table`` with the method labels (model, method, loss, sampler together) permuted at random
    within each dataset × ratio × repeat × fold block: every result of one fit (all its metrics
    and calibration variants, its ``valid`` flag) keeps together and moves to another label of
    the same block, so every comparison's true effect is zero."""
    t = with_defaults(table).reset_index(drop=True)
    block = ["dataset", "imbalance_ratio", "repeat", "fold"]
    arm = [c for c in ("model", "method", "loss", "sampler") if c in t]
    pair = t.groupby(block + arm, sort=False, dropna=False).ngroup().to_numpy()
    first = t.drop_duplicates(subset=block + arm)  # row i: the first row of pair i (ngroup numbers by appearance)
    bid = first.groupby(block, sort=False).ngroup().to_numpy()
    order = np.lexsort((np.random.default_rng(seed).random(len(first)), bid))
    labels = first[arm].to_numpy(object)
    new = np.empty_like(labels)
    new[np.argsort(bid, kind="stable")] = labels[order]
    t[arm] = new[pair]
    return t


def planted_table(table: pd.DataFrame, regime_filter: Callable | Mapping, effect: float, metric: str, *,
                  method: str = "focal") -> pd.DataFrame:
    """``table`` with ``method``'s ``metric`` made better by ``effect`` (added where higher is
    better, subtracted where lower is) on the rows ``regime_filter`` selects: a callable taking
    the table and returning a boolean mask, or a mapping column → value (or list of values),
    e.g. ``{"model": "mlp", "rho": "ρ ≥ 50"}``."""
    if callable(regime_filter):
        mask = np.array(regime_filter(table), dtype=bool)  # a copy: pandas may hand out a read-only view
    else:
        mask = np.ones(len(table), dtype=bool)
        for column, value in regime_filter.items():
            mask &= table[column].isin(value if isinstance(value, (list, tuple, set)) else [value]).to_numpy()
    mask &= (table["method"] == method).to_numpy() & (table["metric"] == metric).to_numpy()
    sign = 1.0 if per_task.higher_is_better(metric) else -1.0
    out = table.copy()
    out.loc[mask, "value"] = out.loc[mask, "value"] + sign * effect
    return out
