"""Every performance script in one run, then one table of ratios (``make perf``).

    python -m benchmarks.perf

Times are measured side by side on this machine in this run; compare ratios, not raw times,
across machines. Targets are those of issues 10, 17, 18 and 19. The last row runs `make bench`
twice (this checkout and the commit issue 17 was measured on): the whole run takes about half an
hour on 2 cores.
"""

from __future__ import annotations

import platform
import tempfile

import torch

from . import (
    bench_vs_base,
    bookkeeping,
    cell_cost,
    cnn,
    dense,
    jobs,
    learners,
    losses,
    multiclass,
    multiclass_cell,
    torch_objective,
    training,
    tuning_regret,
)
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
    rows += dense.main([])  # the fcn vs a plain loop; focal vs BCE at 10⁶ and 10⁷ logits
    print()
    rows += multiclass.main([])
    rows += learners.main([])
    rows += torch_objective.main([])  # a loss given only per sample: its derivatives per boosting round
    print()
    rows += cnn.main([])
    print()
    rows += multiclass_cell.main([])
    print()
    rows += cell_cost.rows(cell_cost.main(["--cells", "24", "--seed", "1"]))  # other cells than the fit's
    print()
    with tempfile.TemporaryDirectory() as tmp:  # the full grid's table is in docs/performance.md
        rows += tuning_regret.rows(tuning_regret.main(["--grid", "quick", "--schemes", "seq,b8", "--out", tmp]))
    print()
    rows += bench_vs_base.main([])  # two `make bench` runs: the longest row
    print(f"\nsummary ({platform.processor() or platform.machine()}, {torch.get_num_threads()} torch thread(s) "
          f"in the timed loops, torch {torch.__version__})")
    markdown(rows)
