"""Member-wise batched losses against each loss's own module: value and gradient per member."""

from __future__ import annotations

import pytest
import torch

import loss_zoo
from loss_zoo.batched import BinaryTerms, binary_terms, member_losses

MEMBERS = [
    ("ce", {}),
    ("weighted_ce", {"weight": [0.3, 2.7]}),
    ("focal", {"gamma": 2.0}),
    ("focal", {"gamma": 0.5, "alpha": 0.25}),
    ("focal", {"gamma": 0.0, "alpha": 0.9}),
    ("focal", {"gamma": 3.7}),
    ("focal_flsd", {}),
    ("focal_flsd", {"alpha": 0.75}),
    ("class_balanced_focal", {"counts": [900, 100], "beta": 0.999, "gamma": 1.5}),
    ("logit_adjusted_ce", {"prior": [0.9, 0.1], "tau": 1.3}),
    ("logit_adjusted_ce", {"prior": [3, 1], "tau": 0.0}),
    ("balanced_softmax", {"prior": [0.8, 0.2]}),
    ("label_smoothing", {"epsilon": 0.1}),
    ("brier", {}),
    ("poly1", {"epsilon": -1.0}),
    ("poly1", {"epsilon": 2.5}),
    ("dual_focal", {"gamma": 2.0}),
    ("dual_focal", {"gamma": 0.5}),
]


@pytest.mark.parametrize("dtype", [torch.float64, torch.float32])
@pytest.mark.parametrize("shared_targets", [True, False])
def test_each_member_matches_its_own_loss_module(dtype, shared_targets):
    g = torch.Generator().manual_seed(0)
    k, b = len(MEMBERS), 257
    modules = [loss_zoo.get(name, **params) for name, params in MEMBERS]
    logits = (torch.randn(k, b, generator=g, dtype=dtype) * 4).requires_grad_()
    logits.data[0, :3] = torch.tensor([30.0, -40.0, 1e3])  # saturated
    targets = torch.randint(0, 2, (b,) if shared_targets else (k, b), generator=g)
    batched = member_losses(modules, dtype)
    values = batched(logits, targets)
    values.sum().backward()
    tol = {"rtol": 1e-10, "atol": 1e-12} if dtype == torch.float64 else {"rtol": 2e-5, "atol": 1e-6}
    for i, module in enumerate(modules):
        ref_logits = logits.detach()[i].clone().requires_grad_()
        ref = module(ref_logits, targets if shared_targets else targets[i])
        ref.backward()
        torch.testing.assert_close(values[i].detach(), ref.detach(), **tol, msg=f"value of {MEMBERS[i]}")
        torch.testing.assert_close(logits.grad[i], ref_logits.grad, **tol, msg=f"gradient of {MEMBERS[i]}")


def test_selecting_members_keeps_their_terms():
    modules = [loss_zoo.get(name, **params) for name, params in MEMBERS]
    batched = member_losses(modules, torch.float64)
    keep = torch.tensor([8, 2, 9])
    logits, targets = torch.randn(3, 50, dtype=torch.float64), torch.randint(0, 2, (50,))
    torch.testing.assert_close(batched.select(keep)(logits, targets),
                               torch.stack([modules[i](logits[j], targets) for j, i in enumerate(keep.tolist())]))


def test_losses_without_a_common_form_are_refused():
    assert binary_terms(loss_zoo.get("focal", gamma=2.0, alpha=[0.2, 0.3, 0.5])) is None  # per-class α
    assert binary_terms(loss_zoo.get("focal_flsd", thresholds=[0.2, 0.5], gammas=[5, 3, 1])) is None
    assert binary_terms(loss_zoo.get("weighted_ce", weight=[1, 2, 3])) is None  # multi-class
    assert binary_terms(loss_zoo.get("ce", reduction="sum")) is None
    assert binary_terms(torch.nn.BCEWithLogitsLoss()) is None
    assert member_losses([loss_zoo.get("ce"), torch.nn.MSELoss()]) is None
    assert binary_terms(loss_zoo.get("focal", gamma=1.0)) == BinaryTerms(g0=1.0, g1=1.0)
    assert binary_terms(loss_zoo.get("asl")) is None  # a margin on the negatives' probability
