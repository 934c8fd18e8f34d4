"""Search-space distributions: declared by methods and samplers, drawn through Optuna trials."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Float:
    """A float in [low, high], sampled on a log scale when ``log``."""

    low: float
    high: float
    log: bool = False

    def suggest(self, trial, name: str) -> float:
        return trial.suggest_float(name, self.low, self.high, log=self.log)

    def describe(self) -> str:
        return f"[{self.low:g}, {self.high:g}]" + (" log" if self.log else "")


@dataclass(frozen=True)
class Int:
    """An integer in [low, high]."""

    low: int
    high: int

    def suggest(self, trial, name: str) -> int:
        return trial.suggest_int(name, self.low, self.high)

    def describe(self) -> str:
        return f"{{{self.low}..{self.high}}}"


@dataclass(frozen=True)
class OptionalFloat:
    """None, or a float in [low, high]; the choice is the parameter ``<name>_enabled``."""

    low: float
    high: float

    def suggest(self, trial, name: str) -> float | None:
        if not trial.suggest_categorical(f"{name}_enabled", [False, True]):
            return None
        return trial.suggest_float(name, self.low, self.high)

    def describe(self) -> str:
        return f"none or [{self.low:g}, {self.high:g}]"


Dist = Float | Int | OptionalFloat
