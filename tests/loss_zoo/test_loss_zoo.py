"""loss_zoo against independent references: torch's BCE/CE, kornia, the torchvision formula."""

from __future__ import annotations

import pytest
import torch
import torch.nn.functional as F

import loss_zoo
from loss_zoo import (
    ce_loss,
    class_balanced_focal_loss,
    class_weights,
    focal_flsd_loss,
    focal_loss,
    logit_adjusted_ce_loss,
    weighted_ce_loss,
)

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


@pytest.mark.parametrize("gamma,alpha", [(0.0, 0.25), (2.0, None), (2.0, 0.25), (0.5, 0.9), (3.0, 1.0)])
@pytest.mark.parametrize("reduction", ["mean", "none"])
def test_binary_focal_in_chunks_equals_the_plain_formula_across_chunk_edges(gamma, alpha, reduction):
    """Inputs longer than one chunk of the kernel (loss_zoo.focal.CHUNK) give the plain formula's
    value and gradient on every element, the last partial chunk included."""
    from loss_zoo.focal import CHUNK

    g = torch.Generator().manual_seed(5)
    n = 2 * CHUNK + 17
    logits, targets = torch.randn(n, generator=g, dtype=torch.float64) * 3, torch.randint(0, 2, (n,), generator=g)

    def reference(x, y):
        t = y.to(x.dtype)
        p_t = torch.sigmoid(x) * t + torch.sigmoid(-x) * (1 - t)
        loss = F.binary_cross_entropy_with_logits(x, t, reduction="none") * (1 - p_t) ** gamma
        return loss if alpha is None else (alpha * t + (1 - alpha) * (1 - t)) * loss

    if reduction == "none":  # weighted, so that every element's value enters the gradient apart
        weights = torch.linspace(0.5, 1.5, n, dtype=torch.float64)
        torch.testing.assert_close(focal_loss(logits, targets, gamma=gamma, alpha=alpha, reduction="none"),
                                   reference(logits, targets), atol=1e-12, rtol=1e-9)
        ours = lambda x, y: (focal_loss(x, y, gamma=gamma, alpha=alpha, reduction="none") * weights).sum()  # noqa: E731
        ref = lambda x, y: (reference(x, y) * weights).sum()  # noqa: E731
    else:
        ours = lambda x, y: focal_loss(x, y, gamma=gamma, alpha=alpha)  # noqa: E731
        ref = lambda x, y: reference(x, y).mean()  # noqa: E731
    _assert_same(ours, ref, logits, targets, tol=1e-9)


def test_binary_focal_leaves_float_targets_as_they_are():
    """The α weights were once built in place on the targets: float targets came back as α_y."""
    logits = torch.randn(9, requires_grad=True)
    targets = torch.tensor([0.0, 1.0, 0.0, 1.0, 1.0, 0.0, 1.0, 0.0, 0.0])
    kept = targets.clone()
    for gamma in (0.0, 2.0):
        focal_loss(logits, targets, gamma=gamma, alpha=0.25).backward()
        focal_loss(logits, targets, gamma=gamma, alpha=1.0).backward()
    assert torch.equal(targets, kept)


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
    (lambda x, y: focal_flsd_loss(x, y, thresholds=(0.2, 0.1), gammas=(5, 3, 1)), "thresholds"),
    (lambda x, y: focal_flsd_loss(x, y, gammas=(5.0,)), "gammas"),
    (lambda x, y: focal_flsd_loss(x, y, gammas=(5.0, -3.0)), "gammas"),
    (lambda x, y: class_balanced_focal_loss(x, y, counts=(10, 5, 5)), "counts"),
    (lambda x, y: class_balanced_focal_loss(x, y, counts=(10, 5), beta=1.0), "beta"),
    (lambda x, y: logit_adjusted_ce_loss(x, y, prior=(0.5, 0.0)), "prior"),
    (lambda x, y: logit_adjusted_ce_loss(x, y, prior=(0.5, 0.5), tau=-1), "tau"),
    (lambda x, y: focal_loss(x, y.float() * 0.5), "targets"),
    (lambda x, y: focal_loss(x[:, None].repeat(1, 3), y.float()), "targets"),
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


def _params(name: str, n_classes: int) -> dict:
    return {
        "weighted_ce": {"weight": [1.0, 3.0, 0.5, 1.0][:n_classes]},
        "class_balanced_focal": {"counts": [500, 20, 70, 9][:n_classes]},
        "logit_adjusted_ce": {"prior": [0.6, 0.1, 0.2, 0.1][:n_classes]},
        "balanced_softmax": {"prior": [0.6, 0.1, 0.2, 0.1][:n_classes]},
        "ldam": {"margins": loss_zoo.ldam_margins([500, 20, 70, 9][:n_classes], 0.5),
                 "weight": loss_zoo.drw_weights([500, 20, 70, 9][:n_classes])},
    }.get(name, {})


