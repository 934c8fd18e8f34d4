"""The report's literature checks: published findings this benchmark can test, each stated as
reproduced, not reproduced or not testable here, with the numbers that decide it.

- Mukhoti et al., "Calibrating deep neural networks using focal loss", NeurIPS 2020: in the
  over-parameterised regime (trained past over-fitting, last weights) focal loss gives lower raw
  ECE than cross-entropy. Testable only on a run without early stopping (the run's ``spec.json``).
- The same claim on images (:func:`mukhoti_images_check`, ``benchmarks/vision.yaml``): a CNN on
  multi-class images, fixed schedule, last weights; over-fitting read from the fits' NLL curves
  (:mod:`harness.report.curves`), the verdict on the balanced test sets, one dataset's
  repetitions pooled in the Bayesian correlated t-test (:func:`harness.report.own_data.compare`).
- Lin et al., "Focal loss for dense object detection", ICCV 2017 (Table 1a–b): α and γ interact,
  the best α (weight of the rare, positive class; ``loss_zoo.focal``'s α weights class 1) falls
  as γ grows. Tested on a fixed (γ, α) grid where the run has one (``benchmarks/focal_grid.yaml``,
  :mod:`harness.report.focal_grid`, which also asks whether focal's gain grows with ρ); else on the
  tuned (α, γ) of the first model's ``focal`` cells from the tuning summaries (the model is named in
  the line), "inconclusive" unless the correlation is there, since the tuning rarely identifies γ.
- Lin et al. 2017 (Table 1), on the dense task: focal against CE with the prior initialisation,
  α-balanced CE and OHEM, on location-level AP (:func:`lin_dense_check`).
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import pandas as pd

from harness.report import effects, focal_grid
from harness.report.curves import curves_frame, overfit_words
from harness.report.markdown import md_table
from harness.report.own_data import compare
from harness.report.sections import RELATION
from harness.report.tuning import FLAT, focal_tuned, spearman_text, tuning_frame
from harness.store.run_spec import early_stopping, read_run_spec

REPRODUCED, NOT_REPRODUCED, NOT_TESTABLE = "reproduced", "not reproduced", "not testable here"
INCONCLUSIVE = "inconclusive"
IMAGE_ECE = "top_label_ece"  # Mukhoti's ECE: top-label, 15 equal-width bins
MIN_CELLS = 10  # tuned (α, γ) pairs below which a rank correlation says little
LEVEL = 0.05  # significance level of the Spearman test
FOCAL_LOSSES = ("focal", "focal_flsd")
_REGIMES = {"loss": "early stopping on the validation loss", "metric": "early stopping on the tuning metric",
            None: "unknown: this results folder keeps no spec.json"}


@dataclass(frozen=True)
class Check:
    """One literature check: whose claim, the verdict, and the numbers behind it."""

    source: str
    claim: str
    verdict: str
    numbers: str

    def line(self) -> str:
        return f"- **{self.source}** — {self.claim} **{self.verdict}.** {self.numbers}"


def focal_variants(table: pd.DataFrame) -> list[str]:
    """Methods that train a focal loss alone: loss ``focal`` or ``focal_flsd`` (labelled variants
    such as ``focal_g1`` included), no resampling; ``tuned_loss`` never counts."""
    plain = table[table["loss"].isin(FOCAL_LOSSES) & (table["sampler"].astype(str) == "none")
                  & ~table["method"].astype(str).str.startswith("tuned_loss")]
    return list(dict.fromkeys(plain["method"]))


def focal_vs_ce_ece(table: pd.DataFrame, *, rope: float) -> pd.DataFrame:
    """Each focal variant's raw ECE against ce raw and against ce with temperature scaling, the
    dataset as the unit (:func:`effects.compare_arms`, Holm over these comparisons).

    One row per (variant, ce variant): ``datasets``, ``ECE gain`` μ (positive = focal lower) with
    its 95 % interval, P(better / equivalent / worse) and the verdict.
    """
    variants = focal_variants(table)
    keep = ((table["method"] == "ce") & table["calibration"].isin(["raw", "temperature"])) | (
        table["method"].isin(variants) & (table["calibration"] == "raw"))
    arms = table[keep].copy()
    is_ce = arms["method"] == "ce"
    arms.loc[is_ce, "method"] = "ce " + arms.loc[is_ce, "calibration"]
    plan = [("ece", f"ce {base}", v) for base in ("raw", "temperature") for v in variants]
    comp = effects.compare_arms(arms.assign(calibration="raw"), plan, rope=rope)
    if comp.empty:
        return pd.DataFrame()
    return pd.DataFrame({"focal variant": comp["method"], "against": comp["baseline"], "datasets": comp["datasets"],
                         "ECE gain": comp["mu"], "ci_low": comp["ci_low"], "ci_high": comp["ci_high"],
                         "p_better": comp["p_better"], "p_equivalent": comp["p_equivalent"],
                         "p_worse": comp["p_worse"], "verdict": comp["verdict"]})


def _mukhoti_verdict(versus: pd.DataFrame) -> tuple[str, str]:
    """(verdict, which variants) in the over-parameterised regime, on raw ECE against ce raw."""
    raw = versus[versus["against"] == "ce raw"]
    if raw.empty or raw["datasets"].max() < effects.MIN_DATASETS:
        n = int(raw["datasets"].max()) if not raw.empty else 0
        return NOT_TESTABLE, f"{n} datasets, fewer than {effects.MIN_DATASETS} for the test"
    won = raw[raw["verdict"] == "better"]["focal variant"].tolist()
    if won:
        return REPRODUCED, f"for {', '.join(won)}"
    return NOT_REPRODUCED, "for no focal variant"


def _closes_gap(versus: pd.DataFrame) -> str:
    """Whether temperature-scaled CE closes the gap: each variant's raw ECE against it, in words."""
    words = [f"{r['focal variant']} raw is {RELATION[r['verdict']]} it (ECE gain {r['ECE gain']:+.4f}, "
             f"P(better) {r['p_better']:.2f})" for _, r in versus[versus["against"] == "ce temperature"].iterrows()]
    return ("CE + temperature scaling: " + "; ".join(words) + ".") if words else ""


