"""The answer first: which method, per regime and metric family, with its evidence.

A *regime* is task (binary / multi-class) × model family × ρ bucket, plus each model family over
all ratios. The size bucket of earlier reports is gone: it halved the datasets per regime and
doubled the comparisons to correct for, while each dataset's own noise (its test size among it)
already sets its weight in the meta-analysis. The unit is the dataset: a dataset's effect is
the mean over its ratios in the regime (:mod:`harness.report.effects`).

The rule, for one regime and one metric family (:func:`decide`), over its comparisons (each
method against ``ce`` on each metric of the family, verdicts from :func:`effects.verdicts`, Holm
over every comparison of the report):

1. every comparison has fewer than :data:`effects.MIN_DATASETS` datasets: "too few datasets";
2. a method *wins* when on some metric of the family it is "better" (P(μ > ROPE) ≥ 0.95 after
   Holm) and on none "worse"; among winners the largest μ in ROPE units is named, with μ's 95 %
   interval, P(better) and the predictive P that the next dataset gains more than the ROPE;
3. no winner, every comparison "equivalent": no difference beyond ±ROPE;
4. no winner, every comparison "equivalent" or "worse", some worse: keep ``ce``;
5. no winner, some comparison's MDE above the ROPE: "cannot resolve ±ROPE here" (with the MDE);
6. otherwise: no effect beyond ±ROPE shown.

Entries 5 and 6 name the methods shown worse, if any.
"""

from __future__ import annotations

import math

import numpy as np
import pandas as pd

import datasets
from harness.report import bayes, effects
from harness.report.effects import ALL_RHO, BASELINE
from harness.report.markdown import md_table
from harness.seeding import derive_seed
from harness.vocabulary import FAMILIES

SHORT = {"average_precision": "AP", "roc_auc": "ROC AUC", "f1_val_threshold": "F1", "mcc_val_threshold": "MCC",
         "ece": "ECE", "log_loss": "log loss", "brier": "Brier",
         "average_precision_macro": "macro AP", "roc_auc_macro": "macro ROC AUC", "balanced_accuracy": "balanced accuracy",
         "f1_macro": "macro F1", "top_label_ece": "top-label ECE", "brier_multiclass": "Brier"}
# (label, lower bound inclusive, upper bound exclusive)
RHO_BUCKETS = (("ρ 1–3", 1, 3), ("ρ 3–10", 3, 10), ("ρ 10–50", 10, 50), ("ρ ≥ 50", 50, math.inf))
P_DECIDE = effects.P_DECIDE
MIN_DATASETS = effects.MIN_DATASETS
POSTHOC_COLUMN = f"probabilities after {effects.POSTHOC}"
SCOPES = (ALL_RHO,) + tuple(b[0] for b in RHO_BUCKETS) + ("ρ natural", "ρ unknown")


def rho_bucket(ratio: float) -> str:
    """The :data:`RHO_BUCKETS` label of an imbalance ratio (e.g. "ρ 3–10")."""
    for label, low, high in RHO_BUCKETS:
        if low <= ratio < high:
            return label
    return "unknown"


def numeric_ratio(label, dataset: str) -> float:
    """The imbalance ratio of a cell; at the natural ratio the catalogue's n_max / n_min (a row
    cap keeps it), NaN for a dataset outside the catalogue."""
    if str(label) != "natural":
        return float(label)
    try:
        counts = datasets.catalogue.info(dataset).class_counts
    except datasets.DataError:
        return float("nan")
    return max(counts) / min(counts)


def _rho_label(label, dataset: str) -> str:
    rho = numeric_ratio(label, dataset)
    return "ρ natural" if math.isnan(rho) else rho_bucket(rho)


def with_regimes(table: pd.DataFrame) -> pd.DataFrame:
    """``table`` with ``task``, ``rho`` (ρ bucket) and ``regime`` (task · model · ρ bucket) columns.

    A natural ratio goes to the bucket of the dataset's class ratio (the catalogue's; "ρ natural"
    outside it). Absent columns default: ``task`` from ``n_classes`` (> 2 is multi-class) or
    binary; ``model`` to "spec model" (tables from before the model axis).
    """
    out = table.copy()
    if "task" not in out:
        out["task"] = np.where(out["n_classes"] > 2, "multi-class", "binary") if "n_classes" in out else "binary"
    model = out["model"].astype(str) if "model" in out else pd.Series("spec model", index=out.index)
    keys = pd.DataFrame({"dataset": out["dataset"].astype(str).to_numpy(),
                         "ratio": out["imbalance_ratio"].astype(str).to_numpy()})
    pairs = keys.drop_duplicates()  # one lookup per (dataset, ratio), not per row
    pairs["rho"] = [_rho_label(r, d) for d, r in zip(pairs["dataset"], pairs["ratio"])]
    out["rho"] = keys.merge(pairs, on=["dataset", "ratio"], how="left")["rho"].to_numpy()
    labels = out["task"].astype(str) + " · " + model + " · " + out["rho"]
    order = sorted(set(zip(out["task"].astype(str), model, out["rho"].map(SCOPES.index), labels)))
    out["regime"] = pd.Categorical(labels, categories=[o[-1] for o in order], ordered=True)
    return out


