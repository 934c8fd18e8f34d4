"""loss_zoo against independent references: torch's BCE/CE, kornia, the torchvision formula."""

from __future__ import annotations

import pytest
import torch
import torch.nn.functional as F

import loss_zoo
from loss_zoo import ce_loss, class_weights, focal_loss, weighted_ce_loss

GAMMAS = [0.0, 0.25, 0.5, 1.0, 2.0, 5.0]


def _binary(n=64, scale=3.0, seed=0, dtype=torch.float64):
    g = torch.Generator().manual_seed(seed)
    logits = (torch.randn(n, generator=g, dtype=dtype) * scale).requires_grad_()
    targets = torch.randint(0, 2, (n,), generator=g)
    return logits, targets


def _multiclass(n=64, c=4, scale=3.0, seed=0, dtype=torch.float64):
    g = torch.Generator().manual_seed(seed)
    logits = (torch.randn(n, c, generator=g, dtype=dtype) * scale).requires_grad_()
    targets = torch.randint(0, c, (n,), generator=g)
    return logits, targets


def _value_and_grad(fn, logits, targets):
    logits = logits.detach().clone().requires_grad_()
    value = fn(logits, targets)
    (grad,) = torch.autograd.grad(value, logits)
    return value.detach(), grad


def _assert_same(ours, ref, logits, targets, tol=1e-6):
    v1, g1 = _value_and_grad(ours, logits, targets)
    v2, g2 = _value_and_grad(ref, logits, targets)
    torch.testing.assert_close(v1, v2, atol=tol, rtol=tol)
    torch.testing.assert_close(g1, g2, atol=tol, rtol=tol)


def torchvision_focal(logits, targets, gamma, alpha):
    """torchvision.ops.sigmoid_focal_loss, written out (torchvision does not install beside this torch)."""
    t = targets.to(logits.dtype)
    p = torch.sigmoid(logits)
    ce = F.binary_cross_entropy_with_logits(logits, t, reduction="none")
    p_t = p * t + (1 - p) * (1 - t)
    loss = ce * (1 - p_t) ** gamma
    if alpha is not None:
        loss = (alpha * t + (1 - alpha) * (1 - t)) * loss
    return loss.mean()


@pytest.mark.parametrize("reduction", ["mean", "sum", "none"])
def test_ce_equals_torch(reduction):
    logits, targets = _binary()
    _assert_same(lambda x, y: ce_loss(x, y, reduction=reduction).sum(),
                 lambda x, y: F.binary_cross_entropy_with_logits(x, y.double(), reduction=reduction).sum(),
                 logits, targets)
    logits, targets = _multiclass()
    _assert_same(lambda x, y: ce_loss(x, y, reduction=reduction).sum(),
                 lambda x, y: F.cross_entropy(x, y, reduction=reduction).sum(), logits, targets)


def test_weighted_ce_equals_torch_pos_weight_and_class_weights():
    logits, targets = _binary()
    _assert_same(lambda x, y: weighted_ce_loss(x, y, weight=[1.0, 7.5]),
                 lambda x, y: F.binary_cross_entropy_with_logits(x, y.double(), pos_weight=torch.tensor(7.5, dtype=torch.float64)),
                 logits, targets)
    logits, targets = _multiclass(c=3)
    w = torch.tensor([0.2, 1.0, 3.0], dtype=torch.float64)
    _assert_same(lambda x, y: weighted_ce_loss(x, y, weight=w, reduction="sum"),
                 lambda x, y: F.cross_entropy(x, y, weight=w, reduction="sum"), logits, targets)


@pytest.mark.parametrize("gamma", GAMMAS)
@pytest.mark.parametrize("alpha", [None, 0.25, 0.9])
@pytest.mark.parametrize("scale", [3.0, 1e4])
def test_binary_focal_equals_kornia_and_torchvision(gamma, alpha, scale):
    kornia_losses = pytest.importorskip("kornia.losses")
    logits, targets = _binary(scale=scale, seed=int(gamma * 10))
    ours = lambda x, y: focal_loss(x, y, gamma=gamma, alpha=alpha)  # noqa: E731
    _assert_same(ours, lambda x, y: kornia_losses.binary_focal_loss_with_logits(
        x[:, None], y[:, None].double(), alpha=alpha, gamma=gamma, reduction="mean"), logits, targets)
    if scale < 100:  # the plain torchvision formula itself overflows at extreme logits
        _assert_same(ours, lambda x, y: torchvision_focal(x, y, gamma, alpha), logits, targets)


@pytest.mark.parametrize("gamma", GAMMAS)
def test_multiclass_focal_equals_kornia(gamma):
    kornia_losses = pytest.importorskip("kornia.losses")
    logits, targets = _multiclass(seed=int(gamma * 10))
    w = torch.tensor([0.5, 1.0, 2.0, 0.1], dtype=torch.float64)
    _assert_same(lambda x, y: focal_loss(x, y, gamma=gamma, alpha=w, reduction="sum"),
                 lambda x, y: kornia_losses.focal_loss(x, y, alpha=None, gamma=gamma, weight=w, reduction="sum"),
                 logits, targets)


