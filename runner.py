#!/usr/bin/env python
"""Command line of the imbalanced-loss benchmark suite: a thin layer over ``harness``.

    python runner.py list benchmarks/smoke.yaml
    python runner.py run benchmarks/smoke.yaml [--tracking-uri URI | --no-tracking]
"""

from __future__ import annotations

import argparse
import signal
import sys
import threading
from pathlib import Path


def _cmd_list(args: argparse.Namespace) -> int:
    from harness import expand, load_spec
    from harness.benchmark import check_plan
    from harness.pipeline import DataProvider

    spec = load_spec(args.spec)
    skipped = check_plan(spec, DataProvider(spec))
    cells = expand(spec)
    print(f"{spec.name}: {len(cells) - sum(len(spec.methods) for _ in skipped)} cells "
          f"({len(spec.datasets)} datasets × {len(spec.imbalance_ratios)} ratios × {len(spec.methods)} methods"
          f"{f', {len(skipped)} dataset-ratio pairs skipped' if skipped else ''}), "
          f"{spec.tuning.n_trials} trials and {spec.evaluation.repetitions} repetitions each")
    for i, cell in enumerate(cells, 1):
        note = "  (skipped: unreachable ratio)" if (cell.dataset.key, cell.ratio) in skipped else ""
        print(f"{i:4d}  {cell.dataset.key:32s}  ρ={cell.ratio_label:>8s}  {cell.method}{note}")
    return 0


def _cmd_run(args: argparse.Namespace) -> int:
    from harness import load_spec, run_benchmark
    from harness.results import summary
    from harness.tracking import resolve_tracking_uri

    spec = load_spec(args.spec)
    uri = None if args.no_tracking else resolve_tracking_uri(args.tracking_uri)
    outcome = run_benchmark(spec, results_root=Path(args.results_dir), tracking_uri=uri,
                            progress=not args.quiet, threads=args.threads)
    table = summary(outcome.table)
    if not table.empty:
        print(table.to_string())
    print(f"\n{len(outcome.cells)} cells in {outcome.seconds:.1f} s; results: {outcome.results_csv}"
          + (f"; tracking: {uri} (experiment {spec.name!r})" if uri else "; tracking off"))
    if outcome.failed:
        print(f"{len(outcome.failed)} cell(s) failed:", file=sys.stderr)
        for r in outcome.failed:
            print(f"  {r.cell.label}: {r.reason}", file=sys.stderr)
        return 1
    return 0


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="runner.py", description=__doc__.splitlines()[0])
    sub = parser.add_subparsers(dest="command", required=True)
    p = sub.add_parser("list", help="print the cells of a spec without running them")
    p.add_argument("spec", help="benchmark spec (YAML)")
    p.set_defaults(func=_cmd_list)
    p = sub.add_parser("run", help="run a benchmark spec")
    p.add_argument("spec", help="benchmark spec (YAML)")
    track = p.add_mutually_exclusive_group()
    track.add_argument("--tracking-uri", help="MLflow store (default: $MLFLOW_TRACKING_URI or sqlite:///mlflow.db)")
    track.add_argument("--no-tracking", action="store_true", help="run without MLflow")
    p.add_argument("--results-dir", default="results", help="root of the results folders (default: results)")
    p.add_argument("--threads", type=int, default=1, help="torch threads (default: 1)")
    p.add_argument("--quiet", action="store_true", help="no progress bar")
    p.set_defaults(func=_cmd_run)
    return parser


def main(argv: list[str] | None = None) -> int:
    if hasattr(signal, "SIGPIPE") and threading.current_thread() is threading.main_thread():
        signal.signal(signal.SIGPIPE, signal.SIG_DFL)  # `runner.py list ... | head` ends quietly
    args = build_parser().parse_args(argv)
    from harness.errors import UserError

    try:
        return args.func(args)
    except UserError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print("interrupted", file=sys.stderr)
        return 130


if __name__ == "__main__":
    sys.exit(main())
