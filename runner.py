#!/usr/bin/env python
"""Command line of the imbalanced-loss benchmark suite: a thin layer over ``harness``.

    python runner.py list benchmarks/smoke.yaml
    python runner.py run benchmarks/smoke.yaml [--tracking-uri URI | --no-tracking]
    python runner.py run --data my.csv --target label [--positive yes]
    python runner.py datasets [--collection keel-binary] [--task binary] [--max-rows N] [--min-ratio R]
"""

from __future__ import annotations

import argparse
import signal
import sys
import threading
from pathlib import Path


def _cmd_list(args: argparse.Namespace) -> int:
    from harness import expand, load_spec
    from harness.running.benchmark import check_plan
    from harness.plan.data import DataProvider

    spec = load_spec(args.spec)
    data = DataProvider(spec)
    skipped = check_plan(spec, data)
    cells = expand(spec, data)
    n_skipped = sum(1 for cell in cells if (cell.dataset.key, cell.ratio) in skipped)
    notes = [*(["ensembles once per dataset and ratio"] if any(c.model_key == "ensemble" for c in cells) else []),
             *(["`only` entries on part of the grid"] if spec.restricted else []),
             *([f"{len(skipped)} dataset-ratio pairs skipped"] if skipped else [])]
    print(f"{spec.name}: {len(cells) - n_skipped} cells "
          f"({len(spec.datasets)} datasets × {len(spec.imbalance_ratios)} ratios × {len(spec.models)} models "
          f"× {len(spec.methods)} methods{''.join('; ' + n for n in notes)}), "
          f"{spec.tuning.n_trials} trials and {spec.evaluation.repetitions} repetitions each")
    print(_estimate_line(spec, [c for c in cells if (c.dataset.key, c.ratio) not in skipped], data, args.jobs))
    for i, cell in enumerate(cells, 1):
        note = "  (skipped: unreachable ratio)" if (cell.dataset.key, cell.ratio) in skipped else ""
        print(f"{i:4d}  {cell.dataset.key:32s}  ρ={cell.ratio_label:>8s}  {cell.model_key:12s}  {cell.method}{note}")
    return 0


def _estimate_line(spec, cells, data, jobs: int) -> str:
    """The cost model's estimate for the cells, on ``jobs`` workers and on one."""
    from harness.plan import cost
    costs = cost.estimates(cost.shapes(spec, cells, data))
    return (f"estimated time: {cost.duration(cost.estimate(costs, jobs))} with --jobs {jobs} "
            f"({cost.duration(sum(costs))} of CPU; per-cell cost model in harness/plan/cost.py)")


def _cmd_run(args: argparse.Namespace) -> int:
    from harness import quiet, run_benchmark
    from harness.vocabulary import HEADLINE, HEADLINE_MULTICLASS
    from harness.store.results import summary
    from harness.tracking.mlflow_tracker import resolve_tracking_uri

    quiet.libraries()

    spec = _run_spec(args)
    baseline = None
    if args.baseline:
        from harness.report import gate
        baseline = gate.load_baseline(Path(args.baseline))
        gate.check_spec(baseline, spec.name, spec.spec_hash(), Path(args.baseline))  # before any work
    uri = None if args.no_tracking else resolve_tracking_uri(args.tracking_uri)
    outcome = run_benchmark(spec, results_root=Path(args.results_dir), tracking_uri=uri,
                            progress=not args.quiet, threads=args.threads, storage=args.storage, fresh=args.fresh,
                            jobs=args.jobs, executor=args.executor, scheduler=args.scheduler,
                            tuning_workers=args.tuning_workers)
    done = outcome.table
    multi = done["n_classes"] > 2  # the store's table: read_csv gives old tables n_classes 2
    tables = [summary(done[~multi], metrics=HEADLINE, calibrations=["raw", "closed_form"]),  # one table per task
              summary(done[multi], metrics=HEADLINE_MULTICLASS, calibrations=["raw", "closed_form"])]
    for table in [t for t in tables if not t.empty]:
        print(table.to_string())
    if any(not t.empty for t in tables):
        print("(mean ± std over repetitions; raw and closed-form calibration; every metric and variant is in the results file)")
    print(f"\n{len(outcome.cells)} cells in {outcome.seconds:.1f} s; results: {outcome.results_csv}"
          + (f"; tracking: {uri} (experiment {spec.name!r})" if uri else "; tracking off"))
    import resource

    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024  # KiB on Linux
    workers = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024
    print(f"wall time {outcome.seconds:.1f} s, peak memory {peak:.0f} MiB"
          + (f" (largest worker process {workers:.0f} MiB)" if args.jobs > 1 else ""))
    if uri:
        print(bookkeeping_line(outcome))
    if args.data or args.publish:
        from harness.report import build as report
        md, page, figures = report.build(outcome.results_csv.parent)
        print(f"report: {md} and {page} ({len(figures)} figures)")
        if uri:
            from harness.tracking.mlflow_tracker import log_report

            log_report(uri, outcome.results_csv.parent, [md, page, *figures])
        if args.publish and not outcome.failed:
            _publish(args, spec, outcome, md)
    code = 0
    if outcome.failed:
        print(f"{len(outcome.failed)} cell(s) failed:", file=sys.stderr)
        for r in outcome.failed:
            print(f"  {r.cell.label}: {r.reason}", file=sys.stderr)
        code = 1
    if baseline is not None:
        report = gate.compare(baseline, outcome.table)
        print("\n" + gate.format_report(report))
        code = code or (0 if report.passed else 1)
    return code


