"""The commands of ``runner.py``, one function each, over the library: parse nothing, print
what the user reads, return the exit code (0 ok, 1 failed cells or a failed gate; a
:class:`~harness.errors.UserError` becomes one line and exit code 2 in ``runner.main``).

This package is the top layer: it combines running, the report and the gate, which do not
import each other. Heavy libraries load inside the commands that need them.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from harness.processes import process_tree_cpu_seconds


def _fits_words(spec) -> str:
    ev = spec.evaluation
    if ev.protocol == "cv":
        return f"{ev.folds}-fold CV × {ev.repetitions} repeat{'s' if ev.repetitions > 1 else ''}"
    return f"{ev.repetitions} repetitions"


def cmd_list(args: argparse.Namespace) -> int:
    from harness import expand, load_spec
    from harness.plan.data import DataProvider
    from harness.running.benchmark import check_plan

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
          f"{spec.tuning.n_trials} trials and {_fits_words(spec)} each")
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


def cmd_run(args: argparse.Namespace) -> int:
    """``runner.py run``: run the spec (or ``--data``), print its summary, then the report, the
    published answer and the gate where asked."""
    if getattr(args, "against", None):
        from harness.cli.against import cmd_run_against

        return cmd_run_against(args)
    from harness import quiet, run_benchmark
    from harness.tracking.mlflow_tracker import resolve_tracking_uri

    quiet.libraries()
    spec = _run_spec(args)
    baseline = _baseline(args, spec)  # a wrong baseline stops the run before any work
    uri = None if args.no_tracking else resolve_tracking_uri(args.tracking_uri)
    outcome = run_benchmark(spec, results_root=Path(args.results_dir), tracking_uri=uri,
                            progress=not args.quiet, threads=args.threads, storage=args.storage, fresh=args.fresh,
                            jobs=args.jobs, executor=args.executor, scheduler=args.scheduler,
                            tuning_workers=args.tuning_workers)
    _print_summary(outcome.table)
    print(f"\n{len(outcome.cells)} cells in {outcome.seconds:.1f} s; results: {outcome.results_csv}"
          + (f"; tracking: {uri} (experiment {spec.name!r})" if uri else "; tracking off"))
    print(_resources_line(outcome, args.jobs))
    if uri:
        print(bookkeeping_line(outcome))
    if args.data or args.publish:
        _report(args, spec, outcome, uri)
    if args.data:
        _verdict(outcome)
    return max(_failed_cells(outcome), _gate(baseline, outcome))


def _baseline(args: argparse.Namespace, spec) -> dict | None:
    """The ``--baseline`` file, checked against the spec (None: no gate)."""
    if not args.baseline:
        return None
    from harness.report import gate

    baseline = gate.load_baseline(Path(args.baseline))
    gate.check_spec(baseline, spec.name, spec.spec_hash(), Path(args.baseline))
    return baseline


def _print_summary(done) -> None:
    """Headline metrics, mean ± std over repetitions, one table per task."""
    from harness.store.results import summary
    from harness.vocabulary import HEADLINE, HEADLINE_MULTICLASS

    multi = done["n_classes"] > 2  # the store's table: read_table gives old tables n_classes 2
    tables = [summary(done[~multi], metrics=HEADLINE, calibrations=["raw", "closed_form"]),
              summary(done[multi], metrics=HEADLINE_MULTICLASS, calibrations=["raw", "closed_form"])]
    for table in [t for t in tables if not t.empty]:
        print(table.to_string())
    if any(not t.empty for t in tables):
        print("(mean ± std over repetitions; raw and closed-form calibration; every metric and variant is in the results file)")


def _resources_line(outcome, jobs: int) -> str:
    import resource

    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024  # KiB on Linux
    workers = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024
    return (f"wall time {outcome.seconds:.1f} s, peak memory {peak:.0f} MiB"
            + (f" (largest worker process {workers:.0f} MiB)" if jobs > 1 else ""))


def _report(args: argparse.Namespace, spec, outcome, uri: str | None) -> None:
    """The run's report (logged to MLflow when tracking), then ``--publish``."""
    from harness.report import build as report

    md, page, figures = report.build(outcome.results_csv.parent)
    print(f"report: {md} and {page} ({len(figures)} figures)")
    if uri:
        from harness.tracking.mlflow_tracker import log_report

        log_report(uri, outcome.results_csv.parent, [md, page, *figures])
    if args.publish and not outcome.failed:
        _publish(args, spec, outcome, md)