def _regimes(comp: pd.DataFrame) -> list[tuple[str, str, str]]:
    """(task, family, scope) in table order: task, family as first seen, all ρ then the buckets."""
    keys = comp[["task", "family", "scope"]].drop_duplicates()
    families = list(dict.fromkeys(keys["family"]))
    return sorted(keys.itertuples(index=False, name=None),
                  key=lambda k: (k[0], families.index(k[1]), SCOPES.index(k[2]) if k[2] in SCOPES else 99))


def _winner_text(row: pd.Series, others: int) -> str:
    more = f" (+{others} more better)" if others else ""
    return (f"**{row['method']}**: {SHORT.get(row['metric'], row['metric'])} {row['mu']:+.3f} "
            f"[{row['ci_low']:+.3f}, {row['ci_high']:+.3f}], P(better) {row['p_better']:.2f}, "
            f"next dataset {row['p_next']:.2f}{more}")


def decide(rows: pd.DataFrame, *, baseline: str = BASELINE) -> tuple[str, str, pd.Series | None]:
    """The decision for one regime × family: ``(kind, table entry, deciding comparison)``.

    ``kind`` is one of ``absent, too_few, winner, equivalent, keep, cannot, not_shown``; the
    rules are the module docstring's.
    """
    if rows.empty:
        return "absent", "—", None
    tested = rows[rows["verdict"] != "too few"]
    if tested.empty:
        return "too_few", f"too few datasets ({int(rows['datasets'].max())} < {MIN_DATASETS})", None
    worse = set(tested.loc[tested["verdict"] == "worse", "method"])
    better = tested[(tested["verdict"] == "better") & ~tested["method"].isin(worse)]
    absolute = tested[~tested["metric"].isin(effects.RELATIVE_ROPE)]
    rope = float((absolute if len(absolute) else tested)["rope"].iloc[0])
    if not better.empty:
        best = better.assign(size=better["mu"] / better["rope"]).sort_values("size", ascending=False).iloc[0]
        return "winner", _winner_text(best, better["method"].nunique() - 1), best
    kinds = set(tested["verdict"])
    if kinds == {"equivalent"}:
        return "equivalent", f"no difference beyond ±{rope:g}", None
    if kinds == {"equivalent", "worse"}:
        return "keep", f"keep {baseline} (worse: {', '.join(sorted(worse))})", None
    also = f"; worse: {', '.join(sorted(worse))}" if worse else ""
    unresolved = tested[tested["verdict"] == "cannot resolve"]
    if not unresolved.empty:
        row = unresolved.assign(size=unresolved["mde"] / unresolved["rope"]).sort_values("size").iloc[0]
        return "cannot", (f"cannot resolve ±{row['rope']:.2g} here (MDE on {SHORT.get(row['metric'], row['metric'])} "
                          f"{row['mde']:.2g}{also})"), row
    return "not_shown", f"no effect beyond ±{rope:g} shown" + (f" ({also[2:]})" if also else ""), None


def decision_table(comp: pd.DataFrame, families: dict = FAMILIES, *, baseline: str = BASELINE,
                   posthoc: pd.DataFrame | None = None) -> pd.DataFrame:
    """Rows: each (task · model family · scope) of ``comp``; columns: datasets, one entry per
    metric family, and where ``posthoc`` (the same comparisons on probabilities after the common
    post-hoc calibration, :attr:`effects.Evidence.posthoc`) has rows, the probability family
    decided on them (column :data:`POSTHOC_COLUMN`)."""
    rows, extra = [], [] if posthoc is None or posthoc.empty else [POSTHOC_COLUMN]
    for task, family, scope in _regimes(comp):
        regime = lambda c: c[(c["task"] == task) & (c["family"] == family) & (c["scope"] == scope)]
        sub = regime(comp)
        entry = {"regime": f"{task} · {family} · {scope}", "datasets": int(sub["datasets"].max())}
        for name, metrics in families.items():
            entry[name] = decide(sub[sub["metric"].isin(metrics)], baseline=baseline)[1]
        if extra:
            entry[POSTHOC_COLUMN] = decide(regime(posthoc), baseline=baseline)[1]
        rows.append(entry)
    return pd.DataFrame(rows, columns=["regime", "datasets", *families, *extra])


