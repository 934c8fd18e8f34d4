"""Focal loss on a fixed (γ, α) grid (``benchmarks/focal_grid.yaml``): the two interactions the
tuned γ cannot answer when the tuning does not identify it, asked as paired contrasts with the
dataset as the unit.

- **α–γ** (Lin et al. 2017, Table 1a–b: the best α, the rare class's weight, falls as γ grows):
  per fold, C_γ = [AP(γ, α_low) − AP(γ, α_high)] − [AP(0, α_low) − AP(0, α_high)]; positive when
  the low α gains on the high one as γ grows. Every arm of a fold shares its split, so C_γ is paired.
- **γ–ρ** (the best γ grows with the imbalance): per fold, G_γ = [AP(γ) − AP(ce)] at the highest
  grid ratio minus the same at the lowest, α none; positive when focal's gain over ce grows with ρ.
  The two ratios are different subsamples, so their folds are paired by index only (independent
  draws: the contrast's variance is still estimated from its J differences).

Each contrast goes through :mod:`harness.report.effects` (per-dataset mean and Nadeau–Bengio
variance, DerSimonian–Laird with Hartung–Knapp across datasets). Verdict per claim, Holm over
its γ values: **reproduced** when some C_γ (G_γ) > 0 with P ≥ 0.95; **not reproduced** when every
one is below +ROPE with P ≥ 0.95 (the interaction, if any, is practically nothing); otherwise
**inconclusive**, with the minimum detectable effect that would have been needed.
"""

from __future__ import annotations

import re

import numpy as np
import pandas as pd
from statsmodels.stats.multitest import multipletests

from harness.report import effects

LABEL = re.compile(r"^focal_g(?P<gamma>\d+(?:\.\d+)?)_a(?P<alpha>none|\d+)$")
METRIC = "average_precision"
REPRODUCED, NOT_REPRODUCED, INCONCLUSIVE = "reproduced", "not reproduced", "inconclusive"


def grid_arms(table: pd.DataFrame) -> pd.DataFrame:
    """The grid's arms among ``table``'s methods: ``method, gamma, alpha`` (α None where the label
    says ``none``); ``ce`` is (0, None). Empty when the table holds no grid labels."""
    rows = [{"method": "ce", "gamma": 0.0, "alpha": None}] if "ce" in set(table["method"]) else []
    for method in dict.fromkeys(table["method"].astype(str)):
        match = LABEL.match(method)
        if match:
            alpha = None if match["alpha"] == "none" else int(match["alpha"]) / 100
            rows.append({"method": method, "gamma": float(match["gamma"]), "alpha": alpha})
    arms = pd.DataFrame(rows, columns=["method", "gamma", "alpha"])
    return arms if len(arms) > 1 else arms.iloc[:0]


def _folds(table: pd.DataFrame) -> pd.DataFrame:
    """AP per fold, one column per arm: index (dataset, ratio, repeat, fold), plus ``c``."""
    t = effects.with_defaults(table)
    t = t[(t["metric"] == METRIC) & (t.get("calibration", "raw") == "raw") & effects._valid(t["valid"])]
    index = ["dataset", "imbalance_ratio", "repeat", "fold"]
    wide = t.pivot_table(index=index, columns="method", values="value", aggfunc="mean")
    c = (t["n_test"] / t["n_train"]).groupby([t[k] for k in index]).mean()
    return wide.assign(c=c.reindex(wide.index).to_numpy())


def _contrast_rows(d: pd.Series, c: pd.Series, name: str) -> pd.DataFrame:
    """A contrast per fold as :func:`effects.dataset_effects` reads differences (one scope)."""
    idx = d.dropna().index
    frame = idx.to_frame(index=False)
    return pd.DataFrame({"question": "grid", "task": "binary", "family": "grid", "metric": METRIC, "method": name,
                         "baseline": "", "rho": "grid", "dataset": frame["dataset"].astype(str),
                         "ratio": frame["imbalance_ratio"].astype(str), "repeat": frame["repeat"].to_numpy(),
                         "fold": frame["fold"].to_numpy(), "d": d.loc[idx].to_numpy(float),
                         "base_value": 0.0, "c": c.loc[idx].to_numpy(float)})


def _arm(arms: pd.DataFrame, gamma: float, alpha) -> str | None:
    hit = arms[(arms["gamma"] == gamma) & (arms["alpha"].isna() if alpha is None else arms["alpha"] == alpha)]
    return hit["method"].iloc[0] if len(hit) else None