def _publish(args: argparse.Namespace, spec, outcome, report_md: Path) -> None:
    """Copy the run's answer into the committed folder ``--publish`` names."""
    from harness.report import publish
    prov = publish.provenance(spec, args.spec, outcome.table, command="python runner.py " + " ".join(sys.argv[1:]),
                              wall_seconds=outcome.seconds, cpu_seconds=process_tree_cpu_seconds(),
                              cells_run_here=len(outcome.cells))
    files = publish.publish(outcome.results_csv.parent, Path(args.publish), report_md, prov)
    size = sum(f.stat().st_size for f in files) / 2**20
    print(f"published: {args.publish} ({len(files)} files, {size:.1f} MiB)")


def _run_spec(args: argparse.Namespace):
    """The spec file, or the built-in spec for ``--data`` (with the hidden budget overrides)."""
    from harness import load_spec
    from harness.errors import UserError

    if (args.spec is None) == (args.data is None):
        raise UserError("run: expected a spec file or --data FILE --target COLUMN, got "
                        + ("both" if args.spec else "neither"))
    if args.spec:
        extra = [f for f in ("target", "positive", "n_trials", "repetitions", "max_epochs", "methods")
                 if getattr(args, f) is not None]
        if extra:
            raise UserError(f"--{extra[0].replace('_', '-')}: applies to --data only; a spec file sets its own")
        return load_spec(args.spec)
    if args.target is None:
        raise UserError("--target: expected the name of the label column of --data, got none")
    if args.publish:
        raise UserError("--publish: applies to a spec file (its provenance names the spec), not to --data")
    from harness.spec.from_data import data_spec

    overrides = {"tuning": {"n_trials": args.n_trials} if args.n_trials else {},
                 "evaluation": {"repetitions": args.repetitions} if args.repetitions else {},
                 "training": {"max_epochs": args.max_epochs} if args.max_epochs else {}}
    overrides = {k: v for k, v in overrides.items() if v} | ({"methods": args.methods} if args.methods else {})
    from harness.plan.checks import check

    return check(data_spec(args.data, args.target, args.positive, overrides=overrides), source=f"--data {Path(args.data).name}")


def process_tree_cpu_seconds() -> float:
    """User + system CPU time of this process and of its finished worker processes."""
    import resource

    own, workers = resource.getrusage(resource.RUSAGE_SELF), resource.getrusage(resource.RUSAGE_CHILDREN)
    return own.ru_utime + own.ru_stime + workers.ru_utime + workers.ru_stime


def bookkeeping_line(outcome) -> str:
    """MLflow's CPU time (its logging thread) as a share of the whole run's CPU, the wall time
    the run waited for it, and the time in Optuna."""
    wall, cpu = max(outcome.seconds, 1e-9), max(process_tree_cpu_seconds(), 1e-9)
    return (f"bookkeeping: MLflow used {outcome.tracking_call_seconds:.1f} s of CPU "
            f"({100 * outcome.tracking_call_seconds / cpu:.1f} % of the run's {cpu:.1f} s CPU, workers included), "
            f"waited {outcome.tracking_seconds:.1f} s for it ({100 * outcome.tracking_seconds / wall:.1f} % of the wall "
            f"time); {outcome.optuna_seconds:.1f} s in Optuna ({100 * outcome.optuna_seconds / wall:.1f} % of the wall time)")


def _read_results(folder: str):
    from harness.store.results import read_table

    return read_table(folder)


def _cmd_baseline(args: argparse.Namespace) -> int:
    from harness.report import gate
    baseline = gate.make_baseline(_read_results(args.results),
                                  {"k": args.k, "abs_floor": args.floor, "rel_floor": args.rel_floor})
    out = Path(args.out or f"results/baselines/{baseline['benchmark']}.json")
    gate.write_baseline(baseline, out)
    print(f"baseline: {len(baseline['entries'])} entries for {baseline['benchmark']!r} "
          f"(spec hash {baseline['spec_hash']}) written to {out}")
    return 0


def _cmd_gate(args: argparse.Namespace) -> int:
    from harness.report import gate
    report = gate.compare(gate.load_baseline(Path(args.baseline)), _read_results(args.results))
    print(gate.format_report(report))
    return 0 if report.passed else 1


