"""How much of a published sweep does a re-run reproduce? Re-runs a seeded random subset of the
published spec's datasets (every ratio, model and method of each, the published settings) on
this machine and compares every per-fold value with ``results.parquet``.

    python -m benchmarks.reproduce benchmarks/full.yaml results/published/full --datasets 8 --jobs 2

A cell (dataset × ratio × model × method) is *reproduced* when every metric of every fold and
calibration variant is within ``--tolerance`` (1e-4, absolute) of the published value.
Writes ``reproduction.json`` into the published folder (``--write``) or prints it only; the
report's header quotes it. Same spec + seed ⇒ the same splits and trial seeds on any machine, so
what differs is the arithmetic (CPU, BLAS, threads): a tuning choice flipped by last-bit
differences shows up as a cell far off.
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
import pandas as pd
import yaml

from harness.report.effects import REPRODUCTION as FILE
from harness.store.provenance import machine_info
from harness.store.results import PUBLISHED, read_table

ROOT = Path(__file__).resolve().parents[1]
CELL = ["dataset", "imbalance_ratio", "model", "method"]
KEY = CELL + ["calibration", "metric", "repeat", "fold"]


def subset(published: pd.DataFrame, n: int, seed: int) -> list[str]:
    """``n`` datasets drawn at random (``seed``) from the published table's binary datasets."""
    binary = sorted(published.loc[published["n_classes"] <= 2, "dataset"].unique())
    rng = np.random.default_rng(seed)
    return sorted(rng.choice(binary, size=min(n, len(binary)), replace=False).tolist())


def rerun(spec_path: Path, names: list[str], out: Path, jobs: int) -> tuple[pd.DataFrame, float]:
    """Run ``spec_path`` restricted to ``names`` into ``out``; (its results, wall seconds)."""
    spec = yaml.safe_load(spec_path.read_text())
    spec["datasets"] = names
    spec["name"] = f"{spec['name']}_reproduce"
    path = out / "spec.yaml"
    path.write_text(yaml.safe_dump(spec, sort_keys=False, allow_unicode=True))
    start = time.perf_counter()
    subprocess.run([sys.executable, str(ROOT / "runner.py"), "run", str(path), "--jobs", str(jobs), "--no-tracking",
                    "--results-dir", str(out), "--quiet"], check=True, cwd=ROOT)
    return read_table(out / spec["name"]), time.perf_counter() - start


def compare(published: pd.DataFrame, again: pd.DataFrame, tolerance: float) -> dict:
    """Cells compared, reproduced (every value within ``tolerance``), and the worst of the others."""
    both = again.merge(published, on=KEY, suffixes=("", "_published"))
    both["gap"] = (both["value"] - both["value_published"]).abs()
    worst = both.groupby(CELL)["gap"].max()
    off = worst[~(worst <= tolerance)].sort_values(ascending=False)
    ap = both[both["metric"] == "average_precision"].groupby(CELL)["gap"].max()
    return {"cells_compared": int(len(worst)), "cells_reproduced": int((worst <= tolerance).sum()),
            "values_compared": int(len(both)), "tolerance": tolerance,
            "not_reproduced": [{**dict(zip(CELL, k)), "max_gap": round(float(v), 6),
                                "max_ap_gap": round(float(ap.get(k, np.nan)), 6)} for k, v in off.items()],
            "by_model": {m: {"compared": int((worst.index.get_level_values("model") == m).sum()),
                             "reproduced": int(((worst <= tolerance) & (worst.index.get_level_values("model") == m)).sum())}
                         for m in worst.index.get_level_values("model").unique()}}


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("spec", type=Path, help="the published sweep's spec (e.g. benchmarks/full.yaml)")
    parser.add_argument("published", type=Path, help="the published folder (results.parquet, provenance.json)")
    parser.add_argument("--datasets", type=int, default=8, help="how many datasets to re-run")
    parser.add_argument("--seed", type=int, default=0, help="which ones (a seeded draw)")
    parser.add_argument("--jobs", type=int, default=2)
    parser.add_argument("--tolerance", type=float, default=1e-4)
    parser.add_argument("--write", action="store_true", help=f"write {FILE} into the published folder")
    args = parser.parse_args(argv)
    published = pd.read_parquet(args.published / PUBLISHED)
    names = subset(published, args.datasets, args.seed)
    with tempfile.TemporaryDirectory() as tmp:
        again, wall = rerun(args.spec, names, Path(tmp), args.jobs)
    prov = json.loads((args.published / "provenance.json").read_text())
    result = {"datasets": names, "machine": machine_info(), "wall_seconds": round(wall, 1),
              "spec_hash": prov.get("spec_hash"), "published_machine": prov.get("machine"),
              "measured": time.strftime("%Y-%m-%d"), **compare(published, again, args.tolerance)}
    text = json.dumps(result, indent=1, ensure_ascii=False)
    print(text)
    if args.write:
        (args.published / FILE).write_text(text + "\n")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
