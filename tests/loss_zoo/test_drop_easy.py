"""CE without easy negatives (the mechanism's intervention arm) against a direct computation."""

from __future__ import annotations

import pytest
import torch
import torch.nn.functional as F

import loss_zoo
from loss_zoo import ce_drop_easy_loss, ce_loss


def _data(n=400, seed=0):
    g = torch.Generator().manual_seed(seed)
    return (torch.randn(n, generator=g, dtype=torch.float64) * 4).requires_grad_(), \
        (torch.rand(n, generator=g) < 0.1).long()


@pytest.mark.parametrize("threshold", [0.5, 0.9, 0.99])
def test_equals_bce_with_the_easy_negatives_masked_value_and_gradient(threshold):
    z, y = _data()
    p_t = torch.where(y.bool(), torch.sigmoid(z), 1 - torch.sigmoid(z)).detach()
    keep = (y == 1) | (p_t <= threshold)
    reference = (F.binary_cross_entropy_with_logits(z, y.double(), reduction="none") * keep).mean()
    ours = ce_drop_easy_loss(z, y, threshold=threshold)
    assert ours.item() == pytest.approx(reference.item(), rel=1e-12)
    (g1,) = torch.autograd.grad(ours, z)
    (g2,) = torch.autograd.grad(reference, z)
    torch.testing.assert_close(g1, g2)
    assert bool((g1[~keep] == 0).all())  # no gradient from the dropped ones


def test_positives_always_count_and_nothing_easy_is_ce():
    z, y = torch.tensor([8.0, -8.0, 0.0]), torch.tensor([1, 1, 0])
    torch.testing.assert_close(ce_drop_easy_loss(z, y, threshold=0.9), ce_loss(z, y))  # no easy negative here
    z2 = torch.tensor([-8.0])
    assert ce_drop_easy_loss(z2, torch.tensor([0]), reduction="sum").item() == 0.0


def test_extreme_logits_stay_finite_and_gradcheck():
    z = torch.tensor([-1e4, 1e4, 30.0, -30.0], dtype=torch.float64, requires_grad=True)
    y = torch.tensor([0, 1, 0, 1])
    loss = ce_drop_easy_loss(z, y, reduction="sum")
    loss.backward()
    assert torch.isfinite(z.grad).all()
    x, t = _data(n=20, seed=2)
    assert torch.autograd.gradcheck(lambda v: ce_drop_easy_loss(v, t, threshold=0.9), (x,))


@pytest.mark.parametrize("threshold", [0.0, 1.0, -0.5])
def test_a_bad_threshold_is_one_line_naming_it(threshold):
    with pytest.raises(ValueError, match="threshold: expected a probability in"):
        loss_zoo.get("ce_drop_easy", threshold=threshold)


def test_registered_binary_only_and_without_a_per_sample_form():
    entry = loss_zoo.entry("ce_drop_easy")
    assert not entry.multiclass and entry.binary_terms is None and entry.posterior is None
    with pytest.raises(ValueError, match="binary loss"):
        ce_drop_easy_loss(torch.zeros(3, 2), torch.zeros(3, dtype=torch.long))


def test_ohem_terms_mine_per_group_and_match_ohem_loss_on_one_group():
    z, y = _data(n=60, seed=3)
    one = loss_zoo.ohem_terms(z, y, keep=0.3, neg_pos_ratio=3.0)
    mean = loss_zoo.ohem_loss(z, y, keep=0.3, neg_pos_ratio=3.0)
    assert (one.sum() / (one > 0).sum()).item() == pytest.approx(mean.item(), rel=1e-12)
    groups = torch.arange(60) // 20
    per_group = loss_zoo.ohem_terms(z, y, keep=0.3, neg_pos_ratio=3.0, groups=groups)
    for g in range(3):
        at = groups == g
        alone = loss_zoo.ohem_terms(z[at], y[at], keep=0.3, neg_pos_ratio=3.0)
        torch.testing.assert_close(per_group[at], alone)