@pytest.mark.parametrize("name", sorted(loss_zoo.available()))
def test_registry_contract(name):
    """Every registered loss: a module, finite everywhere, 'none' gives (N,), 'mean' = 'sum' / N,
    gradcheck in float64, and a documented formula and citation."""
    info = loss_zoo.available()[name]
    for n_classes, make in [(2, _binary), (4, _multiclass)]:
        if (n_classes == 2 and not info.binary) or (n_classes > 2 and not info.multiclass):
            continue
        params = _params(name, n_classes)
        logits, targets = make(n=10)
        per_sample = loss_zoo.get(name, reduction="none", **params)(logits, targets)
        assert per_sample.shape == (10,) and torch.isfinite(per_sample).all()
        mean = loss_zoo.get(name, reduction="mean", **params)(logits, targets)
        total = loss_zoo.get(name, reduction="sum", **params)(logits, targets)
        torch.testing.assert_close(mean, total / 10)
        module = loss_zoo.get(name, **params)
        assert torch.autograd.gradcheck(lambda x: module(x, targets), (logits.detach().clone().requires_grad_(),))
        for dtype in (torch.float32, torch.float64):
            extreme = (logits.detach().sign() * 1e4).to(dtype).requires_grad_()
            value = module(extreme, targets)
            (grad,) = torch.autograd.grad(value, extreme)
            assert torch.isfinite(value) and torch.isfinite(grad).all(), (name, dtype)
        with pytest.raises(ValueError, match="reduction"):
            loss_zoo.get(name, reduction="avg", **params)
    function = getattr(loss_zoo, f"{name}_loss")
    assert "Parameters" in function.__doc__ and "shape" in function.__doc__
    assert info.citation


def test_registry_unknown_name_lists_known():
    with pytest.raises(ValueError, match=r"did you mean focal, focal_flsd, dual_focal\?\); known: asl, balanced_softmax, "
                                         r"brier, ce, ce_drop_easy, class_balanced_focal, dual_focal, focal, focal_flsd"):
        loss_zoo.get("focall")


@pytest.mark.parametrize("alpha", [None, 0.25])
def test_flsd_equals_kornia_per_gamma_group(alpha):
    kornia_losses = pytest.importorskip("kornia.losses")
    logits, targets = _binary(n=200, scale=2.0)
    pt = torch.sigmoid(torch.where(targets.bool(), logits, -logits)).detach()

    def reference(x, y):
        total = 0
        for gamma, mask in ((5.0, pt < 0.2), (3.0, pt >= 0.2)):
            total = total + kornia_losses.binary_focal_loss_with_logits(
                x[mask][:, None], y[mask][:, None].double(), alpha=alpha, gamma=gamma, reduction="sum")
        return total / len(x)

    _assert_same(lambda x, y: focal_flsd_loss(x, y, alpha=alpha), reference, logits, targets)
    # one threshold above everything: a single γ, i.e. plain focal loss
    _assert_same(lambda x, y: focal_flsd_loss(x, y, thresholds=(0.5,), gammas=(2.0, 2.0)),
                 lambda x, y: focal_loss(x, y, gamma=2.0), logits, targets)


def test_class_balanced_focal_is_weighted_focal():
    logits, targets = _binary(n=50)
    counts, beta = (450, 50), 0.99
    w = torch.tensor(class_weights(counts, scheme="effective_number", beta=beta), dtype=torch.float64)
    _assert_same(lambda x, y: class_balanced_focal_loss(x, y, counts=counts, beta=beta, gamma=2.0),
                 lambda x, y: (w[y] * focal_loss(x, y, gamma=2.0, reduction="none")).mean(), logits, targets)
    logits, targets = _multiclass(n=50, c=3)
    counts = (300, 60, 12)
    w = torch.tensor(class_weights(counts, scheme="effective_number", beta=beta), dtype=torch.float64)
    kornia_losses = pytest.importorskip("kornia.losses")
    _assert_same(lambda x, y: class_balanced_focal_loss(x, y, counts=counts, beta=beta, gamma=1.0, reduction="sum"),
                 lambda x, y: kornia_losses.focal_loss(x, y, alpha=None, gamma=1.0, weight=w, reduction="sum"),
                 logits, targets)


def test_logit_adjusted_binary_equals_two_class_softmax_and_tau_zero_is_ce():
    logits, targets = _binary(n=40)
    prior, tau = (0.8, 0.2), 1.5
    shift = tau * torch.log(torch.tensor(prior, dtype=torch.float64))
    _assert_same(lambda x, y: logit_adjusted_ce_loss(x, y, prior=prior, tau=tau),
                 lambda x, y: F.cross_entropy(torch.stack([torch.zeros_like(x), x], 1) + shift, y),
                 logits, targets)
    _assert_same(lambda x, y: logit_adjusted_ce_loss(x, y, prior=prior, tau=0.0), ce_loss, logits, targets)
    logits, targets = _multiclass(n=40, c=3)
    prior = torch.tensor([0.5, 0.3, 0.2], dtype=torch.float64)
    _assert_same(lambda x, y: logit_adjusted_ce_loss(x, y, prior=prior, tau=1.0),
                 lambda x, y: F.cross_entropy(x + torch.log(prior), y), logits, targets)
