#!/usr/bin/env python
"""Command line of the imbalanced-loss benchmark suite: a thin layer over ``harness``.

    python runner.py list benchmarks/smoke.yaml
    python runner.py run benchmarks/smoke.yaml [--tracking-uri URI | --no-tracking]
    python runner.py run my_loss.yaml --against results/published/full
    python runner.py run --data my.csv --target label [--positive yes]
    python runner.py datasets [--collection keel-binary] [--task binary] [--max-rows N] [--min-ratio R]
"""

from __future__ import annotations

import argparse
import signal
import sys
import threading

from harness.cli import commands


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="runner.py", description=__doc__.splitlines()[0])
    sub = parser.add_subparsers(dest="command", required=True)
    for add in (_list_parser, _run_parser, _report_parser, _compare_parser, _datasets_parser, _baseline_parser,
                _gate_parser):
        add(sub)
    return parser


def _list_parser(sub) -> None:
    p = sub.add_parser("list", help="print the cells of a spec and the estimated time, without running them")
    p.add_argument("spec", help="benchmark spec (YAML)")
    p.add_argument("--jobs", type=int, default=2, help="worker processes the estimate assumes (default 2)")
    p.set_defaults(func=commands.cmd_list)


def _run_parser(sub) -> None:
    p = sub.add_parser("run", help="run a benchmark spec, or the default methods on your own file (--data)")
    p.add_argument("spec", nargs="?", help="benchmark spec (YAML)")
    p.add_argument("--data", help="your CSV or Parquet file instead of a spec: the default methods at its natural "
                   "and two controlled ratios, then the report")
    p.add_argument("--target", help="with --data: the label column")
    p.add_argument("--positive", help="with --data: the positive (minority) label (default: the rarest label)")
    for flag in ("--n-trials", "--repetitions", "--max-epochs"):  # hidden: a smaller budget for --data (tests)
        p.add_argument(flag, type=int, help=argparse.SUPPRESS)
    p.add_argument("--methods", type=lambda text: text.split(","), help=argparse.SUPPRESS)
    track = p.add_mutually_exclusive_group()
    track.add_argument("--tracking-uri", help="MLflow store (default: $MLFLOW_TRACKING_URI or sqlite:///mlflow.db)")
    track.add_argument("--no-tracking", action="store_true", help="run without MLflow")
    p.add_argument("--results-dir", default="results", help="root of the results folders (default: results)")
    p.add_argument("--threads", type=int, default=1, help="torch threads per process (default: 1)")
    p.add_argument("--jobs", type=int, default=1, help="cells in parallel, in worker processes (default: 1)")
    p.add_argument("--executor", choices=("local", "dask"), default="local",
                   help="where cells run: local worker processes (--jobs) or a Dask cluster (--scheduler)")
    p.add_argument("--scheduler", help="Dask scheduler address, e.g. tcp://10.0.0.5:8786 (with --executor dask)")
    p.add_argument("--tuning-workers", type=int, default=1,
                   help="split each cell's trials between this many workers sharing its study (not reproducible; default 1)")
    p.add_argument("--storage", help="Optuna storage URL, e.g. postgresql://user@host/db (default: "
                   "results/<benchmark>/optuna.journal; 'memory' for none)")
    p.add_argument("--fresh", action="store_true", help="delete this spec's stored Optuna studies and tune from scratch")
    p.add_argument("--quiet", action="store_true", help="no progress bar")
    p.add_argument("--baseline", help="gate the results against this baseline file (exit 1 on regressions)")
    p.add_argument("--publish", metavar="DIR", help="after the run: write the report and copy it, its figures, "
                   "summary.csv and provenance.json into DIR (e.g. results/published/full)")
    p.add_argument("--against", metavar="DIR", help="run only the methods of SPEC that the published sweep in DIR "
                   "lacks, on its settings and splits (checked), and report them against its per-fold table, e.g. "
                   "results/published/full")
    p.add_argument("--recheck", type=int, default=2, metavar="N",
                   help="with --against: published ce cells re-run per model to check this machine (default 2)")
    p.set_defaults(func=commands.cmd_run)


def _report_parser(sub) -> None:
    p = sub.add_parser("report", help="write report.md and report.html for a results folder")
    p.add_argument("results", help="results folder, e.g. results/default")
    p.add_argument("--rope", type=commands.non_negative, default=0.01,
                   help="region of practical equivalence of the Bayesian tests: absolute on [0, 1] metrics, "
                        "relative to ce's median on log loss (default 0.01)")
    track = p.add_mutually_exclusive_group()
    track.add_argument("--tracking-uri", help="MLflow store holding the benchmark run (default as for run)")
    track.add_argument("--no-tracking", action="store_true", help="do not log the report to MLflow")
    p.set_defaults(func=commands.cmd_report)


def _compare_parser(sub) -> None:
    p = sub.add_parser("compare", help="metric differences between two results folders (B - A)")
    p.add_argument("a")
    p.add_argument("b")
    p.add_argument("--metric", action="append", help="only this metric (repeatable)")
    p.add_argument("--calibration", default="raw", help="calibration variant (default raw)")
    p.set_defaults(func=commands.cmd_compare)


def _datasets_parser(sub) -> None:
    p = sub.add_parser("datasets", help="list the dataset catalogue")
    p.add_argument("--min-test-minority", type=int, default=10, help="as the spec key (default 10)")
    p.add_argument("--task", choices=("binary", "multiclass"), help="only binary or only multi-class sets")
    p.add_argument("--max-rows", type=int, help="at most this many rows")
    p.add_argument("--min-ratio", type=float, help="natural ratio n_max / n_min at least R")
    p.add_argument("--max-ratio", type=float, help="natural ratio n_max / n_min at most R")
    p.add_argument("--collection", help="one collection (keel-binary, keel-multiclass, krnn-binary, krnn-multiclass, "
                   "sklearn, synthetic) or a name prefix (keel, krnn)")
    p.set_defaults(func=commands.cmd_datasets)


def _baseline_parser(sub) -> None:
    p = sub.add_parser("baseline", help="write a regression baseline from a results folder")
    p.add_argument("results", help="results folder, e.g. results/smoke")
    p.add_argument("--out", help="baseline file (default: results/baselines/<benchmark>.json)")
    p.add_argument("--k", type=float, default=3.0, help="tolerance in standard errors of a difference (default 3)")
    p.add_argument("--floor", type=float, default=0.01, help="smallest tolerance (default 0.01)")
    p.add_argument("--rel-floor", type=float, default=0.05, help="relative floor for unbounded metrics (default 0.05)")
    p.set_defaults(func=commands.cmd_baseline)


def _gate_parser(sub) -> None:
    p = sub.add_parser("gate", help="compare a results folder with a baseline (exit 1 on regressions)")
    p.add_argument("results", help="results folder, e.g. results/smoke")
    p.add_argument("--baseline", required=True, help="baseline file")
    p.set_defaults(func=commands.cmd_gate)

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
