r"""Losses of K models trained together, each member with its own loss and parameters.

Every binary loss of the zoo is a case of one per-sample form, with z the logit, y the label
and p_t = σ(±(z + δ)) the probability of the true class after a logit shift δ:

.. math::  \ell = -w_y \, (1 - p_t)^{\gamma_t} \log p_t, \qquad
           \gamma_t = g_0 \text{ if } p_t < t \text{ else } g_1

- ``ce``: w = (1, 1), γ = 0;  ``weighted_ce``: w = the class weights;
- ``focal``: γ, w = (1 - α, α) or (1, 1);  ``class_balanced_focal``: γ, effective-number w;
- ``focal_flsd``: (t, g_0, g_1) = (0.2, 5, 3) (one threshold), w from α;
- ``logit_adjusted_ce``: δ = τ log(π_1 / π_0), γ = 0;  ``balanced_softmax``: the same at τ = 1;

and the terms added to it, unweighted: label smoothing's (ε/2) u (u the signed logit), poly-1's
b (1 − p_t), the Brier loss's c (1 − p_t)² (w = 0: no log term), and dual focal's factor 2^γ where
p_t > 1/2 (:class:`BinaryTerms`).

:func:`binary_terms` reads a loss module's parameters into that form through its registry
entry (:attr:`loss_zoo.LossEntry.binary_terms`; a loss without one trains alone) and
:func:`member_losses` evaluates K members at once on (K, B) logits, so a batched trainer pays
for a dozen element-wise kernels per step instead of K loss calls. The tests check each
member's value and gradient against the loss's own module.

Multi-class (N, C) logits have the same form with p = softmax(z + δ), a weight w_k and a shift
δ_k per class (:class:`MulticlassTerms`, from :attr:`loss_zoo.LossEntry.multiclass_terms`):
``ce``; ``weighted_ce`` (w = its weights); ``focal`` (γ, w = the per-class α); ``focal_flsd``;
``class_balanced_focal`` (γ, effective-number w); ``logit_adjusted_ce`` (δ_k = τ log π_k);
``balanced_softmax``; ``label_smoothing``, ``poly1``, ``brier`` and ``dual_focal`` (their terms).
:class:`MulticlassMemberLosses` evaluates K members on (K, B, C) logits with ``log_softmax`` and
lets autograd derive the gradient: the softmax couples the classes, so an analytic backward
would save little next to the (K, B, C) matmul of the output layer, and autograd through the
same expressions as the modules' keeps each member's gradient the module's by construction.
"""

from __future__ import annotations

from collections.abc import Sequence

import torch
import torch.nn.functional as F
from torch import nn

from .dual_focal import dual_log_base
from .entry import BinaryTerms, MulticlassTerms
from .registry import entry_of


def _entry_terms(loss: nn.Module, form: str):
    """``entry.<form>(loss)`` from the module's registry entry; None for a loss without that
    form, or a reduction other than the mean."""
    if getattr(loss, "reduction", "mean") != "mean":
        return None
    found = entry_of(loss)
    to_terms = None if found is None else getattr(found, form)
    return None if to_terms is None else to_terms(loss)


def binary_terms(loss: nn.Module) -> BinaryTerms | None:
    """The module's parameters in the common form, from its registry entry; None for a loss
    (or a configuration) without one, which then trains one model at a time."""
    return _entry_terms(loss, "binary_terms")


