"""A user's own loss function as a :class:`~loss_zoo.entry.LossEntry`: checked on probe batches,
then trained like any loss of the zoo (by autograd in the torch learner; through autograd
derivatives of :attr:`LossEntry.per_sample` as a LightGBM objective).

The function is ``fn(logits, targets, **params) -> Tensor (N,)``: binary logits (N,) with
targets in {0, 1}, or multi-class logits (N, C) with targets in [0, C) (int64 either way), one
loss value per sample. Its tuned parameters are keyword parameters of ``fn``; their ranges come
from the caller (:mod:`harness.methods.user_losses` reads them from the file's ``SPACE``), their
tuned names are ``<name>_<parameter>``. This module only checks and wraps; loading the file is
the caller's.
"""

from __future__ import annotations

import inspect
from collections.abc import Callable, Mapping
from typing import Any

import torch
from torch import nn

from ._checks import check_reduction, reduce
from .entry import LossEntry, Range

#: the probe batches: logits over [-PROBE_RANGE, PROBE_RANGE], every class present
PROBE_ROWS, PROBE_CLASSES, PROBE_RANGE = 12, 3, 8.0


def tuned_name(loss: str, parameter: str) -> str:
    """The flat tuned name of a user loss's keyword ``parameter``: ``<loss>_<parameter>``."""
    return f"{loss}_{parameter}"


def check_signature(fn: Callable, space: Mapping[str, Range], where: str) -> None:
    """``fn(logits, targets, **params)``: two positional parameters, every tuned one a keyword
    parameter, no other parameter without a default. Errors name ``where`` and the signature."""
    try:
        sig = inspect.signature(fn)
    except (TypeError, ValueError):
        raise ValueError(f"{where}: expected a Python function fn(logits, targets, **params), got {fn!r}") from None
    params = list(sig.parameters.values())
    positional = [p for p in params if p.kind in (p.POSITIONAL_ONLY, p.POSITIONAL_OR_KEYWORD)]
    if len(positional) < 2:
        raise ValueError(f"{where}: expected fn(logits, targets, **params), got {fn.__name__}{sig}")
    keywords = {p.name for p in params[2:] if p.kind in (p.POSITIONAL_OR_KEYWORD, p.KEYWORD_ONLY)}
    takes_any = any(p.kind == p.VAR_KEYWORD for p in params)
    unknown = sorted(k for k in space if k not in keywords and not takes_any)
    if unknown:
        raise ValueError(f"{where}: SPACE names {unknown}, not keyword parameters of {fn.__name__}{sig}")
    required = [p.name for p in params[2:] if p.default is p.empty and p.kind not in (p.VAR_POSITIONAL, p.VAR_KEYWORD)
                and p.name not in space]
    if required:
        raise ValueError(f"{where}: expected a default (or a SPACE range) for every parameter after logits, "
                         f"targets; {required} have none in {fn.__name__}{sig}")


def probe_batch(task: str, dtype: torch.dtype) -> tuple[torch.Tensor, torch.Tensor]:
    n = PROBE_ROWS
    if task == "binary":
        logits = torch.linspace(-PROBE_RANGE, PROBE_RANGE, n, dtype=dtype)
        return logits, torch.arange(n) % 2
    logits = torch.linspace(-PROBE_RANGE, PROBE_RANGE, n * PROBE_CLASSES, dtype=dtype).reshape(PROBE_CLASSES, n).T
    return logits.contiguous(), torch.arange(n) % PROBE_CLASSES


def _probe_values(space: Mapping[str, Range]) -> list[dict[str, Any]]:
    """The parameter settings probed: every default, then each range's ends."""
    default = {k: r.fallback for k, r in space.items()}
    ends = [{**default, k: v} for k, r in space.items() for v in (r.low, r.high) if v != default[k]]
    return [default, *ends]


