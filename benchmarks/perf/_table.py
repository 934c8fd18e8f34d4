"""One measured ratio of the performance scripts, and how it prints."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Row:
    """``value`` (in ``unit``) against ``target``: at least it (``sense`` ">="), or at most
    (``"<="``); no target for a row given only as context. ``valid`` is a further condition
    the measurement must meet (e.g. identical tables)."""

    what: str
    raw: str
    value: float
    unit: str
    target: float | None = None
    sense: str = ">="
    valid: bool = True

    @property
    def met(self) -> bool | None:
        if self.target is None:
            return None
        within = self.value >= self.target if self.sense == ">=" else self.value <= self.target
        return within and self.valid

    @property
    def goal(self) -> str:
        return "" if self.target is None else f"{self.sense} {self.target:g} {self.unit}"


def show(rows: list[Row]) -> None:
    """A script's own lines."""
    for r in rows:
        verdict = "" if r.met is None else f"  (target {r.goal}: {'met' if r.met else 'MISSED'})"
        print(f"  {r.what:46s} {r.raw:>32s}  {r.value:7.2f} {r.unit}{verdict}")


def markdown(rows: list[Row]) -> None:
    """The summary table of every script."""
    print(f"| {'measure':46s} | {'raw':>34s} | {'measured':>9s} | {'target':>8s} | met |")
    print(f"|{'-' * 48}|{'-' * 36}:|{'-' * 10}:|{'-' * 9}:|-----|")
    for r in rows:
        met = "" if r.met is None else ("yes" if r.met else "NO")
        print(f"| {r.what:46s} | {r.raw:>34s} | {r.value:7.2f} {r.unit:1s} | {r.goal:>8s} | {met} |")
