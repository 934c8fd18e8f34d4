"""The binary focal kernel (gradient computed in the forward pass, three buffers) against the
autograd of its formula, for every reduction, α with no exact float32 form, and both dtypes."""

from __future__ import annotations

import pytest
import torch

from loss_zoo import focal_loss


@pytest.mark.parametrize("dtype", [torch.float64, torch.float32])
@pytest.mark.parametrize("reduction", ["none", "mean", "sum"])
@pytest.mark.parametrize("alpha", [None, 0.9, 0.25, 1.0, 0.0])
@pytest.mark.parametrize("gamma", [0.0, 2.0, 0.5, 3.0])
def test_value_and_gradient_equal_autograd_of_the_formula(dtype, reduction, alpha, gamma):
    g = torch.Generator().manual_seed(int(gamma * 10) + (0 if alpha is None else int(alpha * 100)))
    x = (torch.randn(300, generator=g, dtype=torch.float64) * 4)
    x[:4] = torch.tensor([30.0, -40.0, 1e3, -1e3])
    x = x.to(dtype).requires_grad_()
    y = torch.randint(0, 2, (300,), generator=g)
    xr = x.detach().double().requires_grad_()
    p = torch.sigmoid(xr)
    pt = torch.where(y.bool(), p, 1 - p)
    log_pt = torch.nn.functional.logsigmoid(torch.where(y.bool(), xr, -xr))
    w = 1.0 if alpha is None else torch.where(y.bool(), torch.tensor(alpha, dtype=torch.float64),
                                              torch.tensor(1 - alpha, dtype=torch.float64))
    ref = -w * (1 - pt) ** gamma * log_pt
    ref = {"none": ref, "mean": ref.mean(), "sum": ref.sum()}[reduction]
    upstream = torch.randn(ref.shape, generator=g, dtype=torch.float64)
    ours = focal_loss(x, y, gamma=gamma, alpha=alpha, reduction=reduction)
    (g_ours,) = torch.autograd.grad((ours.double() * upstream).sum(), x)
    (g_ref,) = torch.autograd.grad((ref * upstream).sum(), xr)
    tol = {"rtol": 1e-10, "atol": 1e-12} if dtype == torch.float64 else {"rtol": 2e-5, "atol": 1e-5}
    torch.testing.assert_close(ours.double(), ref.detach(), **tol)
    assert torch.isfinite(g_ours).all()
    finite = torch.isfinite(g_ref)  # the formula's autograd: 0 · ∞ at p_t = 1 for γ < 1; the kernel is finite there
    assert gamma < 1 or bool(finite.all())
    torch.testing.assert_close(g_ours.double()[finite], g_ref[finite], **tol)