def alpha_gamma_contrasts(table: pd.DataFrame, arms: pd.DataFrame) -> pd.DataFrame:
    """C_γ per fold for every γ > 0 of the grid (module docstring), α low/high the grid's extremes."""
    alphas = sorted(a for a in arms["alpha"].dropna().unique())
    if len(alphas) < 2:
        return pd.DataFrame()
    low, high = alphas[0], alphas[-1]
    wide = _folds(table)
    frames = []
    base = [_arm(arms, 0.0, low), _arm(arms, 0.0, high)]
    for gamma in sorted(g for g in arms["gamma"].unique() if g > 0):
        names = [_arm(arms, gamma, low), _arm(arms, gamma, high)] + base
        if None in names or not set(names) <= set(wide.columns):
            continue
        d = (wide[names[0]] - wide[names[1]]) - (wide[names[2]] - wide[names[3]])
        frames.append(_contrast_rows(d, wide["c"], f"α {low:g} − α {high:g}, γ {gamma:g} vs 0"))
    return pd.concat(frames, ignore_index=True) if frames else pd.DataFrame()


def gamma_rho_contrasts(table: pd.DataFrame, arms: pd.DataFrame) -> pd.DataFrame:
    """G_γ per fold for every γ > 0 at α none (module docstring): the highest against the lowest
    numeric grid ratio, folds paired by (repeat, fold) within a dataset."""
    wide = _folds(table)
    ratios = sorted({float(r) for r in wide.index.get_level_values("imbalance_ratio") if _number(r)})
    if len(ratios) < 2 or "ce" not in wide:
        return pd.DataFrame()
    lo, hi = ratios[0], ratios[-1]
    frames = []
    for gamma in sorted(g for g in arms["gamma"].unique() if g > 0):
        name = _arm(arms, gamma, None)
        if name is None or name not in wide:
            continue
        gain = (wide[name] - wide["ce"]).rename("g")
        at = lambda r: gain[[float(x) == r if _number(x) else False
                             for x in gain.index.get_level_values("imbalance_ratio")]].droplevel("imbalance_ratio")
        d = at(hi) - at(lo)
        c = wide["c"].groupby(level=["dataset", "repeat", "fold"]).mean()
        d = d.dropna()
        d.index = pd.MultiIndex.from_arrays([d.index.get_level_values("dataset"), [f"{hi:g} vs {lo:g}"] * len(d),
                                             d.index.get_level_values("repeat"), d.index.get_level_values("fold")],
                                            names=["dataset", "imbalance_ratio", "repeat", "fold"])
        c = pd.Series(c.reindex(d.index.droplevel("imbalance_ratio")).to_numpy(), index=d.index)
        frames.append(_contrast_rows(d, c, f"γ {gamma:g} gain over ce, ρ {hi:g} − ρ {lo:g}"))
    return pd.concat(frames, ignore_index=True) if frames else pd.DataFrame()


def _number(x) -> bool:
    try:
        float(x)
        return True
    except (TypeError, ValueError):
        return False


def decide(contrasts: pd.DataFrame, *, rope: float, level: float = effects.P_DECIDE) -> tuple[str, pd.DataFrame]:
    """The claim's verdict (module docstring) and one row per contrast: datasets, μ [95 %], MDE,
    P(μ > 0), P(μ < ROPE), Holm-adjusted over the claim's contrasts."""
    if contrasts.empty:
        return INCONCLUSIVE, pd.DataFrame()
    ds = effects.dataset_effects(contrasts)
    ds = ds[ds["scope"] == effects.ALL_RHO]
    comp = effects.meta_analysis(ds, rope=0.0)  # P(μ > 0): the direction the claim predicts
    rising = comp["p_better"].to_numpy(float)
    small = 1 - effects._probabilities(comp.assign(rope=rope))["p_better"].to_numpy(float)  # P(μ < ROPE)
    comp = comp.assign(p_rises=rising, p_below_rope=small,
                       holm_rises=multipletests(np.clip(1 - rising, 0, 1), method="holm")[1],
                       holm_below=multipletests(np.clip(1 - small, 0, 1), method="holm")[1])
    enough = comp["datasets"] >= effects.MIN_DATASETS
    if (enough & (comp["holm_rises"] <= 1 - level)).any():
        verdict = REPRODUCED
    elif enough.all() and (comp["holm_below"] <= 1 - level).all():
        verdict = NOT_REPRODUCED
    else:
        verdict = INCONCLUSIVE
    cols = ["method", "datasets", "folds", "mu", "ci_low", "ci_high", "mde", "p_rises", "p_below_rope"]
    return verdict, comp[cols].rename(columns={"method": "contrast"})
