"""Search-space distributions: declared by methods and samplers, drawn through Optuna trials."""

from __future__ import annotations

from dataclasses import dataclass

INF = float("inf")


@dataclass(frozen=True)
class Float:
    """A float in [low, high], sampled on a log scale when ``log``; ``valid`` bounds what a spec
    may narrow or fix it to (e.g. γ >= 0)."""

    low: float
    high: float
    log: bool = False
    valid: tuple[float, float] = (-INF, INF)

    def suggest(self, trial, name: str) -> float:
        return trial.suggest_float(name, self.low, self.high, log=self.log)

    def describe(self) -> str:
        return f"[{self.low:g}, {self.high:g}]" + (" log" if self.log else "")


@dataclass(frozen=True)
class Int:
    """An integer in [low, high]. ``row_share``: a count of training rows (e.g. a leaf's fewest
    samples) whose range :meth:`for_rows` caps at that share of the training split, so no value
    drawn forbids every split of a small set."""

    low: int
    high: int
    valid: tuple[float, float] = (-INF, INF)
    row_share: float | None = None

    def for_rows(self, n_rows: int) -> "Int":
        """The range capped at ``row_share`` × ``n_rows`` (at least 1); unchanged without a share."""
        if self.row_share is None:
            return self
        cap = max(1, int(self.row_share * n_rows))
        low = min(self.low, cap)
        return Int(low, max(low, min(self.high, cap)), self.valid, self.row_share)

    def suggest(self, trial, name: str) -> int:
        return trial.suggest_int(name, self.low, self.high)

    def describe(self) -> str:
        return f"{{{self.low}..{self.high}}}"


@dataclass(frozen=True)
class OptionalFloat:
    """None, or a float in [low, high]; the choice is the parameter ``<name>_enabled``."""

    low: float
    high: float
    valid: tuple[float, float] = (-INF, INF)

    def suggest(self, trial, name: str) -> float | None:
        if not trial.suggest_categorical(f"{name}_enabled", [False, True]):
            return None
        return trial.suggest_float(name, self.low, self.high)

    def describe(self) -> str:
        return f"none or [{self.low:g}, {self.high:g}]"




@dataclass(frozen=True)
class Choice:
    """One of ``choices`` (categorical)."""

    choices: tuple

    def suggest(self, trial, name: str):
        return trial.suggest_categorical(name, list(self.choices))

    def describe(self) -> str:
        return "{" + ", ".join(map(str, self.choices)) + "}"


@dataclass(frozen=True)
class Fixed:
    """A parameter fixed by the spec: not tuned, the same in every trial."""

    value: object

    def suggest(self, trial, name: str):
        return self.value

    def describe(self) -> str:
        return f"= {self.value}"


def _check_valid(dist, values, name: str, given) -> None:
    lo, hi = getattr(dist, "valid", (-INF, INF))
    if any(not (lo <= v <= hi) for v in values):
        raise ValueError(f"{name}: expected values in [{lo:g}, {hi:g}], got {given!r}")


def narrow(dist, value, name: str):
    """``dist`` narrowed or fixed by a spec value: a number (or null) fixes it, [low, high]
    narrows a range, a list of choices narrows a categorical. Errors name the parameter."""
    if isinstance(value, list) and len(value) == 2 and all(
            isinstance(v, (int, float)) and not isinstance(v, bool) for v in value):
        _check_valid(dist, value, name, value)
    elif isinstance(value, (int, float)) and not isinstance(value, bool):
        _check_valid(dist, [value], name, value)
    if isinstance(dist, Choice):
        chosen = value if isinstance(value, list) else [value]
        unknown = [c for c in chosen if c not in dist.choices]
        if not chosen or unknown:
            raise ValueError(f"{name}: expected choices among {list(dist.choices)}, got {value!r}")
        return Fixed(chosen[0]) if len(chosen) == 1 else Choice(tuple(chosen))
    if isinstance(value, list):
        if len(value) != 2 or not all(isinstance(v, (int, float)) and not isinstance(v, bool) for v in value):
            raise ValueError(f"{name}: expected a number or a range [low, high], got {value!r}")
        low, high = value
        if not low < high:
            raise ValueError(f"{name}: expected a range with low < high, got an empty or inverted range {value!r}")
        if isinstance(dist, Int):
            if low != int(low) or high != int(high):
                raise ValueError(f"{name}: expected integer bounds, got {value!r}")
            return Int(int(low), int(high), valid=dist.valid)
        if isinstance(dist, Float) and dist.log and low <= 0:
            raise ValueError(f"{name}: expected a range above 0 (log scale), got {value!r}")
        if isinstance(dist, OptionalFloat):
            return OptionalFloat(float(low), float(high), valid=dist.valid)
        return Float(float(low), float(high), log=dist.log, valid=dist.valid)
    if value is None:
        if isinstance(dist, OptionalFloat):
            return Fixed(None)
        raise ValueError(f"{name}: expected a number or a range, got null")
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        raise ValueError(f"{name}: expected a number or a range [low, high], got {value!r}")
    if isinstance(dist, Int):
        if value != int(value):
            raise ValueError(f"{name}: expected an integer, got {value!r}")
        return Fixed(int(value))
    return Fixed(float(value))


Dist = Float | Int | OptionalFloat | Choice | Fixed
