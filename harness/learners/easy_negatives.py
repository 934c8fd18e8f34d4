r"""The mechanism Lin et al. 2017 name, measured: how much of cross-entropy's gradient comes from
easy negatives.

For a binary location with logit z, p = σ(z) and p_t = p (positive) or 1 − p (negative),
cross-entropy's gradient is ∂ℓ/∂z = p − y, so |∂ℓ/∂z| = 1 − p_t. An *easy negative* at
threshold t is a negative with p_t > t. Two shares, both under **cross-entropy** at the model's
current weights whatever loss trains it (focal's own share is small by construction and would
explain nothing):

- logit share :math:`s_z(t) = \sum_{i \in E_t} w_i |p_i - y_i| / \sum_i w_i |p_i - y_i|`;
- parameter share :math:`s_\theta(t) = \|g_E\| / (\|g_E\| + \|g_R\|)`, g_E the gradient with
  respect to the weights of the easy negatives' summed CE, g_R that of all other locations
  (a share in [0, 1]: 0.5 when both pull equally hard, whatever their directions).

They are measured on a probe set of the training canvases: up to ``max_object_canvases`` canvases
with a positive and up to ``max_empty_canvases`` empty ones, each canvas weighted by (its group's
canvases in training) / (its group's canvases probed), so the shares estimate those of the whole
training split. Lin et al., "Focal Loss for Dense Object Detection", ICCV 2017, § 3.
"""

from __future__ import annotations

from dataclasses import dataclass

import torch
import torch.nn.functional as F
from torch import nn

THRESHOLDS = (0.5, 0.9)
NAMES = tuple(f"easy_negative_{kind}_share_p{int(t * 100)}" for kind in ("logit", "param") for t in THRESHOLDS)


@dataclass(frozen=True)
class ProbeSet:
    """Probe canvases: pixels+mask rows (n, 2·S²), per-location targets (n, S²) in {-1, 0, 1}
    and a weight per canvas."""

    X: torch.Tensor
    targets: torch.Tensor
    weight: torch.Tensor


def probe_set(X: torch.Tensor, targets: torch.Tensor, *, seed: int, max_object_canvases: int = 32,
              max_empty_canvases: int = 64) -> ProbeSet:
    """The probe canvases drawn (seeded) from training rows ``X`` with their ``targets``."""
    g = torch.Generator().manual_seed(seed)
    has_object = (targets == 1).any(dim=1)
    picked, weights = [], []
    for group, cap in ((has_object, max_object_canvases), (~has_object, max_empty_canvases)):
        idx = torch.nonzero(group).squeeze(1)
        chosen = idx[torch.randperm(len(idx), generator=g)[:cap]]
        picked.append(chosen)
        weights.append(torch.full((len(chosen),), len(idx) / max(len(chosen), 1)))
    index = torch.cat(picked)
    return ProbeSet(X[index], targets[index], torch.cat(weights).to(X.dtype))


def shares(model: nn.Module, probe: ProbeSet) -> dict[str, float]:
    """The four shares (:data:`NAMES`) at the model's current weights; the model's gradients are
    left as they were (zeroed before and after)."""
    params = [p for p in model.parameters() if p.requires_grad]
    was_training = model.training
    model.eval()
    logits = model(probe.X)  # scored locations, canvas-major
    keep = probe.targets >= 0
    y = probe.targets[keep].to(logits.dtype)
    w = probe.weight[:, None].expand_as(probe.targets)[keep]
    per = F.binary_cross_entropy_with_logits(logits, y, reduction="none") * w
    with torch.no_grad():
        p = torch.sigmoid(logits)
        p_t = torch.where(y > 0, p, 1 - p)
        slope = (p - y).abs() * w
    out = {}
    total = _flat(torch.autograd.grad(per.sum(), params, retain_graph=True, allow_unused=True), params)
    for t in THRESHOLDS:
        easy = (y == 0) & (p_t > t)
        out[f"easy_negative_logit_share_p{int(t * 100)}"] = float(slope[easy].sum() / slope.sum().clamp_min(1e-30))
        g_easy = _flat(torch.autograd.grad(per[easy].sum(), params, retain_graph=True, allow_unused=True), params)
        e, r = g_easy.norm(), (total - g_easy).norm()  # the rest's gradient by linearity: one pass fewer
        out[f"easy_negative_param_share_p{int(t * 100)}"] = float(e / (e + r).clamp_min(1e-30))
    model.train(was_training)
    return out


def _flat(grads, params) -> torch.Tensor:
    """One vector of the gradients (zeros for a parameter the sum does not reach)."""
    return torch.cat([(g if g is not None else torch.zeros_like(p)).reshape(-1) for g, p in zip(grads, params)])


def mean_shares(history: list[dict[str, float]]) -> dict[str, float]:
    """The shares averaged over the measurements of one training (at initialisation and after each epoch)."""
    return {name: sum(h[name] for h in history) / len(history) for name in NAMES} if history else {}
