"""Run every performance script: ``python -m benchmarks.perf`` (``make perf``)."""

from __future__ import annotations

from . import losses

if __name__ == "__main__":
    losses.main([])
