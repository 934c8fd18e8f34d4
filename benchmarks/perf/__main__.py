"""Run every performance script: ``python -m benchmarks.perf`` (``make perf``)."""

from __future__ import annotations

from . import jobs, losses

if __name__ == "__main__":
    losses.main([])
    print()
    jobs.main([])
