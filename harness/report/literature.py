"""The report's literature checks: published findings this benchmark can test, each stated as
reproduced, not reproduced or not testable here, with the numbers that decide it.

- Mukhoti et al., "Calibrating deep neural networks using focal loss", NeurIPS 2020: in the
  over-parameterised regime (trained past over-fitting, last weights) focal loss gives lower raw
  ECE than cross-entropy. Testable only on a run without early stopping (the run's ``spec.json``).
- Lin et al., "Focal loss for dense object detection", ICCV 2017 (Table 1a–b): α and γ interact,
  the best α (weight of the rare, positive class; ``loss_zoo.focal``'s α weights class 1) falls
  as γ grows. Tested on the tuned (α, γ) of ``focal`` cells from the tuning summaries.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd

from harness.report import bayes, decision, stats
from harness.report.markdown import md_table
from harness.report.tuning import FLAT, focal_tuned, spearman_text, tuning_frame
from harness.store.run_spec import early_stopping, read_run_spec

REPRODUCED, NOT_REPRODUCED, NOT_TESTABLE = "reproduced", "not reproduced", "not testable here"
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


def focal_vs_ce_ece(table: pd.DataFrame, *, rope: float, seed: int) -> pd.DataFrame:
    """Each focal variant's raw ECE against ce raw and against ce with temperature scaling.

    Per cell the mean over repetitions, paired over cells; ``bayes.against_baseline`` gives
    wins (a win = lower ECE by more than 0.001), the median difference (positive = focal lower)
    and the Bayesian signed-rank P(better / equivalent / worse) with the ROPE.
    """
    rows = []
    for base in ("raw", "temperature"):
        ce = table[(table["method"] == "ce") & (table["calibration"] == base)]
        for variant in focal_variants(table):
            pair = pd.concat([ce, table[(table["method"] == variant) & (table["calibration"] == "raw")]])
            means = stats.cell_means(pair.assign(calibration="raw"), "ece")
            if not {"ce", variant} <= set(means) or means.empty:
                continue
            row = bayes.against_baseline(means[["ce", variant]], "ece", baseline="ce", rope=rope, seed=seed,
                                         label=f"mukhoti-{base}").iloc[0]
            rows.append({"focal variant": variant, "against": f"ce {base}", "cells": int(row["cells"]),
                         "wins": int(row["wins"]), "losses": int(row["losses"]),
                         "median ECE gain": row["median_diff"], "p_better": row["p_better"],
                         "p_equivalent": row["p_equivalent"], "p_worse": row["p_worse"]})
    return pd.DataFrame(rows)


def _mukhoti_verdict(versus: pd.DataFrame) -> tuple[str, str]:
    """(verdict, which variants) in the over-parameterised regime, on raw ECE against ce raw."""
    raw = versus[versus["against"] == "ce raw"]
    if raw.empty or raw["cells"].max() < decision.MIN_CELLS:
        cells = int(raw["cells"].max()) if not raw.empty else 0
        return NOT_TESTABLE, f"{cells} cells, fewer than {decision.MIN_CELLS} for the test"
    won = raw[(raw["median ECE gain"] > 0) & (raw["p_better"] > decision.P_DECIDE)]["focal variant"].tolist()
    if won:
        return REPRODUCED, f"for {', '.join(won)}"
    return NOT_REPRODUCED, "for no focal variant"


def _closes_gap(versus: pd.DataFrame) -> str:
    """Whether temperature-scaled CE closes the gap: each variant's raw ECE against it, in words."""
    words = []
    for _, r in versus[versus["against"] == "ce temperature"].iterrows():
        verdict = ["worse than", "practically equivalent to", "better than"][
            int(np.argmax([r["p_worse"], r["p_equivalent"], r["p_better"]]))]
        words.append(f"{r['focal variant']} raw is {verdict} it (median gain {r['median ECE gain']:+.4f}, "
                     f"P(better) {r['p_better']:.2f})")
    return ("CE + temperature scaling: " + "; ".join(words) + ".") if words else ""