def test_focal_gamma_zero_is_cross_entropy():
    logits, targets = _binary()
    _assert_same(lambda x, y: focal_loss(x, y, gamma=0.0), lambda x, y: ce_loss(x, y), logits, targets)
    logits, targets = _multiclass()
    _assert_same(lambda x, y: focal_loss(x, y, gamma=0.0), lambda x, y: F.cross_entropy(x, y), logits, targets)


@pytest.mark.parametrize("name,params", [("ce", {}), ("weighted_ce", {"weight": [0.3, 2.0]}),
                                         ("focal", {"gamma": 0.5, "alpha": 0.3}), ("focal", {"gamma": 2.0})])
def test_gradcheck(name, params):
    module = loss_zoo.get(name, **params)
    logits, targets = _binary(n=12, scale=2.0)
    assert torch.autograd.gradcheck(lambda x: module(x, targets), (logits,))


@pytest.mark.parametrize("dtype", [torch.float32, torch.float64])
@pytest.mark.parametrize("gamma", GAMMAS)
def test_focal_finite_at_extreme_logits(dtype, gamma):
    values = torch.tensor([-1e4, -50.0, -1.0, 0.0, 1.0, 50.0, 1e4], dtype=dtype)
    for logits, targets in [
        (values.clone(), torch.tensor([0, 1, 0, 1, 0, 1, 1])),
        (values.clone(), torch.tensor([1, 0, 1, 0, 1, 0, 0])),
        (torch.stack([values, -values, values / 2], dim=1), torch.tensor([0, 1, 2, 0, 1, 2, 0])),
    ]:
        logits.requires_grad_()
        loss = focal_loss(logits, targets, gamma=gamma)
        (grad,) = torch.autograd.grad(loss, logits)
        assert torch.isfinite(loss) and torch.isfinite(grad).all()


@pytest.mark.parametrize("call,param", [
    (lambda x, y: focal_loss(x, y, gamma=-0.1), "gamma"),
    (lambda x, y: focal_loss(x, y, gamma=float("nan")), "gamma"),
    (lambda x, y: focal_loss(x, y, alpha=1.5), "alpha"),
    (lambda x, y: focal_loss(x, y, reduction="avg"), "reduction"),
    (lambda x, y: weighted_ce_loss(x, y, weight=[1.0, 2.0, 3.0]), "weight"),
    (lambda x, y: ce_loss(x, y + 2), "targets"),
    (lambda x, y: ce_loss(x[:-1], y), "targets"),
])
def test_invalid_parameters_name_the_parameter(call, param):
    logits, targets = _binary(n=8)
    with pytest.raises(ValueError, match=param):
        call(logits, targets)


def test_class_weights():
    assert class_weights([90, 10], beta=0.0) == pytest.approx([1.0, 1.0])
    w = class_weights([90, 10], beta=1.0)
    assert w[1] / w[0] == pytest.approx(9.0)
    assert 90 * w[0] + 10 * w[1] == pytest.approx(100.0)  # average weight 1
    cb = class_weights([90, 10], scheme="effective_number", beta=0.99)
    raw = [(1 - 0.99) / (1 - 0.99**n) for n in (90, 10)]
    assert cb[1] / cb[0] == pytest.approx(raw[1] / raw[0])
    with pytest.raises(ValueError, match="beta"):
        class_weights([90, 10], beta=1.5)


@pytest.mark.parametrize("name", sorted(loss_zoo.available()))
def test_registry_contract(name):
    """Every registered loss: a module, finite, reduction 'none' gives (N,), 'mean' = 'sum' / N."""
    info = loss_zoo.available()[name]
    params = {"weight": [1.0, 3.0]} if name == "weighted_ce" else {}
    logits, targets = _binary(n=10)
    per_sample = loss_zoo.get(name, reduction="none", **params)(logits, targets)
    assert per_sample.shape == (10,) and torch.isfinite(per_sample).all()
    mean = loss_zoo.get(name, reduction="mean", **params)(logits, targets)
    total = loss_zoo.get(name, reduction="sum", **params)(logits, targets)
    torch.testing.assert_close(mean, total / 10)
    assert info.binary
    if info.multiclass:
        params = {"weight": [1.0, 3.0, 0.5, 1.0]} if name == "weighted_ce" else {}
        logits, targets = _multiclass(n=10, c=4)
        assert loss_zoo.get(name, **params)(logits, targets).ndim == 0


def test_registry_unknown_name_lists_known():
    with pytest.raises(ValueError, match="known: ce, focal, weighted_ce"):
        loss_zoo.get("focall")