def model_table(comp: pd.DataFrame, families: dict = FAMILIES) -> pd.DataFrame:
    """The model question: per task and scope, which learner (an ensemble, another model's
    ``ce``) is better than the reference (the MLP's ``ce``) per metric family."""
    ref = comp["baseline"].value_counts().index[0] if len(comp) else ""
    against_ref = comp[comp["baseline"] == ref]
    return decision_table(against_ref.assign(family="learners"), families, baseline=ref)


def rule_text(rope: float, level: float = P_DECIDE) -> str:
    """The decision rule in one sentence."""
    return (f"Rule: the dataset is the unit (its effect: the mean over its ratios and folds); a random-effects "
            f"meta-analysis across datasets gives the mean effect μ; a method is named better when P(μ > {rope:g}) "
            f"≥ {level} after Holm's correction over every comparison of the report (log loss: ROPE ±{rope:.0%} "
            f"of {BASELINE}'s median); no claim of no difference where the minimum detectable effect (MDE) exceeds "
            f"the ROPE; at least {MIN_DATASETS} datasets per regime.")


def left_out_text(counts: dict[str, int]) -> str:
    """What the verdicts do not count, each number with what it holds."""
    fallback = counts.get("fold values without n_test/n_train", 0)
    words = [f"{counts.get('invalid fold results', 0)} fold results (dataset × ratio × model × method × split) "
             f"flagged invalid (constant predictor or failed fold)",
             f"{counts.get('saturated blocks', 0)} saturated dataset×ratio×metric blocks (every method's mean ≥ "
             f"{effects.SATURATED} on a higher-is-better metric; per model family, and again in the model question)",
             f"{counts.get('blocks without the method', 0)} dataset×ratio×metric blocks where the baseline ran and "
             f"a method did not (failed fits; per method)"]
    tail = (f" {fallback} fold values (one per metric) record no n_test/n_train: their Nadeau–Bengio correction uses "
            f"n_test/n_train = {effects.TEST_OVER_TRAIN:g} (a 60/20/20 holdout, training incl. validation)."
            if fallback else "")
    return "Left out of the verdicts: " + "; ".join(words) + "." + tail


def summary(comp: pd.DataFrame, *, rope: float, extra: list[str] = (), max_lines: int = 12,
            families: dict = FAMILIES, counts: dict | None = None) -> list[str]:
    """At most ``max_lines`` plain-words lines: the rule, each model family over all ratios,
    ``extra`` findings, regime winners, what was left out."""
    lines = [rule_text(rope)]
    for task, family, scope in [r for r in _regimes(comp) if r[2] == ALL_RHO]:
        sub = comp[(comp["task"] == task) & (comp["family"] == family) & (comp["scope"] == scope)]
        parts = [f"{name}: {decide(sub[sub['metric'].isin(ms)])[1]}" for name, ms in families.items()]
        lines.append(f"{task} · {family}, all ratios, {int(sub['datasets'].max())} datasets — " + "; ".join(parts) + ".")
    lines += list(extra)
    wins = []
    for task, family, scope in [r for r in _regimes(comp) if r[2] != ALL_RHO]:
        sub = comp[(comp["task"] == task) & (comp["family"] == family) & (comp["scope"] == scope)]
        for name, ms in families.items():
            kind, text, _ = decide(sub[sub["metric"].isin(ms)])
            if kind == "winner":
                wins.append(f"In {task} · {family} · {scope}, {name}: {text}.")
    tail = [left_out_text(counts)] if counts is not None else []
    room = max_lines - len(lines) - len(tail)
    if len(wins) > room:
        wins = wins[:max(room - 1, 0)] + [f"… and {len(wins) - max(room - 1, 0)} more regime winners in the table."]
    return (lines + wins + tail)[:max_lines]


def _families_text(families: dict) -> str:
    return "; ".join(f"{f} = {', '.join(SHORT.get(m, m) for m in ms)}" for f, ms in families.items())


def _model_part(models: pd.DataFrame, families: dict) -> tuple[list[str], list[str]]:
    """The model question's table and pairs, and its all-ratios line for the summary."""
    if models.empty:
        return [], []
    frame = model_table(models, families)
    ref = models["baseline"].value_counts().index[0]
    pairs = models[(models["baseline"] != ref) & (models["scope"] == ALL_RHO)]
    md = ["### The model question: which learner", "",
          f"Each ensemble (its own learner: it appears here once, not under each model) and each other model's "
          f"`{BASELINE}` against `{ref}`, by the same rule; datasets where both ran.", "", md_table(frame), ""]
    if not pairs.empty:
        cols = ["metric", "method", "baseline", "datasets", "mu", "ci_low", "ci_high", "p_better", "p_worse", "verdict"]
        md += ["Balanced ensembles against their plain counterparts, all ratios (positive = the balanced one is "
               "better):", "", md_table(pairs[cols]), ""]
    first = frame.iloc[0]
    words = [f"Learners against {ref}, all ratios, {first['datasets']} datasets — "
             + "; ".join(f"{f}: {first[f]}" for f in families) + "."]
    return md, words


