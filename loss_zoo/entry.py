"""What a loss declares about itself, in one place: :class:`LossEntry`.

An entry holds the loss's pure function and module, its tuned parameters (:class:`Range`, flat
names namespaced by the loss, e.g. ``focal_gamma``), the map from tuned values and training
class counts to the loss's own parameters, its per-sample form for the stacked trainer
(:class:`BinaryTerms`), its posterior correction and its citation. The harness reads entries
and never names a concrete loss. Only the standard library here: the entry modules (``ce``,
``focal``) and the registry import this one.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

INF = float("inf")


@dataclass(frozen=True)
class Range:
    """A tuned float in [low, high] (log scale when ``log``); ``optional``: None is also a
    choice (the parameter ``<name>_enabled``). ``valid`` bounds what a spec may narrow or fix
    it to; ``default`` is the value when nothing tunes or sets it (None: ``low``, or disabled
    when ``optional``). ``binary_only``: meaningful for binary problems only (a scalar class
    weight); multi-class cells fix it to None rather than tune a dead parameter."""

    low: float
    high: float
    log: bool = False
    valid: tuple[float, float] = (-INF, INF)
    optional: bool = False
    default: float | None = None
    binary_only: bool = False

    def __post_init__(self) -> None:
        if not self.low <= self.high:
            raise ValueError(f"low, high: expected low <= high, got [{self.low}, {self.high}]")
        if self.log and self.optional:
            raise ValueError("log, optional: expected at most one of them, got both")

    @property
    def fallback(self) -> float | None:
        """The value used when the parameter is neither tuned nor set."""
        if self.default is not None or self.optional:
            return self.default
        return self.low


@dataclass(frozen=True)
class BinaryTerms:
    r"""One binary loss in the common per-sample form of the stacked trainer and LightGBM:

    .. math:: \ell = -w_y d_t (1 - p_t)^{\gamma_t} \log p_t + \tfrac{\varepsilon}{2} u
              + b (1 - p_t) + c (1 - p_t)^2,

    u = ±(z + shift) (+ for y = 1), p_t = σ(u), γ_t = g0 where p_t < threshold, else g1, and
    d_t = 2^γ_t where ``dual`` and p_t > 1/2, else 1 (see :mod:`loss_zoo.batched`). The last
    three terms are not weighted by w_y; all zero (the default) leaves the focal form."""

    w0: float = 1.0
    w1: float = 1.0
    g0: float = 0.0  # γ where p_t < threshold
    g1: float = 0.0  # γ elsewhere
    threshold: float = 0.0  # 0: one γ everywhere
    shift: float = 0.0  # logit shift δ
    smoothing: float = 0.0  # ε: label smoothing's targets ε/2, 1 − ε/2 (CE + (ε/2) u)
    poly: float = 0.0  # b: poly-1's extra weight on 1 − p_t
    brier: float = 0.0  # c: the squared error (1 − p_t)²
    dual: bool = False  # dual focal's factor (1 − p_t + p_j)^γ: 2^γ (1 − p_t)^γ where p_t > 1/2


@dataclass(frozen=True)
class MulticlassTerms:
    r"""One multi-class loss in the common per-sample form of the stacked trainer:

    .. math:: \ell = -a\, w_y B^{\gamma_t} \log p_y
              + \varepsilon \Big(\log p_y - \frac{1}{C}\sum_k \log p_k\Big)
              + b (1 - p_y) + c \sum_k (p_k - [k = y])^2,

    p = softmax(z + δ), γ_t = g0 where p_y < threshold, else g1, B = 1 − p_y, plus p_j (the
    largest probability below p_y, 0 if none) where ``dual`` (see :mod:`loss_zoo.batched`).
    ``weight`` and ``shift`` hold one value per class (None: all ones, all zeros); their length
    must match the model's outputs. The last three terms are not weighted by w_y; a = ``nll``
    (0: no log term, the Brier loss; binary terms say so with w0 = w1 = 0)."""

    weight: tuple[float, ...] | None = None  # w_k
    g0: float = 0.0  # γ where p_y < threshold
    g1: float = 0.0  # γ elsewhere
    threshold: float = 0.0  # 0: one γ everywhere
    shift: tuple[float, ...] | None = None  # logit shift δ_k
    smoothing: float = 0.0  # ε: label smoothing (targets 1 − ε + ε/C, ε/C)
    poly: float = 0.0  # b: poly-1's extra weight on 1 − p_y
    brier: float = 0.0  # c: the squared error of the probability vector
    dual: bool = False  # dual focal: B = 1 − p_y + p_j
    nll: float = 1.0  # a: the weight of the log term


def no_params(tuned: Mapping[str, Any], counts: list[int]) -> dict[str, Any]:
    """The loss params of a loss without tuned or count-derived parameters: none."""
    return {}


@dataclass(frozen=True)
class LossEntry:
    """Everything about one loss; :func:`loss_zoo.register` adds one.

    Parameters
    ----------
    name : str
        The name in specs, results and ``loss_zoo.get``.
    function : callable(logits, targets, **params, reduction="mean") -> Tensor
        The pure function; ``module(**params)`` must compute the same.
    module : type of nn.Module
        Its thin module form, built as ``module(**params)``.
    citation : str
        Where the loss comes from.
    params : callable(tuned, counts) -> dict, default: no parameters
        The loss's own ``params`` from the tuned values (keys of ``space``) and the training
        class counts (index = class).
    space : mapping of str to Range, default empty
        The tuned parameters, in the order they are drawn.
    estimator : mapping of str to str, default empty
        ``LossClassifier`` keyword -> the key of ``tuned`` it sets (a tuned parameter, e.g.
        ``gamma`` -> ``focal_gamma``, or one that ``params`` reads but nothing tunes); tuned
        parameters without one take their :attr:`Range.fallback`.
    binary_terms : callable(module) -> BinaryTerms or None, optional
        The module in the stacked trainer's common form (None: that configuration, or the
        whole loss when the field is None, trains one model at a time).
    multiclass_terms : callable(module) -> MulticlassTerms or None, optional
        The same for (N, C) logits: the module's per-class weights, γ and logit shifts.
    posterior : callable(logits, **params) -> ndarray, optional
        Posterior logits (binary: logit η, (N,); multi-class: log η, (N, C)) from the logits of
        a model trained with this loss; None: no closed form.
    binary, multiclass : bool, default True
        The problem types it supports: (N,) logits with {0, 1} targets, (N, C) logits.
    per_sample : callable(logits, targets, **params) -> Tensor (N,), optional
        The loss per sample, each term depending on its own sample only: what a boosting
        objective differentiates by autograd where the entry has no ``binary_terms``
        (a user's own loss, :mod:`loss_zoo.user`). None: no such form.
    head : callable(module) -> float or None, optional
        The scale s of the cosine-normalised last layer the loss trains on (the model outputs
        s · cos(h, w_k); LDAM), read from the module; None: the plain linear head.
    no_terms : str, default ""
        Why the loss has no per-sample terms (a batch-level or scheduled loss), in a few words;
        a learner that needs them (LightGBM) says it when it refuses the loss.
    """

    name: str
    function: Callable[..., Any]
    module: type
    citation: str
    params: Callable[[Mapping[str, Any], list[int]], dict[str, Any]] = no_params
    space: Mapping[str, Range] = field(default_factory=dict)
    estimator: Mapping[str, str] = field(default_factory=dict)
    binary_terms: Callable[[Any], BinaryTerms | None] | None = None
    multiclass_terms: Callable[[Any], MulticlassTerms | None] | None = None
    posterior: Callable[..., Any] | None = None
    binary: bool = True
    multiclass: bool = True
    per_sample: Callable[..., Any] | None = None
    head: Callable[[Any], float | None] | None = None
    no_terms: str = ""

    def __post_init__(self) -> None:
        if not isinstance(self.name, str) or not self.name or "+" in self.name:
            raise ValueError(f"name: expected a non-empty string without '+', got {self.name!r}")
        if not (self.binary or self.multiclass):
            raise ValueError(f"{self.name}: expected binary or multiclass support, got neither")

    def defaults(self) -> dict[str, Any]:
        """Each tuned parameter's value when nothing tunes or sets it."""
        return {name: r.fallback for name, r in self.space.items()}

    def loss_params(self, tuned: Mapping[str, Any], counts: list[int]) -> dict[str, Any]:
        """The loss's own parameters for tuned values (missing ones take their defaults)."""
        return self.params({**self.defaults(), **tuned}, list(counts))
