"""Fault injection for crash-safety tests: ``IMBALANCE_BENCH_FAULT=<point>:<n>`` makes the
process kill itself (SIGKILL, no clean-up) the n-th time it passes ``<point>``.

Points: ``trial`` (a trial has finished), ``repetition`` (an evaluation repetition has
finished), ``write`` (an output file other than results.csv, e.g. predictions, is written to its
temporary name and not yet renamed), ``write_results`` (the same for results.csv, whose cell is
already tracked).
Unset, every call is a dictionary lookup and nothing else.
"""

from __future__ import annotations

import os
import signal
from collections import Counter

_COUNTS: Counter = Counter()


def fault_point(name: str) -> None:
    spec = os.environ.get("IMBALANCE_BENCH_FAULT")
    if not spec:
        return
    point, _, count = spec.partition(":")
    if point != name:
        return
    _COUNTS[name] += 1
    if _COUNTS[name] == int(count or 1):
        os.kill(os.getpid(), signal.SIGKILL)
