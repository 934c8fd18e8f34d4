"""The published answer: a finished run's report, its figures, a compact summary and its
provenance, copied into a folder that is committed (``runner.py run SPEC --publish DIR``).

A reader gets the answer without running anything; ``tests/report/test_published.py`` checks that the
published provenance names the spec hash its spec file has today.
"""

from __future__ import annotations

import json
import re
import shutil
import time
from pathlib import Path
from typing import TYPE_CHECKING

import pandas as pd

from harness.files import write_atomic
from harness.report.effects import COMPARISONS, REPRODUCTION
from harness.report.tuning import tuning_frame, write_tuning_table
from harness.store.provenance import machine_info
from harness.store.results import PUBLISHED, read_table, write_parquet
from harness.vocabulary import HEADLINE, HEADLINE_MULTICLASS

if TYPE_CHECKING:
    from harness.spec.schema import Spec

KEYS = ["dataset", "imbalance_ratio", "model", "method", "n_classes"]
CHANGELOG = "CHANGELOG.md"


def summary(table: pd.DataFrame) -> pd.DataFrame:
    """Per dataset × ρ × model × method: mean and std over folds (or repetitions) of the headline metrics
    (raw probabilities; multi-class sets their own headline), one row each, metrics as columns."""
    raw = table[(table["calibration"] == "raw") & table["metric"].isin([*HEADLINE, *HEADLINE_MULTICLASS])]
    grouped = raw.groupby([*KEYS, "metric"], sort=False)["value"]
    stats = pd.DataFrame({"mean": grouped.mean(), "std": grouped.std(ddof=1), "n": grouped.size()})
    wide = stats[["mean", "std"]].unstack("metric")
    wide.columns = [f"{metric}_{stat}" for stat, metric in wide.columns]
    order = [f"{m}_{s}" for m in dict.fromkeys(raw["metric"]) for s in ("mean", "std")]
    wide = wide[order].reset_index()
    wide.insert(len(KEYS), "fits", stats["n"].groupby(level=list(range(len(KEYS))), sort=False).max().values)
    return wide


def provenance(spec: Spec, spec_path: str, table: pd.DataFrame, *, command: str, wall_seconds: float,
               cpu_seconds: float, cells_run_here: int | None = None, math_backend: dict | None = None) -> dict:
    """What the published numbers come from: spec, code, versions, machine, torch's math backend
    (``math_backend``: :func:`harness.learners.torch_backend.math_backend`, which the caller asks
    for, as this module never imports torch; None: not recorded) and the run's time (of this
    invocation: ``cells_run_here`` of the cells, the others were resumed from disk)."""
    cells = table.drop_duplicates(["dataset", "imbalance_ratio", "model", "method"])
    return {"spec": spec_path, "spec_name": spec.name, "spec_hash": spec.spec_hash(), "command": command,
            "commit": sorted(table["git_commit"].astype(str).unique()),
            "versions": sorted(table["versions"].astype(str).unique()),
            "machine": machine_info(), "math_backend": math_backend or {}, "cells": len(cells),
            "cells_run_here": len(cells) if cells_run_here is None else cells_run_here,
            "wall_seconds": round(wall_seconds, 1),
            "cpu_seconds": round(cpu_seconds, 1), "published": time.strftime("%Y-%m-%d %H:%M:%S %Z")}