def probe(fn: Callable, space: Mapping[str, Range], task: str, where: str) -> str | None:
    """Run ``fn`` on a probe batch of ``task`` at each probed setting: None when it gives one
    finite loss per sample with finite gradients; the exception's text when it raises on this
    task (it does not support it); a ValueError for a wrong shape or non-finite values."""
    for params in _probe_values(space):
        logits, targets = probe_batch(task, torch.float32)
        logits.requires_grad_(True)
        try:
            out = fn(logits, targets, **params)
        except Exception as exc:  # noqa: BLE001  (any error: the function does not take this task)
            return f"{type(exc).__name__}: {exc}"
        shape = f"logits {tuple(logits.shape)}, targets {tuple(targets.shape)}"
        if not isinstance(out, torch.Tensor):
            raise ValueError(f"{where}: expected a tensor of per-sample losses, got {type(out).__name__} "
                             f"on a {task} probe batch ({shape})")
        if tuple(out.shape) != (PROBE_ROWS,):
            raise ValueError(f"{where}: expected per-sample losses of shape ({PROBE_ROWS},) on a {task} probe batch "
                             f"({shape}), got shape {tuple(out.shape)}")
        if not bool(torch.isfinite(out).all()):
            raise ValueError(f"{where}: expected finite losses on a {task} probe batch ({shape}, logits in "
                             f"[-{PROBE_RANGE:g}, {PROBE_RANGE:g}], params {params}), got {out.detach().tolist()}")
        if not out.requires_grad:
            raise ValueError(f"{where}: expected losses differentiable in the logits (torch operations only), "
                             f"got a result without a gradient on a {task} probe batch")
        (grad,) = torch.autograd.grad(out.sum(), logits)
        if not bool(torch.isfinite(grad).all()):
            raise ValueError(f"{where}: expected finite gradients on a {task} probe batch ({shape}, params "
                             f"{params}), got non-finite ones")
    return None


class UserLossModule(nn.Module):
    """Module form of a user's loss: stores its parameters and the reduction; each user loss
    gets its own subclass (:func:`user_entry`), whose ``fn`` is the user's function."""

    fn: Callable[..., torch.Tensor]

    def __init__(self, *, reduction: str = "mean", **params: Any) -> None:
        super().__init__()
        check_reduction(reduction)
        self.params, self.reduction = params, reduction

    def forward(self, logits: torch.Tensor, targets: torch.Tensor) -> torch.Tensor:
        return reduce(type(self).fn(logits, targets, **self.params), self.reduction)


def user_entry(name: str, fn: Callable, space: Mapping[str, Range], *, source: str) -> LossEntry:
    """The :class:`LossEntry` of a user's function, after its checks.

    Parameters
    ----------
    name : str
        The loss name (a spec's method name).
    fn : callable(logits, targets, **params) -> Tensor (N,)
        The per-sample loss.
    space : mapping of str to Range
        ``fn``'s tuned keyword parameters and their ranges (empty: nothing tuned).
    source : str
        Where ``fn`` comes from (``FILE.py:FN``): errors name it, and it is the entry's citation.

    Raises
    ------
    ValueError
        One line naming ``source``: a wrong signature, a wrong output shape, a non-finite loss
        or gradient on a probe batch, or a function that runs on neither probe batch.
    """
    check_signature(fn, space, source)
    failures = {task: probe(fn, space, task, source) for task in ("binary", "multiclass")}
    if all(failures.values()):
        raise ValueError(f"{source}: expected per-sample losses for binary logits (N,) or multi-class logits "
                         f"(N, C); on a binary probe batch it raised {failures['binary']}")
    module = type(f"UserLoss_{name}", (UserLossModule,), {"fn": staticmethod(fn), "__module__": __name__})

    def function(logits: torch.Tensor, targets: torch.Tensor, *, reduction: str = "mean", **params: Any):
        check_reduction(reduction)
        return reduce(fn(logits, targets, **params), reduction)

    return LossEntry(
        name, function, module, f"user function {source}",
        params=lambda tuned, counts: {k: tuned[tuned_name(name, k)] for k in space},
        space={tuned_name(name, k): r for k, r in space.items()},
        binary=failures["binary"] is None, multiclass=failures["multiclass"] is None, per_sample=fn,
    )
