"""A spec's own losses: method entries ``{name: my_loss, function: FILE.py:FN}``, loaded from
their files and registered in the loss zoo under ``name`` for this process, so every consumer
(methods, learners, the cost model, workers) sees them as it sees the zoo's losses.

The file is a plain Python module. ``FN(logits, targets, **params)`` returns the per-sample loss
(see :mod:`loss_zoo.user`); an optional module-level ``SPACE`` maps keyword parameters of ``FN``
to their tuned ranges, as :mod:`harness.space` declares them (``Float``, ``OptionalFloat``) or
as loss_zoo's :class:`~loss_zoo.Range`. A parameter's default in ``FN``'s signature is its value
where nothing tunes it. The file is read relative to the working directory, as a ``csv``
dataset's path is; its contents are in the spec hash (:meth:`~harness.spec.schema.Spec.spec_hash`).
"""

from __future__ import annotations

import importlib.util
import inspect
from collections.abc import Callable, Mapping
from typing import Any

import loss_zoo
from harness.space import Float, OptionalFloat
from harness.spec.schema import Spec, function_file
from loss_zoo.user import UserLossModule, user_entry


def load(reference: str) -> tuple[Callable, Mapping[str, Any]]:
    """(the function, its file's ``SPACE`` or {}) of ``FILE.py:FN``; ValueErrors of one line
    starting with ``reference``."""
    try:
        return _load(reference)
    except ValueError as exc:
        raise ValueError(f"{reference}: {exc}") from None


def _load(reference: str) -> tuple[Callable, Mapping[str, Any]]:
    path, fn_name = function_file(reference), reference.rsplit(":", 1)[1]
    if not path.is_file():
        raise ValueError(f"file {str(path)!r} does not exist")
    spec = importlib.util.spec_from_file_location(f"user_loss_{path.stem}_{fn_name}", path)
    module = importlib.util.module_from_spec(spec)
    try:
        spec.loader.exec_module(module)
    except Exception as exc:  # noqa: BLE001  (whatever the user's file raises becomes one line)
        raise ValueError(f"importing {str(path)!r} raised {type(exc).__name__}: {exc}") from None
    fn = getattr(module, fn_name, None)
    if not inspect.isfunction(fn):
        found = sorted(k for k, v in vars(module).items() if inspect.isfunction(v) and v.__module__ == module.__name__)
        what = "no function" if fn is None else f"{type(fn).__name__}, not a function,"
        raise ValueError(f"{str(path)!r} has {what} {fn_name!r} (its functions: {', '.join(found) or 'none'})")
    space = getattr(module, "SPACE", {})
    if not isinstance(space, Mapping):
        raise ValueError(f"{str(path)!r}: SPACE: expected a mapping of parameter names to ranges, got {type(space).__name__}")
    return fn, space


def as_range(fn: Callable, parameter: str, dist: Any) -> loss_zoo.Range:
    """A ``SPACE`` entry as the loss zoo's :class:`~loss_zoo.Range`, its default from ``fn``'s signature."""
    if isinstance(dist, loss_zoo.Range):
        return dist
    if not isinstance(dist, (Float, OptionalFloat)):
        raise ValueError(f"SPACE: {parameter}: expected harness.space.Float or OptionalFloat (or loss_zoo.Range), "
                         f"got {dist!r}")
    param = inspect.signature(fn).parameters.get(parameter)
    default = None if param is None or param.default is param.empty else param.default
    if isinstance(default, (int, float)) and not isinstance(default, bool) and dist.low <= default <= dist.high:
        default = float(default)
    else:
        default = None
    optional = isinstance(dist, OptionalFloat)
    return loss_zoo.Range(dist.low, dist.high, log=getattr(dist, "log", False), valid=dist.valid, optional=optional,
                          default=None if optional else default)


def entry_for(name: str, reference: str) -> loss_zoo.LossEntry:
    """The checked loss entry of ``FILE.py:FN`` under ``name`` (ValueErrors of one line)."""
    fn, space = load(reference)
    try:
        ranges = {k: as_range(fn, k, d) for k, d in space.items()}
    except ValueError as exc:
        raise ValueError(f"{reference}: {exc}") from None
    return user_entry(name, fn, ranges, source=reference)


def function_entries(spec: Spec) -> list[tuple[int, Any]]:
    """(index in ``methods``, entry) of each method entry with a ``function``."""
    return [(i, m) for i, m in enumerate(spec.methods) if not isinstance(m, str) and m.function is not None]


def register(spec: Spec) -> list[loss_zoo.LossEntry]:
    """Load and register every function entry of ``spec`` (replacing an earlier user loss of
    the same name, never a loss of the zoo). Errors are ValueErrors naming
    ``methods[i].function`` (or ``.name``) and the value."""
    done = []
    for i, m in function_entries(spec):
        known = loss_zoo.available().get(m.name)
        if known is not None and not issubclass(known.module, UserLossModule):
            raise ValueError(f"methods[{i}].name: {m.name!r} is a loss of the zoo; give your function its own name")
        try:
            entry = entry_for(m.name, m.function)
        except ValueError as exc:
            raise ValueError(f"methods[{i}].function: {exc}") from None
        done.append(loss_zoo.register(entry, replace=True))
    return done

