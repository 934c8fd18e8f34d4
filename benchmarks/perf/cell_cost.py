"""Fit the per-cell cost model (``harness/plan/cell_cost.json``) on a sample of specs' cells.

    python -m benchmarks.perf.cell_cost [--spec benchmarks/full.yaml [--spec ...]] [--cells 48] [--jobs 2] [--write]

Samples ``--cells`` cells of each spec across learner families and training sizes (evenly spaced
over the sorted rows of each family, seeded), runs each through ``harness.running.cell.run_cell``
and ``write_cell_outputs`` in one of ``--jobs`` single-threaded worker processes, times its CPU
(``time.process_time``), and fits :class:`harness.plan.cost.CostModel` on all specs' cells at once
(a family's class coefficient is fitted only where its cells' classes vary: give a binary and a
multi-class spec for that). Prints per family the fit's spread (measured / predicted) and each
spec's whole estimate; ``--write`` saves the coefficients (families no spec samples keep theirs),
which ``runner.py list`` and the progress bar then use.
"""

from __future__ import annotations

import argparse
import functools
import platform
import tempfile
import time
from concurrent.futures import ProcessPoolExecutor
from pathlib import Path

import numpy as np
import torch

from harness import load_spec, quiet
from harness.plan import cost
from harness.plan.cost import CostModel, Shape
from harness.plan.data import DataProvider
from harness.running.benchmark import _plan
from harness.running.cell import run_cell
from harness.running.outputs import write_cell_outputs

from ._table import Row



def sample(shapes: list[Shape], n: int, seed: int) -> list[int]:
    """Indices of about ``n`` cells: per family, evenly spaced over the cells sorted by rows
    (a share by family size, at least 6 each), ties broken by a seeded shuffle."""
    rng = np.random.default_rng(seed)
    families = sorted({s.family for s in shapes})
    chosen = []
    for fam in families:
        idx = [i for i, s in enumerate(shapes) if s.family == fam]
        idx = sorted(rng.permutation(idx), key=lambda i: shapes[i].rows)
        k = min(len(idx), max(6, round(n * len(idx) / len(shapes))))
        chosen += [idx[j] for j in np.unique(np.linspace(0, len(idx) - 1, k).round().astype(int))]
    return chosen


@functools.cache
def _planned(path: str) -> tuple:
    """The spec at ``path``, its data provider and its cells, planned once per process (the
    forked workers inherit the main process's plans)."""
    spec = load_spec(path)
    data = DataProvider(spec)
    return spec, data, _plan(spec, data)


def _time_cell(args) -> float:
    spec_path, index, out_dir = args
    quiet.libraries()
    torch.set_num_threads(1)
    torch.use_deterministic_algorithms(True)
    spec, data, cells = _planned(spec_path)
    start = time.process_time()
    result = run_cell(spec, cells[index], data)
    write_cell_outputs(spec, result, Path(out_dir))
    return time.process_time() - start


def main(argv: list[str] | None = None) -> tuple[list[Shape], list[float]]:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--spec", action="append", help="a spec to sample (again for more; default benchmarks/full.yaml)")
    p.add_argument("--cells", type=int, default=48, help="cells sampled per spec")
    p.add_argument("--jobs", type=int, default=2)
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--write", action="store_true", help="save the fitted coefficients to harness/plan/cell_cost.json")
    args = p.parse_args(argv)
    quiet.libraries()
    paths = args.spec or ["benchmarks/full.yaml"]
    planned = {}
    for path in paths:
        spec, data, cells = _planned(path)
        planned[path] = cost.shapes(spec, cells, data)
    chosen = [(path, i) for path in paths for i in sample(planned[path], args.cells, args.seed)]
    print(f"timing {len(chosen)} cells of {', '.join(f'{path} ({len(planned[path])})' for path in paths)} "
          f"on {args.jobs} worker(s) ...", flush=True)
    with tempfile.TemporaryDirectory() as tmp, ProcessPoolExecutor(args.jobs) as pool:
        seconds = list(pool.map(_time_cell, [(path, i, tmp) for path, i in chosen]))
    picked = [planned[path][i] for path, i in chosen]
    model = CostModel.fit(picked, seconds, fitted_on=f"{len(chosen)} cells of {' and '.join(paths)}, "
                                                     f"{platform.processor() or platform.machine()}")
    _show(model, picked, seconds)
    for path, shapes in planned.items():
        print(f"  whole spec {path}: {len(shapes)} cells, {sum(model.seconds(s) for s in shapes) / 3600:.2f} "
              "CPU hours by the model")
    if args.write:
        kept = CostModel.load() if cost.COEFFICIENTS.exists() else CostModel({})
        others = {f: c for f, c in kept.coefficients.items() if f not in model.coefficients}
        note = f"; kept from before: {', '.join(others)} ({kept.fitted_on})" if others else ""
        CostModel({**model.coefficients, **others}, model.fitted_on + note).save()
        print(f"  wrote harness/plan/cell_cost.json (families not sampled kept: {', '.join(others) or 'none'})")
    return picked, seconds


def rows(measured: tuple[list[Shape], list[float]]) -> list[Row]:
    """The committed model's estimate against freshly measured cells (context: no target)."""
    shapes, seconds = measured
    committed = CostModel.load()
    predicted = sum(committed.seconds(s) for s in shapes)
    return [Row("cost model: sampled cells' CPU vs its estimate", f"{sum(seconds):.0f} s / {predicted:.0f} s",
                sum(seconds) / predicted, "x")]


def _show(model: CostModel, shapes: list[Shape], seconds: list[float]) -> None:
    for fam in sorted({s.family for s in shapes}):
        idx = [i for i, s in enumerate(shapes) if s.family == fam]
        ratio = np.array([seconds[i] / model.seconds(shapes[i]) for i in idx])
        measured, predicted = sum(seconds[i] for i in idx), sum(model.seconds(shapes[i]) for i in idx)
        print(f"  {fam:18s} {len(idx):3d} cells  measured {measured:7.1f} s  model {predicted:7.1f} s  "
              f"measured/model per cell: median {np.median(ratio):.2f}, 10-90 % {np.quantile(ratio, .1):.2f}-"
              f"{np.quantile(ratio, .9):.2f}  coef {model.coefficients[fam]}")


if __name__ == "__main__":
    main()