def mukhoti_check(table: pd.DataFrame, regime: str | None, *, rope: float) -> tuple[Check, pd.DataFrame]:
    """Mukhoti et al. 2020 on ``table`` (one model's binary rows), given the run's
    ``training.early_stopping`` (None: unknown). Reproduced: some focal variant's raw ECE is
    better than ce's by more than the ROPE (verdict "better" over datasets, Holm over the variants)."""
    claim = "focal loss gives lower raw ECE than CE in the over-parameterised regime (trained past over-fitting):"
    versus = focal_vs_ce_ece(table, rope=rope) if "ce" in set(table["method"]) else pd.DataFrame()
    context = ""
    raw = versus[versus["against"] == "ce raw"] if not versus.empty else versus
    if not raw.empty:
        context = "Raw ECE against ce: " + "; ".join(
            f"{r['focal variant']} ECE gain {r['ECE gain']:+.4f} [{r['ci_low']:+.4f}, {r['ci_high']:+.4f}] over "
            f"{r['datasets']} datasets, P(better) {r['p_better']:.2f} ({r['verdict']})" for _, r in raw.iterrows()) + "."
    source = "Mukhoti et al. 2020"
    if regime != "none":
        why = f"regime: {_REGIMES.get(regime, regime)}; run benchmarks/overfit.yaml"
        return Check(source, claim, f"{NOT_TESTABLE} ({why})", context or "No focal variant and ce to compare."), versus
    if raw.empty:
        return Check(source, claim, f"{NOT_TESTABLE} (needs ce and a focal variant)", ""), versus
    verdict, which = _mukhoti_verdict(versus)
    rule = (f"Rule: reproduced when a focal variant's raw ECE is lower than ce's by more than ±{rope:g} with "
            f"P ≥ {effects.P_DECIDE} (random-effects mean over datasets, Holm over the variants).")
    return Check(source, claim, f"{verdict} ({which})", " ".join([context, _closes_gap(versus), rule])), versus


def _balanced_tests(rows: pd.DataFrame) -> pd.DataFrame:
    """The rows whose test split is balanced: n_test = C · (test rows of the smallest class)."""
    return rows[rows["n_test"].astype(int) == rows["n_classes"].astype(int) * rows["n_test_minority"].astype(int)]


