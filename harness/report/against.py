"""A new method against a published sweep (``runner.py run SPEC --against DIR``): the CE re-check
under the regression gate's tolerances, the table the report reads (the published rows plus the
new ones) and the verdict lines printed after the run. Reads tables only (no torch, no optuna).
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pandas as pd

from harness.files import write_atomic
from harness.report import decision, effects, gate
from harness.report.build import FAMILY_METRICS
from harness.report.tuning import tuning_frame, write_tuning_table
from harness.store.results import write_parquet
from harness.store.run_spec import FILE as SPEC_FILE
from harness.store.run_spec import write_run_spec
from harness.vocabulary import FAMILIES, FAMILIES_MULTICLASS

#: the metrics of the verdict lines: each family's first, binary and multi-class
VERDICT_METRICS = tuple(dict.fromkeys(ms[0] for fam in (FAMILIES, FAMILIES_MULTICLASS) for ms in fam.values()))


def recheck(published: pd.DataFrame, rerun: pd.DataFrame, rule: dict | None = None) -> gate.GateReport:
    """The re-run CE cells against their published rows, metric by metric, under the gate's
    tolerance (:func:`harness.report.gate.make_baseline`: max(floor, k · std · sqrt(2 / n)) of
    the published folds). Both directions count: a re-run better than the tolerance allows is
    no more the published cell than a worse one. Non-finite values (a metric a dataset cannot
    have, e.g. the true calibration error of real data) are left out on both sides."""
    cells = rerun[gate.CELL].drop_duplicates()
    base = published.merge(cells, on=gate.CELL)
    base = base[np.isfinite(base["value"])]
    baseline = gate.make_baseline(base.assign(spec_hash="published"), rule)
    report = gate.compare(baseline, rerun[np.isfinite(rerun["value"])].assign(spec_hash="published"))
    report.regressions += report.improvements
    report.improvements = []
    return report


def recheck_line(report: gate.GateReport, source: Path) -> str | None:
    """None when every re-checked metric is within its tolerance; else the one line that stops the run."""
    if report.passed:
        return None
    bad = report.regressions + report.missing
    worst = max(bad, key=lambda r: abs(r.get("worse_by", np.inf)) / max(r["tolerance"], 1e-12))
    return (f"--against: ce re-check: {len(bad)} of {report.checked + len(report.missing)} metrics outside the gate's "
            f"tolerance, e.g. {worst['cell']} {worst['metric']} {worst['now']:.4f} here, {worst['baseline']:.4f} in "
            f"{source} (tolerance {worst['tolerance']:.4f}): this machine does not reproduce the published cells, so "
            "new cells run here would not be comparable with them")


def combined(published: pd.DataFrame, new: pd.DataFrame) -> pd.DataFrame:
    """The published rows of the compared cells, then the new method's rows: one long table."""
    columns = list(dict.fromkeys([*published.columns, *new.columns]))
    return pd.concat([published.reindex(columns=columns), new.reindex(columns=columns)], ignore_index=True)


def tuning_rows(published: Path, run: Path, datasets, methods) -> pd.DataFrame:
    """The tuning summaries of the compared cells, one row per cell: the published folder's
    (its :data:`~harness.report.tuning.TUNING_TABLE`, where it kept one) on ``datasets``, then the
    run's own (``tuning/*.json``) of the new ``methods`` (a cell in both: the run's); empty when
    neither has any."""
    own = tuning_frame(run)
    own = own[own["method"].isin(set(methods))] if len(own) else own
    frames = [f for f in (tuning_frame(published), own) if len(f)]
    if not frames:
        return pd.DataFrame()
    frame = pd.concat(frames, ignore_index=True)
    frame = frame[frame["dataset"].isin(set(datasets))]
    return frame.drop_duplicates(["dataset", "imbalance_ratio", "model", "method"], keep="last").reset_index(drop=True)


def write_folder(table: pd.DataFrame, spec, folder: Path, tuning: pd.DataFrame | None = None) -> Path:
    """``folder`` as a results folder of the comparison: ``results.parquet`` and ``spec.json``
    (what ``runner.py report`` and :func:`harness.report.build.build` read), with the cells'
    tuning summaries (:func:`tuning_rows`) where there are any, so that the report's tuning
    section and a publication keep them; ``spec`` a validated spec (written with its hash, as a
    run writes its own) or a dict written as it is."""
    folder.mkdir(parents=True, exist_ok=True)
    write_parquet(table, folder / "results.parquet")
    write_tuning_table(pd.DataFrame() if tuning is None else tuning, folder)  # or a previous invocation's removed
    if not isinstance(spec, dict):
        write_run_spec(spec, folder)
        return folder
    text = json.dumps(spec, indent=1, sort_keys=True)
    write_atomic(folder / SPEC_FILE, lambda tmp: tmp.write_text(text))
    return folder


def verdict_lines(table: pd.DataFrame, methods: list[str], *, rope: float = effects.ROPE) -> list[str]:
    """Each new method against ``ce`` over all ratios, per task, model family and headline metric
    of each family: the effect, its interval, the datasets and the verdict (Holm over the same
    comparisons as the report's, so the lines and the report agree)."""
    comp = effects.compare(decision.with_regimes(table), rope=rope, metrics=FAMILY_METRICS).table  # Holm as the report's
    comp = comp[comp["method"].isin(methods) & (comp["question"] == "loss") & (comp["scope"] == effects.ALL_RHO)
                & comp["metric"].isin(VERDICT_METRICS)]
    lines = []
    for row in comp.itertuples(index=False):
        where = f"{row.method} vs {row.baseline} · {row.task} · {row.family} · {row.metric}"
        if row.verdict == "too few":
            lines.append(f"{where}: too few datasets ({row.datasets} < {effects.MIN_DATASETS}) for a verdict")
            continue
        lines.append(f"{where}: μ {row.mu:+.4f} [{row.ci_low:+.4f}, {row.ci_high:+.4f}] over {row.datasets} datasets "
                     f"(MDE {row.mde:.3f}, ROPE ±{row.rope:.3g}): {row.verdict}")
    return lines or [f"{', '.join(methods)}: no comparison with ce (no shared valid cells)"]
