"""``runner.py run SPEC --against DIR``: run only a new method's cells and report it against a
published sweep's per-fold table (the plan: :mod:`harness.plan.against`; the report side:
:mod:`harness.report.against`).

In order, each step stopping the run with one line (exit 2) where it fails: the published
spec is read and re-planned on SPEC's datasets, ratios and models; every split's fingerprint
is checked against the published one; CE is re-run on a few cells per model and accepted
within the regression gate's tolerances; then the new cells run, and the report of the
published rows plus the new ones is written into the run's own folder,
``<results-dir>/<name>/against/`` (never into DIR).
"""

from __future__ import annotations

import argparse
import json
import shutil
import sys
import time
from pathlib import Path

from harness.processes import process_tree_cpu_seconds


def _published_rows(published, spec, models: list[str]):
    """The published rows of the compared cells: SPEC's datasets and ratios, its models and the ensembles."""
    rows = published.rows([d.key for d in spec.datasets])
    ratios = {r if isinstance(r, str) else f"{r:g}" for r in spec.imbalance_ratios}
    return rows[rows["imbalance_ratio"].isin(ratios) & rows["model"].isin([*models, "ensemble"])]


def _run(spec, args: argparse.Namespace, uri, results_root: Path):
    from harness import run_benchmark

    return run_benchmark(spec, results_root=results_root, tracking_uri=uri, progress=not args.quiet,
                         threads=args.threads, storage=args.storage, fresh=args.fresh, jobs=args.jobs)


def _recheck(user, published, rows, args, uri, where: str) -> tuple[float, float]:
    """Re-run CE on a few cells per model; stop with one line outside the gate's tolerances.
    Returns its CPU seconds and the cost model's estimate of them (this machine's pace)."""
    from harness.errors import UserError
    from harness.plan import against
    from harness.report.against import recheck, recheck_line

    spec = against.recheck_spec(user, published, rows, args.recheck, where)
    cpu = process_tree_cpu_seconds()
    outcome = _run(spec, args, uri, Path(args.results_dir) / user.name)
    cpu = process_tree_cpu_seconds() - cpu
    report = recheck(rows[rows["method"] == against.RECHECK_METHOD], outcome.table)
    line = recheck_line(report, published.table)
    if outcome.failed or line:
        raise UserError(line or f"--against: ce re-check: {len(outcome.failed)} cell(s) failed: "
                                f"{outcome.failed[0].cell.label}: {outcome.failed[0].reason}")
    print(f"ce re-check: {len(outcome.cells)} cells ({', '.join(c.cell.label for c in outcome.cells)}), "
          f"{report.checked} metrics within the gate's tolerances of {published.table} ({outcome.seconds:.1f} s)")
    from harness.plan import cost
    from harness.plan.data import DataProvider

    estimated = sum(cost.estimates(cost.shapes(spec, [r.cell for r in outcome.cells], DataProvider(spec))))
    return cpu, estimated


def _full_rerun_estimate(published, spec, skipped, data) -> tuple[float, int]:
    """The cost model's CPU seconds for every published method plus the new ones on these cells
    (what comparing without ``--against`` would run), and that many cells; the (dataset, ratio)
    pairs the plan skipped (``skipped``: unreachable ratios) are left out, as a run leaves them."""
    from harness.plan import cost
    from harness.plan.cells import expand
    from harness.plan.checks import parse_spec

    full = spec.model_dump(mode="json")
    full["methods"] = [m for m in published.data["methods"]] + [m for m in full["methods"]]
    full_spec = parse_spec(full, source="--against (estimate)")
    cells = [c for c in expand(full_spec, data) if (c.dataset.key, c.ratio) not in skipped]
    return sum(cost.estimates(cost.shapes(full_spec, cells, data))), len(cells)


def cmd_run_against(args: argparse.Namespace) -> int:
    """``runner.py run SPEC --against DIR`` (see the module docstring)."""
    from harness import load_spec, quiet
    from harness.plan import against
    from harness.plan.data import DataProvider
    from harness.report import build as report
    from harness.report.against import verdict_lines
    from harness.running.benchmark import check_plan
    from harness.tracking.mlflow_tracker import resolve_tracking_uri

    quiet.libraries()
    _check_flags(args)
    started = time.perf_counter()
    user, published = load_spec(args.spec), against.load_published(Path(args.against))
    spec, new_keys = against.new_cells_spec(user, published, args.spec)
    target = _publish_target(args, user, published, spec) if args.publish else None  # refused before any work
    models = [m.key for m in spec.models]
    rows = _published_rows(published, spec, models)
    data = DataProvider(spec)
    skipped = check_plan(spec, data)
    splits = against.check_fingerprints(spec, data, rows, skipped, published.table)
    print(f"against {args.against} (spec hash {published.spec.spec_hash()}): {len(spec.datasets)} datasets × "
          f"{len(spec.imbalance_ratios)} ratios × models {', '.join(models)}; new: {', '.join(new_keys)}; "
          f"{splits} splits match the published fingerprints")
    uri = None if args.no_tracking else resolve_tracking_uri(args.tracking_uri)
    recheck = _recheck(user, published, rows, args, uri, args.spec)
    cpu = process_tree_cpu_seconds()
    outcome = _run(spec, args, uri, Path(args.results_dir))
    cpu = process_tree_cpu_seconds() - cpu
    if outcome.failed:
        print(f"{len(outcome.failed)} new cell(s) failed: {outcome.failed[0].cell.label}: {outcome.failed[0].reason}",
              file=sys.stderr)
    table, folder = _write_comparison(args, published, spec, rows, outcome, None if target is None else target[0])
    md, _, figures = report.build(folder)
    _print_times(published, spec, skipped, data, outcome, cpu, recheck, time.perf_counter() - started)
    print("\n".join(verdict_lines(table, new_keys)))
    print(f"report: {md} ({len(figures)} figures); published rows {len(rows)}, new rows {len(outcome.table)}")
    if target is not None and not outcome.failed:
        from harness.cli.publishing import publish_answer

        publish_answer(target[0], target[1], table, folder, Path(args.publish), md,
                       wall_seconds=time.perf_counter() - started, cells_run_here=len(outcome.cells))
    return 1 if outcome.failed else 0