def publish(results_dir: Path, out: Path, report_md: Path, prov: dict) -> list[Path]:
    """Copy ``report_md``, the figures it links and the run's ``spec.json`` into ``out`` (emptied
    first, but for its ``CHANGELOG.md``, written by hand: what changed against the previous answer
    and why), with the per-fold long table ``results.parquet`` (every fit, metric and calibration
    variant: what a re-analysis needs; ``runner.py report`` reads a folder holding only it),
    ``summary.csv`` and ``provenance.json``; returns the files written. A ``reproduction.json``
    (what a re-run elsewhere reproduced) is kept: the one ``results_dir`` carries, else the
    previous answer's where it measured this very spec."""
    table = read_table(results_dir)
    changelog = (out / CHANGELOG).read_text() if (out / CHANGELOG).is_file() else None
    carried = results_dir / REPRODUCTION  # a run's folder may carry one on (--against --publish: the published cells')
    reproduction = next((p.read_text() for p in (carried, out / REPRODUCTION) if p.is_file()), None)
    if out.exists():
        shutil.rmtree(out)
    (out / "report").mkdir(parents=True)
    if changelog is not None:
        (out / CHANGELOG).write_text(changelog)
    if reproduction is not None and (carried.is_file() or json.loads(reproduction).get("spec_hash") == prov.get("spec_hash")):
        (out / REPRODUCTION).write_text(reproduction)  # measured on this spec's cells: still true of a re-publish
    text = report_md.read_text()
    written = []
    for name in dict.fromkeys(re.findall(r"\]\(report/([^)]+)\)", text)):
        written.append(Path(shutil.copy2(results_dir / "report" / name, out / "report" / name)))
    if (results_dir / "report" / COMPARISONS).is_file():  # every verdict, machine-readable
        written.append(Path(shutil.copy2(results_dir / "report" / COMPARISONS, out / "report" / COMPARISONS)))
    tuning = write_tuning_table(tuning_frame(results_dir), out)  # in one table: the report's tuning sections read it
    written += [tuning] if tuning is not None else []
    written.append(out / "report.md")
    write_atomic(written[-1], lambda tmp: tmp.write_text(_provenance_lines(prov) + text))
    written.append(out / PUBLISHED)
    write_parquet(table, written[-1])
    written.append(out / "summary.csv")
    write_atomic(written[-1], lambda tmp: summary(table).to_csv(tmp, index=False, float_format="%.5g"))
    if (results_dir / "spec.json").is_file():  # the resolved spec the run wrote (harness.store.run_spec)
        written.append(Path(shutil.copy2(results_dir / "spec.json", out / "spec.json")))
    written.append(out / "provenance.json")
    write_atomic(written[-1], lambda tmp: tmp.write_text(json.dumps(prov, indent=1) + "\n"))
    return written


def _provenance_lines(prov: dict) -> str:
    return (f"> Published from `{prov['command']}` (spec `{prov['spec']}`, hash `{prov['spec_hash']}`; code "
            f"{', '.join(f'`{c[:12]}`' for c in prov['commit'])}) on " + _machine_text(prov["machine"])
            + _backend_text(prov["math_backend"]) + f": {prov['cells']} cells"
            + (f" ({prov['cells_run_here']} in this invocation, the rest resumed)" if prov["cells_run_here"] != prov["cells"]
               else "")
            + f"; this invocation {prov['wall_seconds'] / 3600:.2f} h wall, {prov['cpu_seconds'] / 3600:.2f} h CPU. "
            "Every fit: `results.parquet`; means per cell: `summary.csv`; provenance: `provenance.json`; "
            "what changed: `CHANGELOG.md`.\n\n")


def _machine_text(m: dict) -> str:
    """``2 logical CPUs (Intel(R) Xeon(R) ..., x86_64, 23.5 GiB, Linux-...)``, with the usable ones when fewer."""
    usable = f", {m['cpus_usable']} usable" if m["cpus_usable"] not in (None, m["cpus"]) else ""
    return (f"{m['cpus']} logical CPUs{usable} "
            f"({m['cpu_model']}, {m['processor']}, {m['memory_gib']} GiB, {m['platform']})")


def _backend_text(backend: dict) -> str:
    """``, torch 2.13.0 (BLAS mkl, LAPACK mkl, oneDNN, AVX512, 1 thread)``; empty when not recorded."""
    if not backend:
        return ""
    parts = [f"BLAS {backend['blas']}", f"LAPACK {backend['lapack']}", *(["oneDNN"] if backend["mkldnn"] else []),
             backend["cpu_capability"], f"{backend['threads']} thread{'s' if backend['threads'] != 1 else ''}"]
    return f", torch {backend['torch']} ({', '.join(parts)})"