def _paired(ece: pd.DataFrame, arm: tuple[str, str], base: tuple[str, str], rope: float) -> dict:
    """``base`` ECE − ``arm`` ECE per (dataset, repetition) (positive: the arm is lower), the
    units pooled in the correlated t-test with ρ = n_test / (n_train + n_test)."""
    def values(method: str, calibration: str) -> pd.Series:
        sub = ece[(ece["method"] == method) & (ece["calibration"] == calibration)]
        return sub.set_index(["dataset", "repetition"])["value"].astype(float)

    a, b = values(*arm), values(*base)
    d = (b - a).dropna()
    rho = float((ece["n_test"] / (ece["n_train"] + ece["n_test"])).mean())
    return {"arm": " ".join(arm), "against": " ".join(base), "units": len(d), "arm ECE": float(a.mean()),
            "baseline ECE": float(b.mean()), **compare(d.to_numpy(), rho, rope)}


def _images_verdict(raw: pd.DataFrame) -> tuple[str, str]:
    """Reproduced: some focal variant's raw ECE better than CE's; not reproduced: every variant
    worse or equivalent; else inconclusive."""
    won = raw[raw["verdict"] == "better"]["arm"].tolist()
    if won:
        return REPRODUCED, f"for {', '.join(won)}"
    if raw["verdict"].isin(["worse", "equivalent"]).all():
        return NOT_REPRODUCED, "for no focal variant"
    return INCONCLUSIVE, "the intervals cannot separate the variants from CE at this size"


def mukhoti_images_check(table: pd.DataFrame, results_dir: Path, *, rope: float) -> tuple[Check, pd.DataFrame]:
    """Mukhoti et al. 2020 on a CNN's multi-class image rows (``benchmarks/vision.yaml``).

    Testable only where every CE fit over-fitted (:mod:`harness.report.curves`): else "not
    testable with this net". The verdict uses the balanced test sets (:func:`_balanced_tests`;
    long-tailed test sets are left to the table): each focal variant's raw top-label ECE against
    CE raw and CE with temperature scaling, and temperature against temperature, per (dataset,
    repetition) pooled (:func:`_paired`). Reproduced when a variant is better than CE raw by more
    than the ROPE with P ≥ 0.95, not reproduced when every variant is worse or equivalent, else
    inconclusive; each comparison carries its minimum detectable effect.
    """
    source = "Mukhoti et al. 2020 (images)"
    claim = ("a CNN trained past over-fitting with focal loss (FL-3, FLSD-53) has lower raw ECE than with CE, and "
             "temperature scaling narrows the gap:")
    ece = _balanced_tests(table[table["metric"] == IMAGE_ECE])
    variants = [v for v in focal_variants(table) if v in set(ece["method"])]
    if "ce" not in set(ece["method"]) or not variants:
        return Check(source, claim, f"{NOT_TESTABLE} (needs ce and a focal variant on a balanced test set)", ""), \
            pd.DataFrame()
    tested = sorted(set(ece["dataset"]))
    fits = curves_frame(results_dir)
    ce_fits = fits[(fits["method"] == "ce") & fits["dataset"].isin(tested)] if len(fits) else fits
    where = f"balanced test sets: {', '.join(tested)}"
    if ce_fits.empty or not ce_fits["overfit"].all():
        return Check(source, claim, f"{NOT_TESTABLE} with this net (CE did not over-fit)",
                     f"CE on the {where}: {overfit_words(ce_fits)}."), pd.DataFrame()
    plan = [((v, "raw"), ("ce", "raw")) for v in variants] + [((v, "raw"), ("ce", "temperature")) for v in variants]
    plan += [((v, "temperature"), ("ce", "temperature")) for v in variants]
    versus = pd.DataFrame([_paired(ece, arm, base, rope) for arm, base in plan])
    raw = versus[versus["against"] == "ce raw"]
    verdict, which = _images_verdict(raw)
    means = "; ".join(f"{r['arm']} {100 * r['arm ECE']:.2f} % vs {r['against']} {100 * r['baseline ECE']:.2f} % "
                      f"(gain {100 * r['diff']:+.2f} points [{100 * r['ci_low']:+.2f}, {100 * r['ci_high']:+.2f}], "
                      f"P(better) {r['p_better']:.2f}, MDE {100 * r['mde']:.2f})" for _, r in versus.iterrows())
    numbers = (f"Over-fitting shown: CE on the {where}: {overfit_words(ce_fits)}. Mean top-label ECE over "
               f"{int(raw['units'].max())} (dataset, repetition) units: {means}. Rule: reproduced when a focal "
               f"variant's raw ECE is lower than CE's by more than ±{rope:g} with P ≥ {effects.P_DECIDE} (Bayesian "
               "correlated t-test over the pooled units); MDE: the smallest gain this test would call better. "
               "Paper (CIFAR-10, ResNet-50): CE 4.35 %, FL-3 1.48 %, FLSD-53 1.55 %; CE after temperature 1.35 %.")
    return Check(source, claim, f"{verdict} ({which})", numbers), versus