def _check_flags(args: argparse.Namespace) -> None:
    from harness.errors import UserError

    for flag in ("data", "baseline"):
        if getattr(args, flag):
            raise UserError(f"--{flag}: does not combine with --against (which reports into the run's own folder)")
    if args.spec is None or args.recheck < 1:
        raise UserError("--against: expected a spec file naming the new method" if args.spec is None
                        else f"--recheck: expected at least 1 cell per model, got {args.recheck}")


def _publish_target(args: argparse.Namespace, user, published, spec):
    """(the combined spec, the spec file its provenance names) of ``--publish``: the published
    spec file where it hashes to the combined spec (the new methods added to it), else SPEC, with
    a note. Checked before any work."""
    from harness import load_spec
    from harness.plan import against

    described = user.description if "description" in user.model_fields_set else None
    whole = against.combined_spec(published, spec, args.spec, described)
    prov = published.folder / "provenance.json"
    source = json.loads(prov.read_text()).get("spec") if prov.is_file() else None
    if source is None or not Path(source).is_file() or load_spec(source).spec_hash() != whole.spec_hash():
        print(f"note: {source or 'the published spec file'} does not hash to the combined spec ({whole.spec_hash()}): "
              "add the new methods to it, so that one file reproduces the published answer", file=sys.stderr)
        source = args.spec
    return whole, source


def _write_comparison(args: argparse.Namespace, published, spec, rows, outcome, whole):
    """(table, folder): the published rows plus the new ones, written to ``<run>/against/``. Where
    they are published as one answer (``whole``: the combined spec) every row carries its name and
    hash, and a ``reproduction.json`` measured on the published spec's cells goes with them."""
    from harness.report.against import combined, tuning_rows, write_folder
    from harness.report.effects import REPRODUCTION

    table = combined(rows, outcome.table)
    folder = outcome.results_csv.parent / "against"
    tuning = tuning_rows(published.folder, outcome.results_csv.parent, table["dataset"].unique(),
                         outcome.table["method"].unique())
    if whole is None:
        written = {**published.data, "name": spec.name, "against": str(args.against),
                   "methods": [*published.data["methods"], *spec.model_dump(mode="json")["methods"]]}
        return table, write_folder(table, written, folder, tuning)
    table = table.assign(benchmark=whole.name, spec_hash=whole.spec_hash())
    write_folder(table, whole, folder, tuning)
    (folder / REPRODUCTION).unlink(missing_ok=True)  # a previous invocation's
    measured = published.folder / REPRODUCTION
    if measured.is_file() and json.loads(measured.read_text()).get("spec_hash") == published.spec.spec_hash():
        shutil.copy2(measured, folder / REPRODUCTION)
    return table, folder


def _print_times(published, spec, skipped, data, outcome, cpu: float, recheck: tuple[float, float], wall: float):
    """The new cells' time, the CE re-check's, and the cost model's estimate of a full re-run."""
    from harness.plan import cost

    recheck_cpu, recheck_estimate = recheck
    own = sum(cost.estimates(cost.shapes(spec, [r.cell for r in outcome.cells], data)))
    full, n_full = _full_rerun_estimate(published, spec, skipped, data)
    pace = recheck_cpu / recheck_estimate if recheck_estimate > 0 else 1.0  # this machine, a published method
    print(f"\nnew cells: {len(outcome.cells)} in {outcome.seconds:.1f} s wall, {cpu:.1f} s CPU (cost model: "
          f"{cost.duration(own)}); ce re-check {recheck_cpu:.1f} s CPU; whole --against {wall:.1f} s wall. A full "
          f"re-run of this comparison ({n_full} cells: every published method and the new ones) would take "
          f"{cost.duration(full)} of CPU by the cost model, {cost.duration(full * pace)} at the CPU pace measured "
          f"here on the ce re-check (×{pace:.1f} the model's)")