def mukhoti_check(table: pd.DataFrame, regime: str | None, *, rope: float, seed: int) -> tuple[Check, pd.DataFrame]:
    """Mukhoti et al. 2020 on ``table`` (one model's binary rows), given the run's
    ``training.early_stopping`` (None: unknown). Reproduced: some focal variant has a lower raw
    ECE than ce (positive median gain) with P(better) > :data:`decision.P_DECIDE`."""
    claim = "focal loss gives lower raw ECE than CE in the over-parameterised regime (trained past over-fitting):"
    versus = focal_vs_ce_ece(table, rope=rope, seed=seed) if "ce" in set(table["method"]) else pd.DataFrame()
    context = ""
    raw = versus[versus["against"] == "ce raw"] if not versus.empty else versus
    if not raw.empty:
        context = "Raw ECE against ce: " + "; ".join(
            f"{r['focal variant']} median gain {r['median ECE gain']:+.4f}, wins {r['wins']}/{r['cells']}, "
            f"P(better) {r['p_better']:.2f}" for _, r in raw.iterrows()) + "."
    source = "Mukhoti et al. 2020"
    if regime != "none":
        why = f"regime: {_REGIMES.get(regime, regime)}; run benchmarks/overfit.yaml"
        return Check(source, claim, f"{NOT_TESTABLE} ({why})", context or "No focal variant and ce to compare."), versus
    if raw.empty:
        return Check(source, claim, f"{NOT_TESTABLE} (needs ce and a focal variant)", ""), versus
    verdict, which = _mukhoti_verdict(versus)
    rule = (f"Rule: reproduced when a focal variant's raw ECE is lower than ce's with P(better) > {decision.P_DECIDE} "
            f"(Bayesian signed-rank test over cells, ROPE ±{rope:g}).")
    return Check(source, claim, f"{verdict} ({which})", " ".join([context, _closes_gap(versus), rule])), versus


def alpha_gamma_check(frame: pd.DataFrame) -> Check:
    """Lin et al. 2017 on the tuned (α, γ) of ``focal`` cells (binary data, α tuned): reproduced
    when Spearman's ρ_s(α, γ) < 0 with p < :data:`LEVEL`; not testable below :data:`MIN_CELLS` cells."""
    source, claim = "Lin et al. 2017", "the best α (weight of the rare class) falls as γ grows:"
    focal = focal_tuned(frame)
    both = focal.dropna(subset=["best.focal_alpha"]) if "best.focal_alpha" in focal else focal.iloc[:0]
    if len(both) < MIN_CELLS:
        return Check(source, claim, f"{NOT_TESTABLE} ({len(both)} focal cells with both α and γ tuned, "
                     f"fewer than {MIN_CELLS})", "")
    rho, p, text = spearman_text(both["best.focal_alpha"], both["best.focal_gamma"])
    steep = both[~both["flat"]]
    *_, steep_text = spearman_text(steep["best.focal_alpha"], steep["best.focal_gamma"])
    verdict = REPRODUCED if rho < 0 and p < LEVEL else NOT_REPRODUCED
    return Check(source, claim, verdict,
                 f"Tuned α against tuned γ over the focal cells: {text}; over the non-flat ones (top-5 gap ≥ "
                 f"{FLAT}): {steep_text}. Rule: reproduced when ρ_s < 0 with p < {LEVEL} (all cells).")


def literature_section(table: pd.DataFrame, results_dir: Path, *, rope: float, seed: int) -> list[str]:
    """Markdown lines of the section: one line per check, and the focal-vs-CE ECE table."""
    regime = early_stopping(read_run_spec(results_dir))
    mukhoti, versus = mukhoti_check(table, regime, rope=rope, seed=seed)
    checks = [mukhoti, alpha_gamma_check(tuning_frame(results_dir))]
    md = ["## Literature checks", "",
          "Published findings this benchmark can test, each reproduced, not reproduced, or not testable here "
          "(with why), and the numbers that decide it.", ""]
    md += [c.line() for c in checks] + [""]
    if not versus.empty:
        md += ["Raw ECE of each focal variant against ce (raw, and with temperature scaling); median ECE gain "
               "and wins: positive = focal lower:", "", md_table(versus), ""]
    return md