def _verdict(outcome) -> None:
    """``--data``: each method against ce on the user's file (the correlated t-test over its test
    folds), printed last and kept as ``verdict.md`` beside the results."""
    from harness.report import own_data

    lines, path = own_data.write_verdict(outcome.results_csv.parent)
    print("\n" + "\n".join(lines) + f"\nverdict: {path}")


def _failed_cells(outcome) -> int:
    if not outcome.failed:
        return 0
    print(f"{len(outcome.failed)} cell(s) failed:", file=sys.stderr)
    for r in outcome.failed:
        print(f"  {r.cell.label}: {r.reason}", file=sys.stderr)
    return 1


def _gate(baseline: dict | None, outcome) -> int:
    if baseline is None:
        return 0
    from harness.report import gate

    report = gate.compare(baseline, outcome.table)
    print("\n" + gate.format_report(report))
    return 0 if report.passed else 1


def _publish(args: argparse.Namespace, spec, outcome, report_md: Path) -> None:
    """Copy the run's answer into the committed folder ``--publish`` names."""
    from harness.cli.publishing import publish_answer

    publish_answer(spec, args.spec, outcome.table, outcome.results_csv.parent, Path(args.publish), report_md,
                   wall_seconds=outcome.seconds, cells_run_here=len(outcome.cells))


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


def bookkeeping_line(outcome) -> str:
    """MLflow's CPU time (its logging thread) as a share of the whole run's CPU, the wall time
    the run waited for it, and the time in Optuna."""
    wall, cpu = max(outcome.seconds, 1e-9), max(process_tree_cpu_seconds(), 1e-9)
    return (f"bookkeeping: MLflow used {outcome.tracking_call_seconds:.1f} s of CPU "
            f"({100 * outcome.tracking_call_seconds / cpu:.1f} % of the run's {cpu:.1f} s CPU, workers included), "
            f"waited {outcome.tracking_seconds:.1f} s for it ({100 * outcome.tracking_seconds / wall:.1f} % of the wall "
            f"time); {outcome.optuna_seconds:.1f} s in Optuna ({100 * outcome.optuna_seconds / wall:.1f} % of the wall time)")


def cmd_baseline(args: argparse.Namespace) -> int:
    from harness.report import gate
    from harness.store.results import read_table

    baseline = gate.make_baseline(read_table(args.results),
                                  {"k": args.k, "abs_floor": args.floor, "rel_floor": args.rel_floor})
    out = Path(args.out or f"results/baselines/{baseline['benchmark']}.json")
    gate.write_baseline(baseline, out)
    print(f"baseline: {len(baseline['entries'])} entries for {baseline['benchmark']!r} "
          f"(spec hash {baseline['spec_hash']}) written to {out}")
    return 0


def cmd_gate(args: argparse.Namespace) -> int:
    from harness.report import gate
    from harness.store.results import read_table

    report = gate.compare(gate.load_baseline(Path(args.baseline)), read_table(args.results))
    print(gate.format_report(report))
    return 0 if report.passed else 1


def cmd_datasets(args: argparse.Namespace) -> int:
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


def cmd_report(args: argparse.Namespace) -> int:
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


def cmd_compare(args: argparse.Namespace) -> int:
    import pandas as pd

    from harness.report import build as report

    diff = report.compare(Path(args.a), Path(args.b), calibration=args.calibration)
    if args.metric:
        diff = diff[diff.index.get_level_values("metric").isin(args.metric)]
    with pd.option_context("display.max_rows", None, "display.width", 200):
        print(diff.to_string(float_format=lambda v: f"{v:.4f}"))
    return 0


def non_negative(text: str) -> float:
    value = float(text)
    if not value >= 0:
        raise argparse.ArgumentTypeError(f"expected a number ≥ 0, got {text!r}")
    return value