class MemberLosses(nn.Module):
    """K members' binary losses; ``forward((K, B) logits, (K, B) or (B,) targets)`` returns the
    (K,) per-member means (each member's gradient is its own loss's)."""

    def __init__(self, terms: Sequence[BinaryTerms], dtype: torch.dtype = torch.float32,
                 device: torch.device | str | None = None) -> None:
        super().__init__()
        self.terms = list(terms)
        columns = {name: [getattr(t, name) for t in self.terms] for name in BinaryTerms.__dataclass_fields__}
        for name, values in columns.items():
            self.register_buffer(name, torch.tensor(values, dtype=dtype, device=device).unsqueeze(1))
        self.shifted = any(v != 0 for v in columns["shift"])
        self.focal = any(v != 0 for v in columns["g0"] + columns["g1"])
        self.flsd = any(v != 0 for v in columns["threshold"])
        self.extra = any(v != 0 for v in columns["smoothing"] + columns["poly"] + columns["brier"])
        self.has_dual = any(columns["dual"])

    def select(self, keep: torch.Tensor) -> "MemberLosses":
        """The members at ``keep`` (indices), in that order."""
        return MemberLosses([self.terms[i] for i in keep.tolist()], self.w0.dtype, self.w0.device)

    def forward(self, logits: torch.Tensor, targets: torch.Tensor) -> torch.Tensor:
        return _MemberLoss.apply(logits, targets.bool().expand_as(logits), self)


class _MemberLoss(torch.autograd.Function):
    """Per-member mean of the common form with an analytic gradient: one autograd node and a
    dozen element-wise kernels per step, whatever the mix of losses.

    With s the shifted logit signed by the target, -log p_t = softplus(-s), q = 1 - p_t = σ(-s),
    m = w q^γ and b = 1 - γ (-log p_t): dℓ/ds = -m (1 - b p_t) = -m (q + γ (-log p_t) p_t)
    (γ per sample is piecewise constant in FLSD, so it has no gradient; so is dual focal's 2^γ).
    The added terms (ε/2) s + b' q + c q² give dℓ/ds another ε/2 - p_t q (b' + 2 c q)."""

    @staticmethod
    def forward(ctx, logits, positive, terms: MemberLosses):
        z = logits + terms.shift if terms.shifted else logits
        sign = torch.where(positive, 1.0, -1.0).to(logits.dtype)
        t = z * -sign  # -s
        nll = F.softplus(t)  # -log p_t
        q = torch.sigmoid(t)  # 1 - p_t
        m = torch.where(positive, terms.w1, terms.w0)
        gamma = None
        if terms.focal:
            gamma = torch.where(torch.sigmoid(-t) < terms.threshold, terms.g0, terms.g1) if terms.flsd else terms.g1
            m = torch.exp(gamma * F.logsigmoid(t)) * m
            if terms.has_dual:  # (1 - p_t + p_j)^γ = (2 q)^γ where p_t > 1/2 (t < 0)
                m = torch.where((t < 0) & (terms.dual > 0), torch.exp2(gamma), 1.0) * m
        loss, extra = m * nll, None
        if terms.extra:
            loss = loss - terms.smoothing / 2 * t + (terms.poly + terms.brier * q) * q
            extra = torch.sigmoid(-t) * q * (terms.poly + 2 * terms.brier * q) - terms.smoothing / 2  # its -dℓ/ds
        ctx.save_for_backward(sign, nll, q, m, gamma, extra)
        ctx.n = logits.shape[-1]
        return loss.mean(dim=-1)

    @staticmethod
    def backward(ctx, grad_out):
        sign, nll, q, m, gamma, extra = ctx.saved_tensors
        d = q * m if gamma is None else torch.addcmul(q, gamma * nll, 1.0 - q).mul_(m)  # m (1 - b p_t)
        if extra is not None:
            d = d + extra
        grad = d.mul_(sign).mul_(grad_out.unsqueeze(-1) / -ctx.n)
        return grad, None, None


def member_losses(losses: Sequence[nn.Module], dtype: torch.dtype = torch.float32, device=None) -> MemberLosses | None:
    """A :class:`MemberLosses` for these loss modules, or None if one of them has no common form."""
    terms = [binary_terms(loss) for loss in losses]
    return None if any(t is None for t in terms) else MemberLosses(terms, dtype, device)


def multiclass_terms(loss: nn.Module) -> MulticlassTerms | None:
    """The module's parameters in the multi-class common form, or None (it trains alone)."""
    return _entry_terms(loss, "multiclass_terms")