def _cmd_datasets(args: argparse.Namespace) -> int:
    import harness  # noqa: F401  (makes the checkout's `datasets` importable)
    from datasets import DataError, catalogue
    from harness.errors import UserError

    filters = catalogue.Filters(collection=args.collection, task=args.task, max_rows=args.max_rows,
                                min_natural_ratio=args.min_ratio, max_natural_ratio=args.max_ratio)
    try:
        found = catalogue.entries(filters, min_test_minority=args.min_test_minority)
    except DataError as exc:
        raise UserError(f"datasets: {exc}") from None
    print("\n".join(catalogue.render(found, min_test_minority=args.min_test_minority)))
    if filters == catalogue.Filters():
        print("csv: your own CSV or Parquet file (spec entry {name: csv, params: {path, target, positive}}, "
              "or runner.py run --data FILE --target COLUMN)")
    return 0


def _cmd_report(args: argparse.Namespace) -> int:
    from harness.report import build as report
    folder = Path(args.results)
    md, page, figures = report.build(folder, rope=args.rope)
    print(f"report: {md} and {page} ({len(figures)} figures in {folder / 'report'})")
    if not args.no_tracking:
        from harness.tracking.mlflow_tracker import log_report, resolve_tracking_uri

        uri = resolve_tracking_uri(args.tracking_uri)
        run_id = log_report(uri, folder, [md, page, *figures])
        print(f"logged to the benchmark run {run_id} at {uri}" if run_id else
              f"no benchmark run for {folder.name!r} at {uri}: the report was not logged to MLflow")
    return 0


def _cmd_compare(args: argparse.Namespace) -> int:
    import pandas as pd

    from harness.report import build as report
    diff = report.compare(Path(args.a), Path(args.b), calibration=args.calibration)
    if args.metric:
        diff = diff[diff.index.get_level_values("metric").isin(args.metric)]
    with pd.option_context("display.max_rows", None, "display.width", 200):
        print(diff.to_string(float_format=lambda v: f"{v:.4f}"))
    return 0


def _non_negative(text: str) -> float:
    value = float(text)
    if not value >= 0:
        raise argparse.ArgumentTypeError(f"expected a number ≥ 0, got {text!r}")
    return value


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="runner.py", description=__doc__.splitlines()[0])
    sub = parser.add_subparsers(dest="command", required=True)
    p = sub.add_parser("list", help="print the cells of a spec and the estimated time, without running them")
    p.add_argument("spec", help="benchmark spec (YAML)")
    p.add_argument("--jobs", type=int, default=2, help="worker processes the estimate assumes (default 2)")
    p.set_defaults(func=_cmd_list)
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
    p.set_defaults(func=_cmd_run)
    p = sub.add_parser("report", help="write report.md and report.html for a results folder")
    p.add_argument("results", help="results folder, e.g. results/default")
    p.add_argument("--rope", type=_non_negative, default=0.01,
                   help="region of practical equivalence of the Bayesian tests: absolute on [0, 1] metrics, "
                        "relative to ce's median on log loss (default 0.01)")
    track = p.add_mutually_exclusive_group()
    track.add_argument("--tracking-uri", help="MLflow store holding the benchmark run (default as for run)")
    track.add_argument("--no-tracking", action="store_true", help="do not log the report to MLflow")
    p.set_defaults(func=_cmd_report)
    p = sub.add_parser("compare", help="metric differences between two results folders (B - A)")
    p.add_argument("a")
    p.add_argument("b")
    p.add_argument("--metric", action="append", help="only this metric (repeatable)")
    p.add_argument("--calibration", default="raw", help="calibration variant (default raw)")
    p.set_defaults(func=_cmd_compare)
    p = sub.add_parser("datasets", help="list the dataset catalogue")
    p.add_argument("--min-test-minority", type=int, default=10, help="as the spec key (default 10)")
    p.add_argument("--task", choices=("binary", "multiclass"), help="only binary or only multi-class sets")
    p.add_argument("--max-rows", type=int, help="at most this many rows")
    p.add_argument("--min-ratio", type=float, help="natural ratio n_max / n_min at least R")
    p.add_argument("--max-ratio", type=float, help="natural ratio n_max / n_min at most R")
    p.add_argument("--collection", help="one collection (keel-binary, keel-multiclass, krnn-binary, krnn-multiclass, "
                   "sklearn, synthetic) or a name prefix (keel, krnn)")
    p.set_defaults(func=_cmd_datasets)
    p = sub.add_parser("baseline", help="write a regression baseline from a results folder")
    p.add_argument("results", help="results folder, e.g. results/smoke")
    p.add_argument("--out", help="baseline file (default: results/baselines/<benchmark>.json)")
    p.add_argument("--k", type=float, default=3.0, help="tolerance in standard errors of a difference (default 3)")
    p.add_argument("--floor", type=float, default=0.01, help="smallest tolerance (default 0.01)")
    p.add_argument("--rel-floor", type=float, default=0.05, help="relative floor for unbounded metrics (default 0.05)")
    p.set_defaults(func=_cmd_baseline)
    p = sub.add_parser("gate", help="compare a results folder with a baseline (exit 1 on regressions)")
    p.add_argument("results", help="results folder, e.g. results/smoke")
    p.add_argument("--baseline", required=True, help="baseline file")
    p.set_defaults(func=_cmd_gate)
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