def alpha_gamma_check(frame: pd.DataFrame) -> Check:
    """Lin et al. 2017 on the tuned (α, γ) of ``focal`` cells (binary data, α tuned): reproduced
    when Spearman's ρ_s(α, γ) < 0 with p < :data:`LEVEL`; not testable below :data:`MIN_CELLS` cells."""
    source, claim = "Lin et al. 2017", "the best α (weight of the rare class) falls as γ grows:"
    focal = focal_tuned(frame)
    both = focal.dropna(subset=["best.focal_alpha"]) if "best.focal_alpha" in focal else focal.iloc[:0]
    whose = f"`{focal['model'].iloc[0]}` " if len(focal) and "model" in focal else ""
    if len(both) < MIN_CELLS:
        return Check(source, claim, f"{NOT_TESTABLE} ({len(both)} {whose}focal cells with both α and γ tuned, "
                     f"fewer than {MIN_CELLS})", "")
    rho, p, text = spearman_text(both["best.focal_alpha"], both["best.focal_gamma"])
    steep = both[~both["flat"]]
    *_, steep_text = spearman_text(steep["best.focal_alpha"], steep["best.focal_gamma"])
    verdict = REPRODUCED if rho < 0 and p < LEVEL else f"{INCONCLUSIVE} ({_identified(focal)})"
    return Check(source, claim, verdict,
                 f"Tuned α against tuned γ over the {whose}focal cells (dataset × ratio, one study each): {text}; over the non-flat ones (top-5 gap ≥ "
                 f"{FLAT}): {steep_text}. Rule: reproduced when ρ_s < 0 with p < {LEVEL} (all cells); no correlation "
                 f"among tuned values refutes nothing where the tuning does not identify γ — the fixed grid "
                 f"(`benchmarks/focal_grid.yaml`) asks it directly.")


def _identified(focal: pd.DataFrame) -> str:
    """How far the tuning identifies γ, in words: flat tops and γ's own fANOVA importance."""
    share = f"the top-5 trials are within {FLAT} in {int(focal['flat'].sum())} of {len(focal)} cells"
    column = "importance.focal_gamma"
    if column in focal and focal[column].notna().any():
        share += f"; γ's mean fANOVA importance {focal[column].mean():.2f}"
    return f"γ not identified by the tuning: {share}"


def focal_grid_checks(table: pd.DataFrame, *, rope: float) -> tuple[list[Check], list[str]]:
    """Lin's α–γ and the γ–ρ claim on a fixed (γ, α) grid (:mod:`harness.report.focal_grid`),
    each with its contrasts as a table; nothing where ``table`` holds no grid."""
    arms = focal_grid.grid_arms(table)
    if arms.empty:
        return [], []
    checks, md = [], []
    claims = [("Lin et al. 2017", "on a fixed grid, the best α (weight of the rare class) falls as γ grows:",
               focal_grid.alpha_gamma_contrasts(table, arms)),
              ("γ–ρ (the common reading of Lin et al. 2017)", "on a fixed grid, focal's gain over ce grows with the "
               "imbalance ratio ρ:", focal_grid.gamma_rho_contrasts(table, arms))]
    for source, claim, contrasts in claims:
        verdict, rows = focal_grid.decide(contrasts, rope=rope)
        if rows.empty:
            checks.append(Check(source, claim, NOT_TESTABLE, "(the grid lacks the arms or ratios this needs)"))
            continue
        best = rows.sort_values("p_rises", ascending=False).iloc[0]
        checks.append(Check(source, claim, verdict,
                            f"Largest contrast: {best['contrast']} μ {best['mu']:+.4f} [{best['ci_low']:+.4f}, "
                            f"{best['ci_high']:+.4f}] AP over {int(best['datasets'])} datasets, MDE {best['mde']:.3f}. "
                            f"Rule: reproduced when a contrast is > 0 with P ≥ {effects.P_DECIDE} (Holm over its γ); "
                            f"not reproduced when every one is below +{rope:g} with P ≥ {effects.P_DECIDE}; else "
                            "inconclusive."))
        md += [f"{source} — {claim} contrasts per γ (AP; positive = as claimed):", "", md_table(rows), ""]
    return checks, md


