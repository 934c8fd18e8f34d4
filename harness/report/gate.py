"""The regression gate: a committed baseline per benchmark, and a comparison that bites.

A baseline holds, per cell (dataset, ratio, method), calibration variant and metric, the mean
over repetitions and a tolerance derived from the seed-to-seed spread:

    tolerance = max(floor, k · std · sqrt(2 / n))

where std is the standard deviation over the n repetitions (so std · sqrt(2 / n) is the standard
error of a difference of two n-repetition means) and floor is ``abs_floor`` for metrics in
[0, 1] and ``max(abs_floor, rel_floor · |baseline|)`` for unbounded ones (log loss). A metric
is a regression when it is worse than the baseline by more than its tolerance, in the metric's
own direction; better by more than the tolerance is listed as an improvement and never fails.
"""

from __future__ import annotations

import json
import math
from dataclasses import dataclass, field
from pathlib import Path

import pandas as pd

from harness.errors import UserError
from harness.files import write_atomic
from harness.metrics import per_task

FORMAT = 1
DEFAULT_RULE = {"k": 3.0, "abs_floor": 0.01, "rel_floor": 0.05, "calibrations": ["raw"]}
UNBOUNDED = {"log_loss"}
CELL = ["dataset", "imbalance_ratio", "model", "method"]


def _tolerance(metric: str, mean: float, std: float, n: int, rule: dict) -> float:
    floor = rule["abs_floor"]
    if metric in UNBOUNDED:
        floor = max(floor, rule["rel_floor"] * abs(mean))
    spread = rule["k"] * std * math.sqrt(2.0 / n) if n > 1 and math.isfinite(std) else 0.0
    return max(floor, spread)


def make_baseline(table: pd.DataFrame, rule: dict | None = None) -> dict:
    """A baseline from a results table (every cell, the rule's calibration variants, every metric)."""
    rule = {**DEFAULT_RULE, **(rule or {})}
    if table.empty:
        raise UserError("baseline: the results table is empty")
    if "model" not in table:
        table = table.assign(model="mlp")  # results from before the model axis
    df = table[table["calibration"].isin(rule["calibrations"])]
    spec_hashes = sorted(set(table["spec_hash"]))
    if len(spec_hashes) != 1:
        raise UserError(f"baseline: expected results of one spec, got spec hashes {spec_hashes}")
    entries = []
    grouped = df.groupby(CELL + ["calibration", "metric"], sort=True)["value"]
    for (dataset, ratio, model, method, calibration, metric), values in grouped:
        n = int(values.size)
        mean = float(values.mean())
        std = float(values.std(ddof=1)) if n > 1 else 0.0
        entries.append({
            "dataset": str(dataset), "imbalance_ratio": str(ratio), "model": str(model), "method": str(method),
            "calibration": str(calibration), "metric": str(metric),
            "higher_is_better": per_task.higher_is_better(str(metric)),
            "baseline": mean, "std": std, "n": n,
            "tolerance": _tolerance(str(metric), mean, std, n, rule),
        })
    versions = dict(part.split("=", 1) for part in str(table["versions"].iloc[0]).split(";") if "=" in part)
    return {
        "format": FORMAT,
        "benchmark": str(table["benchmark"].iloc[0]),
        "spec_hash": spec_hashes[0],
        "made_with": {"git_commit": str(table["git_commit"].iloc[0]), "versions": versions},
        "rule": rule,
        "entries": entries,
    }


def write_baseline(baseline: dict, path: Path) -> None:
    text = json.dumps(baseline, indent=1, sort_keys=True) + "\n"
    write_atomic(path, lambda tmp: tmp.write_text(text))


def load_baseline(path: Path) -> dict:
    """Read a baseline file; a missing or malformed one is a one-line error."""
    try:
        data = json.loads(Path(path).read_text())
    except OSError as exc:
        raise UserError(f"baseline: cannot read {str(path)!r}: {exc.strerror or exc}; create it with `make baseline`") from None
    except json.JSONDecodeError as exc:
        raise UserError(f"baseline: {path} is not valid JSON (line {exc.lineno}): {exc.msg}") from None
    if not isinstance(data, dict) or data.get("format") != FORMAT or "entries" not in data:
        raise UserError(f"baseline: {path} is not a baseline file of format {FORMAT}; regenerate it with `make baseline`")
    return data


