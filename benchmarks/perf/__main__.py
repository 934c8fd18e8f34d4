"""Every performance script in one run, then one table of ratios (``make perf``).

    python -m benchmarks.perf

Times are measured side by side on this machine in this run; compare ratios, not raw times,
across machines. Targets are those of issue 10.
"""

from __future__ import annotations

import platform

import torch

from . import bookkeeping, jobs, losses, multiclass, multiclass_cell, training
from ._table import Row, markdown


def _loss_rows(measured: list[tuple[str, float]]) -> list[Row]:
    times = dict(measured)
    bce, focal = times["bce_with_logits"], times["focal γ=2"]
    return [Row("focal γ=2 fwd+bwd vs BCE-with-logits", f"{focal * 1e3:.2f} ms / {bce * 1e3:.2f} ms", focal / bce, "x",
                1.5, "<=")]


if __name__ == "__main__":
    rows = training.main([])
    print()
    rows += jobs.main([])
    print()
    rows += bookkeeping.main([])
    print()
    rows += _loss_rows(losses.main([]))
    print()
    rows += multiclass.main([])
    print()
    rows += multiclass_cell.main([])
    print(f"\nsummary ({platform.processor() or platform.machine()}, {torch.get_num_threads()} torch thread(s) "
          f"in the timed loops, torch {torch.__version__})")
    markdown(rows)