class MulticlassMemberLosses(nn.Module):
    """K members' multi-class losses; ``forward((K, B, C) logits, (K, B) or (B,) targets)``
    returns the (K,) per-member means."""

    def __init__(self, terms: Sequence[MulticlassTerms], n_classes: int, dtype: torch.dtype = torch.float32,
                 device: torch.device | str | None = None) -> None:
        super().__init__()
        self.terms, self.n_classes = list(terms), n_classes
        for name, empty in (("weight", 1.0), ("shift", 0.0)):
            rows = [getattr(t, name) or (empty,) * n_classes for t in self.terms]
            self.register_buffer(name, torch.tensor(rows, dtype=dtype, device=device).unsqueeze(1))  # (K, 1, C)
        for name in ("g0", "g1", "threshold", "smoothing", "poly", "brier", "dual", "nll"):
            self.register_buffer(name, torch.tensor([float(getattr(t, name)) for t in self.terms], dtype=dtype,
                                                    device=device).unsqueeze(1))  # (K, 1)
        self.weighted = any(t.weight is not None for t in self.terms)
        self.shifted = any(t.shift is not None for t in self.terms)
        self.focal = any(t.g0 != 0 or t.g1 != 0 for t in self.terms)
        self.flsd = any(t.threshold != 0 for t in self.terms)
        self.extra = any(t.smoothing != 0 or t.poly != 0 or t.brier != 0 for t in self.terms)
        self.has_dual = any(t.dual for t in self.terms)
        self.scaled = any(t.nll != 1 for t in self.terms)

    def select(self, keep: torch.Tensor) -> "MulticlassMemberLosses":
        """The members at ``keep`` (indices), in that order."""
        return MulticlassMemberLosses([self.terms[i] for i in keep.tolist()], self.n_classes, self.g0.dtype,
                                      self.g0.device)

    def forward(self, logits: torch.Tensor, targets: torch.Tensor) -> torch.Tensor:
        index = targets.long().expand(logits.shape[:-1]).unsqueeze(-1)  # (K, B, 1)
        log_p = torch.log_softmax(logits + self.shift if self.shifted else logits, dim=-1)
        log_pt = log_p.gather(-1, index).squeeze(-1)
        loss = -log_pt
        if self.focal:  # (1 - p_y)^γ as exp(γ log Σ_{k≠y} p_k), as the focal modules compute it
            log_base = torch.logsumexp(log_p.scatter(-1, index, float("-inf")), dim=-1)
            gamma = self.g1
            if self.flsd:
                with torch.no_grad():
                    gamma = torch.where(log_pt.exp() < self.threshold, self.g0, self.g1)
            if self.has_dual:
                log_base = torch.where(self.dual > 0, dual_log_base(log_p, log_pt, log_base), log_base)
            loss = torch.exp(gamma * log_base) * loss
        if self.weighted:
            loss = self.weight.squeeze(1).gather(-1, index.squeeze(-1)) * loss
        if self.scaled:
            loss = self.nll * loss
        if self.extra:
            loss = loss + added_terms(log_p, log_pt, index, self.smoothing, self.poly, self.brier)
        return loss.mean(dim=-1)


def added_terms(log_p: torch.Tensor, log_pt: torch.Tensor, index: torch.Tensor, smoothing, poly, brier):
    """The multi-class terms added to the focal form (:class:`MulticlassTerms`): label smoothing's,
    poly-1's and the Brier loss's, per sample; ``index`` the targets as (..., 1)."""
    p = log_p.exp()
    squared = (p - torch.zeros_like(p).scatter(-1, index, 1.0)).square().sum(dim=-1)
    return smoothing * (log_pt - log_p.mean(dim=-1)) + poly * (1.0 - log_pt.exp()) + brier * squared


def multiclass_member_losses(losses: Sequence[nn.Module], n_classes: int, dtype: torch.dtype = torch.float32,
                             device=None) -> MulticlassMemberLosses | None:
    """A :class:`MulticlassMemberLosses` for these modules, or None if one has no multi-class
    common form or per-class values of another length than ``n_classes``."""
    terms = [multiclass_terms(loss) for loss in losses]
    for t in terms:
        if t is None or any(v is not None and len(v) != n_classes for v in (t.weight, t.shift)):
            return None
    return MulticlassMemberLosses(terms, n_classes, dtype, device)