def check_spec(baseline: dict, spec_name: str, spec_hash: str, path: Path) -> None:
    """Stop with a clear error when the spec is not the one the baseline was made for."""
    if baseline["benchmark"] != spec_name:
        raise UserError(f"baseline: {path} is for benchmark {baseline['benchmark']!r}, not {spec_name!r}")
    if baseline["spec_hash"] != spec_hash:
        raise UserError(
            f"baseline: {path} was made for spec hash {baseline['spec_hash']}, but the spec now hashes to "
            f"{spec_hash}: the benchmark changed, so re-baseline with `make baseline` and review the diff"
        )


@dataclass
class GateReport:
    checked: int = 0
    regressions: list[dict] = field(default_factory=list)
    improvements: list[dict] = field(default_factory=list)
    missing: list[dict] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)

    @property
    def passed(self) -> bool:
        return not self.regressions and not self.missing


def compare(baseline: dict, table: pd.DataFrame) -> GateReport:
    """Compare a results table with a baseline, metric by metric."""
    report = GateReport()
    if not table.empty and set(table["spec_hash"]) != {baseline["spec_hash"]}:
        raise UserError(
            f"baseline: made for spec hash {baseline['spec_hash']}, results have {sorted(set(table['spec_hash']))}: "
            "re-baseline with `make baseline` and review the diff"
        )
    if not table.empty and "model" not in table:
        table = table.assign(model="mlp")  # results from before the model axis
    means = (
        table.assign(imbalance_ratio=table["imbalance_ratio"].astype(str))
        .groupby(CELL + ["calibration", "metric"])["value"].mean().to_dict()
        if not table.empty else {}
    )
    for e in baseline["entries"]:
        model = e.get("model", "mlp")  # baselines from before the model axis: the torch MLP
        key = (e["dataset"], e["imbalance_ratio"], model, e["method"], e["calibration"], e["metric"])
        row = {"cell": f"{e['dataset']} ρ={e['imbalance_ratio']} {model} {e['method']}", "calibration": e["calibration"],
               "metric": e["metric"], "baseline": e["baseline"], "tolerance": e["tolerance"]}
        if key not in means:
            report.missing.append({**row, "now": float("nan")})
            continue
        report.checked += 1
        now = float(means[key])
        worse = (e["baseline"] - now) if e["higher_is_better"] else (now - e["baseline"])
        row = {**row, "now": now, "worse_by": worse}
        if not math.isfinite(now) or worse > e["tolerance"]:
            report.regressions.append(row)
        elif -worse > e["tolerance"]:
            report.improvements.append(row)
    made = baseline.get("made_with", {}).get("versions", {})
    if not table.empty:
        now_versions = dict(p.split("=", 1) for p in str(table["versions"].iloc[0]).split(";") if "=" in p)
        changed = [f"{k} {made[k]} → {v}" for k, v in now_versions.items() if k in made and made[k] != v]
        if changed:
            report.notes.append("package versions differ from the baseline's: " + ", ".join(changed))
    return report


def format_report(report: GateReport) -> str:
    """The gate's verdict with tables of regressions, missing entries and improvements."""
    lines = []

    def table(title: str, rows: list[dict]) -> None:
        lines.append(f"{title} ({len(rows)}):")
        frame = pd.DataFrame(rows)[["cell", "calibration", "metric", "baseline", "now", "tolerance"]]
        lines.append(frame.to_string(index=False, float_format=lambda v: f"{v:.4f}"))

    if report.regressions:
        table("REGRESSIONS: worse than the baseline by more than the tolerance", report.regressions)
    if report.missing:
        table("MISSING: in the baseline, not in the results", report.missing)
    if report.improvements:
        table("improvements (listed, not failed)", report.improvements)
    lines.extend(f"note: {n}" for n in report.notes)
    verdict = "PASSED" if report.passed else "FAILED"
    lines.append(f"gate {verdict}: {report.checked} metrics checked, {len(report.regressions)} regressions, "
                 f"{len(report.missing)} missing, {len(report.improvements)} improvements")
    return "\n".join(lines)