def literature_section(table: pd.DataFrame, results_dir: Path, *, rope: float, seed: int = 0,
                       model: str | None = None) -> list[str]:
    """Markdown lines of the section: one line per check, and the focal-vs-CE ECE table.
    ``table``: one model's rows (``model`` its name, None: the table's one model)."""
    regime = early_stopping(read_run_spec(results_dir))
    mukhoti, versus = mukhoti_check(table, regime, rope=rope)
    grid_checks, grid_md = focal_grid_checks(table, rope=rope)
    checks = [mukhoti] + (grid_checks or [alpha_gamma_check(tuning_frame(results_dir))]) + [
        c for c in [lin_dense_check(table, rope=rope)] if c is not None]
    md = [f"## Literature checks{f' (model `{model}`)' if model else ''}", "",
          "Published findings this benchmark can test, each reproduced, not reproduced, or not testable here "
          "(with why), and the numbers that decide it.", ""]
    md += [c.line() for c in checks] + [""] + grid_md
    if not versus.empty:
        md += ["Raw ECE of each focal variant against ce (raw, and with temperature scaling), over datasets; "
               "ECE gain positive = focal lower:", "", md_table(versus), ""]
    return md


def images_literature_section(table: pd.DataFrame, results_dir: Path, *, rope: float) -> list[str]:
    """Markdown lines of the multi-class image checks (:func:`mukhoti_images_check`) on ``table``
    (multi-class rows); none when the run kept no NLL curves (no image learner ran)."""
    fits = curves_frame(results_dir)
    if fits.empty or not (table["metric"] == IMAGE_ECE).any():
        return []
    rows = table[table["model"].isin(set(fits["model"]))] if "model" in table else table
    check, versus = mukhoti_images_check(rows, results_dir, rope=rope)
    md = ["## Literature checks (images)", "", check.line(), ""]
    if not versus.empty:
        shown = versus[["arm", "against", "units", "arm ECE", "baseline ECE", "diff", "ci_low", "ci_high", "p_better",
                        "p_equivalent", "p_worse", "mde", "verdict"]]
        md += ["Top-label ECE of each focal variant against ce on the balanced test sets, (dataset, repetition) "
               "units pooled; diff positive = the variant lower:", "", md_table(shown), ""]
    return md


LIN_DENSE_BASELINES = ("ce", "alpha_ce", "ohem", "ohem_1to3")


def lin_dense_check(table: pd.DataFrame, *, rope: float) -> Check | None:
    """Lin et al. 2017 (Table 1, RetinaNet: focal 34.0 AP vs α-balanced CE 31.1 and vs OHEM 32.8) on the
    dense task: focal against CE with the prior initialisation, α-balanced CE and OHEM (with and
    without the 1:3 cap, whichever ran), on location-level AP, paired by (ρ, repetition) block of
    the one dense dataset (:func:`harness.report.dense.paired`). Reproduced: focal better than
    every baseline by more than the ROPE (the 95 % interval's lower end above it); not reproduced:
    some baseline's upper end below the ROPE (focal's gain ruled out); else inconclusive. None
    without dense rows."""
    from harness.report import dense  # the dense task's analysis, read only where there are dense rows

    rows = dense.dense_rows(table)
    if rows.empty or "focal" not in set(rows["method"]):
        return None
    source = "Lin et al. 2017 (dense)"
    claim = "on dense prediction focal loss beats CE with the prior initialisation, α-balanced CE and OHEM:"
    found = {b: dense.paired(rows, dense.PIXEL_AP, "focal", b) for b in LIN_DENSE_BASELINES}
    found = {b: r for b, r in found.items() if r is not None}
    if not found:
        return Check(source, claim, f"{NOT_TESTABLE} (no baseline paired with focal in two blocks)", "")
    words = "; ".join(f"vs {b}: {r['mean']:+.4f} [{r['low']:+.4f}, {r['high']:+.4f}] over {r['n']} blocks, "
                      f"MDE {r['mde']:.4f}" for b, r in found.items())
    if all(r["low"] > rope for r in found.values()):
        verdict = REPRODUCED
    elif any(r["high"] < rope for r in found.values()):
        verdict = NOT_REPRODUCED
    else:
        verdict = "inconclusive"
    return Check(source, claim, verdict,
                 f"Focal − baseline in location-level AP, mean and 95 % t-interval: {words}. Rule: reproduced when "
                 f"every interval lies above the ROPE ±{rope:g}; not reproduced when one lies below it; else "
                 "inconclusive (blocks of one dataset: the interval is within this task only).")
