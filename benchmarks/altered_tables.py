"""Does the report name what is there, and only that? Three altered copies of a results folder's
per-fold table go through ``runner.py report``, the command a reader runs, and its verdicts
(``report/comparisons.csv``) are checked:

- **null**: method labels permuted within each dataset × ratio × repeat × fold block
  (:func:`harness.report.effects.null_table`): no comparison may be called better or worse;
- **planted**: ``focal``'s AP raised by ``--planted`` × its MDE in one regime (model ``mlp``,
  ρ 10–50): ``focal`` named better there, in no other regime, and nothing else named;
- **small**: ``focal``'s AP raised by 0.4 × the ROPE in every cell: never called better.

    python -m benchmarks.altered_tables results/published/full --out results/altered

Each report takes about 1.5 minutes on the published sweep (2 cores). Exit 1 when a check fails.
The false-winner *rate* over hundreds of null tables is measured by
``benchmarks/perf/null_tables.py`` (the same decision, without the markdown and figures).
"""

from __future__ import annotations

import argparse
import subprocess
import sys
from pathlib import Path

import pandas as pd

from harness.report import decision, effects
from harness.report.build import FAMILY_METRICS
from harness.store.results import read_table, write_parquet

ROOT = Path(__file__).resolve().parents[1]
MODEL, REGIME, METHOD, METRIC = "mlp", "ρ 10–50", "focal", "average_precision"


KEY = ["question", "task", "family", "metric", "method", "baseline", "scope", "calibration", "verdict"]


def _claims(comparisons: pd.DataFrame) -> pd.DataFrame:
    return comparisons[comparisons["verdict"].isin(["better", "worse"])]


def _keys(comparisons: pd.DataFrame) -> set[tuple]:
    return set(_claims(comparisons)[KEY].itertuples(index=False, name=None))


def _in_regime(table: pd.DataFrame) -> pd.Series:
    """Rows of ``table`` in the planted regime (model :data:`MODEL`, ρ bucket :data:`REGIME`)."""
    rho = decision.with_regimes(table)["rho"]
    return (table["model"] == MODEL) & (rho == REGIME)


def decided(table: pd.DataFrame) -> pd.DataFrame:
    """The report's comparisons of ``table`` (raw, and the probabilities after the post-hoc
    variant), as ``report/comparisons.csv`` holds them."""
    evidence = effects.compare(decision.with_regimes(table), metrics=FAMILY_METRICS)  # as the report decides
    return pd.concat([evidence.table.assign(calibration="raw"),
                      evidence.posthoc.assign(calibration=effects.POSTHOC)], ignore_index=True)


def altered(table: pd.DataFrame, original: pd.DataFrame, *, planted: float,
            seed: int) -> dict[str, tuple[pd.DataFrame, str]]:
    """The three copies of ``table`` by name, each with what it holds in words; ``original``:
    the unaltered table's comparisons (:func:`decided`), whose MDE sizes the planted effect."""
    row = original[(original["question"] == "loss") & (original["family"] == MODEL) & (original["scope"] == REGIME)
                   & (original["method"] == METHOD) & (original["metric"] == METRIC)
                   & (original["calibration"] == "raw")].iloc[0]
    effect, small = planted * float(row["mde"]), 0.4 * effects.ROPE
    everywhere = lambda t: pd.Series(True, index=t.index)
    return {
        "null": (effects.null_table(table, seed), "method labels permuted within dataset × ratio × repeat × fold"),
        "planted": (effects.planted_table(table, _in_regime, effect, METRIC, method=METHOD),
                    f"{METHOD} {METRIC} +{effect:.4f} ({planted:g} × MDE {row['mde']:.4f}) in {MODEL} · {REGIME}"),
        "small": (effects.planted_table(table, everywhere, small, METRIC, method=METHOD),
                  f"{METHOD} {METRIC} +{small:g} (0.4 × ROPE) everywhere"),
    }


BORDERLINE = 0.10  # Holm-adjusted p of a claim the unaltered table nearly made


def _original_holm(original: pd.DataFrame, key: tuple) -> float:
    """The unaltered table's Holm-adjusted p for claim ``key`` (its direction's), NaN if absent."""
    column = "holm_better" if key[-1] == "better" else "holm_worse"
    if column not in original:
        return float("nan")
    found = original.set_index(KEY[:-1])[column].to_dict()
    return float(found.get(key[:-1], float("nan")))


def check(name: str, comparisons: pd.DataFrame, original: pd.DataFrame) -> tuple[bool, str]:
    """Whether the report's verdicts on copy ``name`` are right, and what they were. Null: no
    claim at all. Planted: ``focal`` better on AP in the planted regime only; any other claim the
    unaltered table did not make must have been borderline there (Holm-adjusted p ≤
    :data:`BORDERLINE`): Holm's step-down relaxes every later threshold once the planted effect is
    rejected, so claims at the edge may cross it. Small: ``focal`` never better on AP."""
    claims = _claims(comparisons)
    focal = claims[(claims["method"] == METHOD) & (claims["metric"] == METRIC) & (claims["verdict"] == "better")]
    new = _keys(comparisons) - _keys(original)
    listed = lambda keys: "; ".join(" ".join(map(str, k[1:])) for k in sorted(keys)) or "none"
    if name == "null":
        return claims.empty, f"{len(claims)} claims: {listed(_keys(comparisons))}"
    named = {(r.family, r.scope) for r in focal.itertuples()}
    if name == "planted":
        others = {k: _original_holm(original, k) for k in new if not (k[4] == METHOD and k[3] == METRIC)}
        ok = named == {(MODEL, REGIME)} and all(p <= BORDERLINE for p in others.values())
        words = "; ".join(f"{' '.join(map(str, k[1:]))} (Holm p {p:.3f} unaltered)" for k, p in sorted(others.items()))
        return ok, (f"{METHOD} better on {METRIC} in {sorted(named) or 'no regime'}; other claims the unaltered "
                    f"table does not make: {words or 'none'}")
    return not named, f"{METHOD} better on {METRIC} in {sorted(named) or 'no regime'}; new claims: {listed(new)}"


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("results", type=Path, help="a results folder (results.parquet or results.csv)")
    parser.add_argument("--out", type=Path, required=True, help="where the three altered folders go")
    parser.add_argument("--planted", type=float, default=3.0, help="the planted effect in MDEs")
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args(argv)
    table = read_table(args.results)
    original = decided(table)
    print(f"unaltered: {len(_claims(original))} claims (better or worse) among {len(original)} comparisons")
    failed = 0
    for name, (frame, what) in altered(table, original, planted=args.planted, seed=args.seed).items():
        folder = args.out / name
        folder.mkdir(parents=True, exist_ok=True)
        write_parquet(frame, folder / "results.parquet")
        subprocess.run([sys.executable, str(ROOT / "runner.py"), "report", str(folder), "--no-tracking"],
                       check=True, cwd=ROOT, stdout=subprocess.DEVNULL)
        ok, text = check(name, pd.read_csv(folder / "report" / effects.COMPARISONS), original)
        failed += not ok
        print(f"{name} ({what}): {'OK' if ok else 'FAILED'} — {text}", flush=True)
    return 1 if failed else 0


if __name__ == "__main__":
    raise SystemExit(main())