def decision_section(evidence: effects.Evidence, task: str, families: dict, *, rope: float,
                     extra: list[str] = ()) -> list[str]:
    """The answer first for one task: the decision table by regime and family, the model
    question, then the summary."""
    comp = evidence.table[evidence.table["task"] == task]
    loss, models = comp[comp["question"] == "loss"], comp[comp["question"] == "model"]
    posthoc = evidence.posthoc[evidence.posthoc["task"] == task]
    suffix = "" if task == "binary" else f" ({task})"
    model_md, model_words = _model_part(models, families)
    lines = summary(loss, rope=rope, extra=list(extra) + model_words, families=families, counts=evidence.counts)
    return ([f"## Decision: which method, when{suffix}", "",
             f"Each entry: the method better than `{BASELINE}` by more than the ROPE on that family — its mean "
             f"effect μ over datasets on the deciding metric (positive = better, whatever the metric's direction) "
             f"with its 95 % interval, P(μ > ROPE) and the probability that the next dataset gains more than the "
             f"ROPE. \"datasets\" counts datasets, each entering once as the mean over its ratios and folds. A "
             f"regime is task · model · ρ bucket; \"all ρ\" pools a model's ratios. \"cannot resolve\": no "
             f"method is shown better and the minimum detectable effect (MDE, 80 % power) exceeds the ROPE, so "
             f"neither a difference nor its absence can be claimed at that size. Families: {_families_text(families)}."
             + (f" \"{POSTHOC_COLUMN}\": the probability family again after {effects.POSTHOC} scaling fitted on "
                f"the validation split, applied to every method alike (raw probabilities judge the loss as "
                f"trained; scaled ones, what is left after the cheap fix a careful user applies)."
                if len(posthoc) else ""), "",
             md_table(decision_table(loss, families, posthoc=posthoc)), ""] + model_md
            + [f"## Summary{suffix}", ""] + [f"- {line}" for line in lines] + [""])


def _signed_rank(rows: pd.DataFrame, datasets: pd.DataFrame, seed: int) -> list[float]:
    """baycomp's signed-rank P(better) over the dataset effects of each comparison in ``rows``
    (a secondary column: its plurality rule is not the decision)."""
    wanted = datasets.merge(rows[effects.KEYS], on=effects.KEYS)
    theta = {key: g.to_numpy(float) for key, g in wanted.groupby(effects.KEYS, sort=False)["theta"]}
    out = []
    for row in rows.itertuples(index=False):
        key = tuple(getattr(row, k) for k in effects.KEYS)
        values = theta.get(key, np.empty(0))
        s = derive_seed(seed, *map(str, key))
        out.append(bayes.signed_rank(np.zeros_like(values), values, row.rope, s)[2] if len(values) >= 2 else np.nan)
    return out


def versus_section(evidence: effects.Evidence, task: str, *, seed: int = 0) -> list[str]:
    """Every method against ce over all ratios, per metric: the numbers behind the table."""
    comp = evidence.table
    comp = comp[(comp["task"] == task) & (comp["question"] == "loss") & (comp["scope"] == ALL_RHO)]
    if comp.empty:
        return []
    comp = comp.assign(tau=np.sqrt(comp["tau2"]), signed_rank=_signed_rank(comp, evidence.datasets, seed))
    cols = ["family", "method", "datasets", "blocks", "folds", "mu", "ci_low", "ci_high", "tau", "mde",
            "p_better", "p_equivalent", "p_worse", "p_next", "verdict", "signed_rank"]
    md = [f"## Each method against ce, all ratios{'' if task == 'binary' else f' ({task})'}", "",
          "datasets: datasets in the comparison; blocks: dataset×ratio blocks; folds: paired fold values. mu: the "
          "random-effects mean effect over datasets (positive = better than `ce`), [ci_low, ci_high] its 95 % "
          "interval, tau the between-dataset standard deviation, mde the minimum detectable effect; p_better / "
          "p_equivalent / p_worse: P(μ > ROPE), P(|μ| < ROPE), P(μ < −ROPE); p_next: P(the next dataset gains more "
          "than the ROPE); verdict after Holm over the report. signed_rank: baycomp's signed-rank P(better) over "
          "the same dataset effects, for reference only (it calls a method better when the above-ROPE region "
          "holds the most pairwise averages, even with a median gain inside the ROPE).", ""]
    for metric, sub in comp.groupby("metric", sort=False):
        md += [f"### {metric} (ROPE ±{sub['rope'].iloc[0]:.4g})", "", md_table(sub[cols]), ""]
    return md
