r"""Binary losses of K models trained together, each member with its own loss and parameters.

Every binary loss of the zoo is a case of one per-sample form, with z the logit, y the label
and p_t = σ(±(z + δ)) the probability of the true class after a logit shift δ:

.. math::  \ell = -w_y \, (1 - p_t)^{\gamma_t} \log p_t, \qquad
           \gamma_t = g_0 \text{ if } p_t < t \text{ else } g_1

- ``ce``: w = (1, 1), γ = 0;  ``weighted_ce``: w = the class weights;
- ``focal``: γ, w = (1 - α, α) or (1, 1);  ``class_balanced_focal``: γ, effective-number w;
- ``focal_flsd``: (t, g_0, g_1) = (0.2, 5, 3) (one threshold), w from α;
- ``logit_adjusted_ce``: δ = τ log(π_1 / π_0), γ = 0.

:func:`binary_terms` reads a loss module's parameters into that form through its registry
entry (:attr:`loss_zoo.LossEntry.binary_terms`; a loss without one trains alone) and
:func:`member_losses` evaluates K members at once on (K, B) logits, so a batched trainer pays
for a dozen element-wise kernels per step instead of K loss calls. The tests check each
member's value and gradient against the loss's own module.
"""

from __future__ import annotations

from collections.abc import Sequence

import torch
import torch.nn.functional as F
from torch import nn

from .entry import BinaryTerms
from .registry import entry_of


def binary_terms(loss: nn.Module) -> BinaryTerms | None:
    """The module's parameters in the common form, from its registry entry; None for a loss
    (or a configuration) without one, which then trains one model at a time."""
    if getattr(loss, "reduction", "mean") != "mean":
        return None
    found = entry_of(loss)
    if found is None or found.binary_terms is None:
        return None
    return found.binary_terms(loss)


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
    (γ per sample is piecewise constant in FLSD, so it has no gradient)."""

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
        ctx.save_for_backward(sign, nll, q, m, gamma)
        ctx.n = logits.shape[-1]
        return (m * nll).mean(dim=-1)

    @staticmethod
    def backward(ctx, grad_out):
        sign, nll, q, m, gamma = ctx.saved_tensors
        d = q * m if gamma is None else torch.addcmul(q, gamma * nll, 1.0 - q).mul_(m)  # m (1 - b p_t)
        grad = d.mul_(sign).mul_(grad_out.unsqueeze(-1) / -ctx.n)
        return grad, None, None


def member_losses(losses: Sequence[nn.Module], dtype: torch.dtype = torch.float32, device=None) -> MemberLosses | None:
    """A :class:`MemberLosses` for these loss modules, or None if one of them has no common form."""
    terms = [binary_terms(loss) for loss in losses]
    return None if any(t is None for t in terms) else MemberLosses(terms, dtype, device)
