"""``--publish``: a finished run's answer copied into the committed folder, with its provenance
(shared by ``runner.py run SPEC --publish`` and ``--against DIR --publish``)."""

from __future__ import annotations

import sys
from pathlib import Path

from harness.processes import process_tree_cpu_seconds


def publish_answer(spec, source: str, table, results_dir: Path, out: Path, report_md: Path, *, wall_seconds: float,
                   cells_run_here: int) -> None:
    """Publish ``results_dir`` (its report ``report_md``, table and spec) into ``out``, with the
    provenance of ``spec`` read from file ``source`` and of this invocation (its time, its CPU so far)."""
    from harness.learners.torch_backend import math_backend
    from harness.report import publish

    prov = publish.provenance(spec, source, table, command="python runner.py " + " ".join(sys.argv[1:]),
                              wall_seconds=wall_seconds, cpu_seconds=process_tree_cpu_seconds(),
                              cells_run_here=cells_run_here, math_backend=math_backend())
    files = publish.publish(results_dir, out, report_md, prov)
    size = sum(f.stat().st_size for f in files) / 2**20
    print(f"published: {out} ({len(files)} files, {size:.1f} MiB)")
