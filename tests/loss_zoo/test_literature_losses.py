"""The losses the literature compares, each against an independent reference: torch's own
label smoothing, scikit-learn's Brier score, the PolyLoss paper's listing, the ASL and dual focal
authors' code (transcribed here: neither package installs beside this torch), and logit-adjusted
CE for balanced softmax. Values and gradients in float64."""

from __future__ import annotations

import numpy as np
import pytest
import torch
import torch.nn.functional as F
from sklearn.metrics import brier_score_loss

import loss_zoo
from loss_zoo import (
    asl_loss,
    balanced_softmax_loss,
    brier_loss,
    ce_loss,
    dual_focal_loss,
    focal_loss,
    label_smoothing_loss,
    logit_adjusted_ce_loss,
    mmce_loss,
    ohem_loss,
    poly1_loss,
)


def _binary(n=200, scale=3.0, seed=0):
    g = torch.Generator().manual_seed(seed)
    return torch.randn(n, generator=g, dtype=torch.float64) * scale, torch.randint(0, 2, (n,), generator=g)


def _multiclass(n=200, c=4, scale=3.0, seed=0):
    g = torch.Generator().manual_seed(seed)
    return torch.randn(n, c, generator=g, dtype=torch.float64) * scale, torch.randint(0, c, (n,), generator=g)


def _value_and_grad(fn, logits, targets):
    x = logits.detach().clone().requires_grad_()
    value = fn(x, targets)
    (grad,) = torch.autograd.grad(value.sum(), x)
    return value.detach(), grad


def _assert_same(ours, ref, logits, targets, tol=1e-10):
    (v1, g1), (v2, g2) = _value_and_grad(ours, logits, targets), _value_and_grad(ref, logits, targets)
    torch.testing.assert_close(v1, v2, rtol=tol, atol=tol)
    torch.testing.assert_close(g1, g2, rtol=tol, atol=tol)


# -- label smoothing: torch's cross_entropy(label_smoothing=ε) --------------------------------------
@pytest.mark.parametrize("epsilon", [0.0, 0.05, 0.2, 0.9])
@pytest.mark.parametrize("reduction", ["none", "mean", "sum"])
def test_label_smoothing_equals_torch(epsilon, reduction):
    logits, targets = _multiclass()
    _assert_same(lambda x, y: label_smoothing_loss(x, y, epsilon=epsilon, reduction=reduction),
                 lambda x, y: F.cross_entropy(x, y, label_smoothing=epsilon, reduction=reduction), logits, targets)
    logits, targets = _binary()
    soft = targets.double() * (1 - epsilon) + epsilon / 2  # targets ε/2 and 1 - ε/2
    _assert_same(lambda x, y: label_smoothing_loss(x, y, epsilon=epsilon, reduction=reduction),
                 lambda x, y: F.binary_cross_entropy_with_logits(x, soft, reduction=reduction), logits, targets)
    two = lambda x, y: F.cross_entropy(torch.stack([torch.zeros_like(x), x], 1), y,  # noqa: E731
                                       label_smoothing=epsilon, reduction=reduction)
    _assert_same(lambda x, y: label_smoothing_loss(x, y, epsilon=epsilon, reduction=reduction), two, logits, targets)


# -- Brier: scikit-learn's brier_score_loss and the hand formula ------------------------------------
def test_brier_equals_sklearn_and_the_hand_formula():
    logits, targets = _binary()
    p = torch.sigmoid(logits)
    _assert_same(lambda x, y: brier_loss(x, y, reduction="none"), lambda x, y: (torch.sigmoid(x) - y) ** 2,
                 logits, targets)
    assert brier_loss(logits, targets).item() == pytest.approx(brier_score_loss(targets.numpy(), p.numpy()),
                                                               rel=1e-12, abs=1e-15)
    logits, targets = _multiclass(c=5)
    hand = lambda x, y: ((torch.softmax(x, 1) - F.one_hot(y, 5)) ** 2).sum(1)  # noqa: E731
    _assert_same(lambda x, y: brier_loss(x, y, reduction="none"), hand, logits, targets)
    sk = brier_score_loss(targets.numpy(), torch.softmax(logits, 1).numpy(), labels=list(range(5)))
    assert brier_loss(logits, targets).item() == pytest.approx(sk, rel=1e-12, abs=1e-15)


# -- poly-1: the paper's listing ------------------------------------------------------------------
def paper_poly1(logits, labels_one_hot, epsilon):
    """Leng et al., ICLR 2022, the listing ``poly1_cross_entropy`` (TensorFlow) in torch:
    pt = reduce_sum(labels * softmax(logits), -1); CE = softmax_cross_entropy_with_logits;
    Poly1 = CE + epsilon * (1 - pt)."""
    pt = (labels_one_hot * torch.softmax(logits, -1)).sum(-1)
    ce = -(labels_one_hot * torch.log_softmax(logits, -1)).sum(-1)
    return ce + epsilon * (1 - pt)


@pytest.mark.parametrize("epsilon", [-1.0, 0.0, 1.0, 3.0])
def test_poly1_equals_the_papers_listing(epsilon):
    logits, targets = _multiclass()
    _assert_same(lambda x, y: poly1_loss(x, y, epsilon=epsilon, reduction="none"),
                 lambda x, y: paper_poly1(x, F.one_hot(y, 4).double(), epsilon), logits, targets)
    logits, targets = _binary()  # the sigmoid case: the two-class softmax of (0, z)
    _assert_same(lambda x, y: poly1_loss(x, y, epsilon=epsilon, reduction="none"),
                 lambda x, y: paper_poly1(torch.stack([torch.zeros_like(x), x], 1), F.one_hot(y, 2).double(), epsilon),
                 logits, targets)
    if epsilon == 0:
        _assert_same(lambda x, y: poly1_loss(x, y, epsilon=0.0), ce_loss, logits, targets)


# -- ASL: the authors' AsymmetricLoss ---------------------------------------------------------------
def authors_asl(x, y, gamma_neg=4, gamma_pos=1, clip=0.05, eps=1e-8):
    """``AsymmetricLoss.forward`` of Alibaba-MIIL/ASL, ``src/loss_functions/losses.py`` (commit
    37658182b1a3f7a83a798f53ad4fe4e31fc03632), with ``disable_torch_grad_focal_loss=False`` (the
    focusing weight keeps its gradient), per element instead of ``-loss.sum()``."""
    x_sigmoid = torch.sigmoid(x)
    xs_pos = x_sigmoid
    xs_neg = 1 - x_sigmoid
    if clip is not None and clip > 0:
        xs_neg = (xs_neg + clip).clamp(max=1)
    los_pos = y * torch.log(xs_pos.clamp(min=eps))
    los_neg = (1 - y) * torch.log(xs_neg.clamp(min=eps))
    loss = los_pos + los_neg
    if gamma_neg > 0 or gamma_pos > 0:
        pt0 = xs_pos * y
        pt1 = xs_neg * (1 - y)
        pt = pt0 + pt1
        one_sided_gamma = gamma_pos * y + gamma_neg * (1 - y)
        one_sided_w = torch.pow(1 - pt, one_sided_gamma)
        loss *= one_sided_w
    return -loss


@pytest.mark.parametrize("gamma_neg,gamma_pos,clip", [(4.0, 0.0, 0.05), (4.0, 1.0, 0.05), (2.5, 0.0, 0.2),
                                                      (3.0, 0.0, 0.0), (0.0, 0.0, 0.0), (0.0, 2.0, 0.1)])
def test_asl_equals_the_authors_code(gamma_neg, gamma_pos, clip):
    """Logits within ±15, where the authors' clamp of probabilities at 1e-8 does not bite."""
    logits, targets = _binary(n=400)
    _assert_same(lambda x, y: asl_loss(x, y, gamma_neg=gamma_neg, gamma_pos=gamma_pos, clip=clip, reduction="none"),
                 lambda x, y: authors_asl(x, y.double(), gamma_neg, gamma_pos, clip), logits, targets)
    if gamma_neg == gamma_pos == clip == 0:
        _assert_same(lambda x, y: asl_loss(x, y, gamma_neg=0.0, clip=0.0), ce_loss, logits, targets)


def test_asl_negatives_below_the_margin_cost_nothing_and_get_no_gradient():
    logits = torch.tensor([-5.0, -3.0, -2.9, 0.0], dtype=torch.float64, requires_grad=True)  # σ(-3) ≈ 0.047 < 0.05
    loss = asl_loss(logits, torch.zeros(4, dtype=torch.long), reduction="none")
    loss.sum().backward()
    assert loss[0] == loss[1] == 0 and loss[2] > 0 and logits.grad[:2].eq(0).all()
    assert torch.isfinite(logits.grad).all()


# -- balanced softmax: logit-adjusted CE at τ = 1, and Ren et al.'s formula --------------------------
def test_balanced_softmax_is_logit_adjusted_ce_at_tau_one():
    counts = torch.tensor([900.0, 60.0, 30.0, 10.0], dtype=torch.float64)
    logits, targets = _multiclass()
    prior = (counts / counts.sum()).tolist()
    _assert_same(lambda x, y: balanced_softmax_loss(x, y, prior=prior, reduction="none"),
                 lambda x, y: logit_adjusted_ce_loss(x, y, prior=prior, tau=1.0, reduction="none"), logits, targets)
    _assert_same(lambda x, y: balanced_softmax_loss(x, y, prior=counts.tolist(), reduction="none"),  # counts work too
                 lambda x, y: -torch.log(counts[y] * x.exp().gather(1, y[:, None]).squeeze(1) / (counts * x.exp()).sum(1)),
                 logits, targets)
    logits, targets = _binary()
    _assert_same(lambda x, y: balanced_softmax_loss(x, y, prior=[0.95, 0.05]),
                 lambda x, y: logit_adjusted_ce_loss(x, y, prior=[0.95, 0.05], tau=1.0), logits, targets)
    entry, alias = loss_zoo.entry("balanced_softmax"), loss_zoo.entry("logit_adjusted_ce")
    assert entry.loss_params({}, [95, 5]) == {"prior": [0.95, 0.05]}
    assert entry.binary_terms(loss_zoo.get("balanced_softmax", prior=[0.95, 0.05])) == alias.binary_terms(
        loss_zoo.get("logit_adjusted_ce", prior=[0.95, 0.05], tau=1.0))
    z = np.linspace(-10, 10, 21)
    np.testing.assert_array_equal(loss_zoo.posterior_logits("balanced_softmax", z, prior=[0.95, 0.05]),
                                  loss_zoo.posterior_logits("logit_adjusted_ce", z, prior=[0.95, 0.05], tau=1.0))


# -- dual focal: the authors' DualFocalLoss -------------------------------------------------------
def authors_dual_focal(input, target, gamma):
    """``DualFocalLoss.forward`` of Linwei94/DualFocalLoss, ``dual_focal_loss.py`` (commit
    7adf771d54d413738456ebf476a209fcc742d15f), per sample instead of ``loss.sum()``."""
    target = target.view(-1, 1)
    logp_k = F.log_softmax(input, dim=1)
    softmax_logits = logp_k.exp()
    logp_k = logp_k.gather(1, target)
    logp_k = logp_k.view(-1)
    p_k = logp_k.exp()
    p_j_mask = torch.lt(softmax_logits, p_k.reshape(p_k.shape[0], 1)) * 1
    p_j = torch.topk(p_j_mask * softmax_logits, 1)[0].squeeze()
    return -1 * (1 - p_k + p_j) ** gamma * logp_k


@pytest.mark.parametrize("gamma", [0.0, 0.5, 2.0, 5.0])
def test_dual_focal_equals_the_authors_code(gamma):
    logits, targets = _multiclass(c=10, seed=int(gamma * 10))
    _assert_same(lambda x, y: dual_focal_loss(x, y, gamma=gamma, reduction="none"),
                 lambda x, y: authors_dual_focal(x, y, gamma), logits, targets)
    logits, targets = _binary(seed=int(gamma * 10))  # the two-class case, logits (0, z)
    _assert_same(lambda x, y: dual_focal_loss(x, y, gamma=gamma, reduction="none"),
                 lambda x, y: authors_dual_focal(torch.stack([torch.zeros_like(x), x], 1), y, gamma), logits, targets)
    if gamma == 0:
        _assert_same(lambda x, y: dual_focal_loss(x, y, gamma=0.0), ce_loss, logits, targets)


def test_binary_dual_focal_is_focal_times_two_to_the_gamma_above_one_half():
    logits, targets = _binary()
    signed = torch.where(targets.bool(), logits, -logits)
    scale = torch.where(signed > 0, 2.0**3, 1.0)
    _assert_same(lambda x, y: dual_focal_loss(x, y, gamma=3.0, reduction="none"),
                 lambda x, y: scale * focal_loss(x, y, gamma=3.0, reduction="none"), logits, targets)


# -- OHEM: the hardest part of the batch, selected here by numpy's sort -----------------------------
def reference_ohem(logits, targets, keep, neg_pos_ratio=None):
    """Shrivastava et al. 2016's top-k by loss (and SSD's negative cap) written with numpy's
    argsort: the mean cross-entropy of the kept samples."""
    per = (F.binary_cross_entropy_with_logits(logits, targets.double(), reduction="none") if logits.ndim == 1
           else F.cross_entropy(logits, targets, reduction="none"))
    order = np.argsort(-per.detach().numpy(), kind="stable")
    y = targets.numpy()
    if neg_pos_ratio is not None:
        cap = int(np.ceil(neg_pos_ratio * max((y == 1).sum(), 1)))
        negatives = [i for i in order if y[i] == 0]
        order = np.array([i for i in order if y[i] == 1 or i in set(negatives[:cap])])
    kept = order[: int(np.ceil(keep * len(y)))]
    return per[torch.as_tensor(kept)].mean()


@pytest.mark.parametrize("keep,ratio", [(0.25, None), (0.1, None), (1.0, None), (0.5, 3.0), (1.0, 1.0), (0.3, 0.5)])
def test_ohem_equals_a_sort_based_reference(keep, ratio):
    logits, targets = _binary(n=203)
    targets = (torch.rand(203, generator=torch.Generator().manual_seed(1)) < 0.1).long()  # imbalanced: the cap bites
    _assert_same(lambda x, y: ohem_loss(x, y, keep=keep, neg_pos_ratio=ratio),
                 lambda x, y: reference_ohem(x, y, keep, ratio), logits, targets)
    if ratio is None:
        logits, targets = _multiclass(n=203)
        _assert_same(lambda x, y: ohem_loss(x, y, keep=keep), lambda x, y: reference_ohem(x, y, keep), logits, targets)
        if keep == 1.0:
            _assert_same(lambda x, y: ohem_loss(x, y, keep=1.0), ce_loss, logits, targets)


def test_ohem_is_batch_level_so_it_trains_alone_and_lightgbm_refuses_it():
    from loss_zoo.batched import member_losses, multiclass_member_losses

    module = loss_zoo.get("ohem", keep=0.5, neg_pos_ratio=3.0)
    assert member_losses([module]) is None and multiclass_member_losses([loss_zoo.get("ohem")], 3) is None
    assert loss_zoo.entry("ohem").posterior is None
    with pytest.raises(ValueError, match="neg_pos_ratio: expected None for multi-class"):
        ohem_loss(*_multiclass(n=8), neg_pos_ratio=3.0)


# -- MMCE: the authors' calibration_mmce_w_loss ------------------------------------------------------
def authors_mmce_w(logits, correct_labels):
    """``calibration_mmce_w_loss`` of aviralkumar2907/MMCE, ``20ng_mmce.py`` (commit
    19878718f0bed14850536b2e09c1128f28997f14), TensorFlow 1 ops written with their torch
    counterparts, step by step (tiles, top_k, the masks and the 1e-5 / 1e-10 guards included)."""
    predicted_probs = torch.softmax(logits, 1)
    predicted_labels = torch.argmax(predicted_probs, 1)
    predicted_probs = predicted_probs.max(1).values
    correct_mask = torch.where(correct_labels == predicted_labels, 1.0, 0.0).double()

    def tf_kernel(matrix):
        return torch.exp(-1.0 * torch.abs(matrix[:, :, 0] - matrix[:, :, 1]) / (2 * 0.2))

    k, k_p = int(correct_mask.sum()), int((1.0 - correct_mask).sum())
    cond_k, cond_k_p = 0 if k == 0 else 1, 0 if k_p == 0 else 1
    k = max(k, 1) * cond_k * cond_k_p + (1 - cond_k * cond_k_p) * 2
    k_p = max(k_p, 1) * cond_k_p * cond_k + (1 - cond_k_p * cond_k) * (len(correct_mask) - 2)
    correct_prob = torch.topk(predicted_probs * correct_mask, k).values
    incorrect_prob = torch.topk(predicted_probs * (1 - correct_mask), k_p).values

    def pairs(t1, t2):
        return torch.stack([t1[:, None].expand(-1, len(t2)), t2[None, :].expand(len(t1), -1)], dim=2)

    sampling_weights_correct = (1.0 - correct_prob)[:, None] @ (1.0 - correct_prob)[None, :]
    correct_correct_vals = torch.mean(tf_kernel(pairs(correct_prob, correct_prob)) * sampling_weights_correct)
    sampling_weights_incorrect = incorrect_prob[:, None] @ incorrect_prob[None, :]
    incorrect_incorrect_vals = torch.mean(tf_kernel(pairs(incorrect_prob, incorrect_prob)) * sampling_weights_incorrect)
    sampling_correct_incorrect = (1.0 - correct_prob)[:, None] @ incorrect_prob[None, :]
    correct_incorrect_vals = torch.mean(tf_kernel(pairs(correct_prob, incorrect_prob)) * sampling_correct_incorrect)
    m, n = correct_mask.sum(), (1.0 - correct_mask).sum()
    mmd_error = 1.0 / (m * m + 1e-5) * correct_correct_vals.sum()
    mmd_error = mmd_error + 1.0 / (n * n + 1e-5) * incorrect_incorrect_vals.sum()
    mmd_error = mmd_error - 2.0 / (m * n + 1e-5) * correct_incorrect_vals.sum()
    return torch.clamp(float(cond_k * cond_k_p) * torch.sqrt(mmd_error + 1e-10), min=0.0)


def authors_add_loss(logits, labels, mmce_coeff):
    """``add_loss``: mean cross-entropy + mmce_coeff × MMCE_w (on the logits themselves; the
    script passes log(softmax + 1e-10) of a softmax output layer)."""
    return F.cross_entropy(logits, labels) + mmce_coeff * authors_mmce_w(logits, labels)


@pytest.mark.parametrize("lam", [0.0, 1.0, 8.0])
@pytest.mark.parametrize("scale", [0.5, 3.0])
def test_mmce_equals_the_authors_code(lam, scale):
    logits, targets = _multiclass(n=128, c=5, scale=scale)
    _assert_same(lambda x, y: mmce_loss(x, y, lam=lam), lambda x, y: authors_add_loss(x, y, lam), logits, targets)
    logits, targets = _binary(n=128, scale=scale)  # the two-class case, logits (0, z)
    _assert_same(lambda x, y: mmce_loss(x, y, lam=lam),
                 lambda x, y: authors_add_loss(torch.stack([torch.zeros_like(x), x], 1), y, lam), logits, targets)


def test_mmce_is_zero_without_a_mistake_and_batch_level():
    from loss_zoo.batched import member_losses

    logits = torch.tensor([5.0, -4.0, 3.0, -6.0], dtype=torch.float64)
    targets = torch.tensor([1, 0, 1, 0])
    torch.testing.assert_close(mmce_loss(logits, targets, lam=8.0), ce_loss(logits, targets))
    assert member_losses([loss_zoo.get("mmce")]) is None and loss_zoo.entry("mmce").posterior is None


@pytest.mark.parametrize("name,params", [("mmce", {"lam": -1.0}), ("ohem", {"keep": 0.0}), ("ohem", {"neg_pos_ratio": -1.0}),
                                         ("label_smoothing", {"epsilon": 1.0}), ("label_smoothing", {"epsilon": -0.1}),
                                         ("poly1", {"epsilon": -1.5}), ("asl", {"clip": 1.0}),
                                         ("asl", {"gamma_neg": -1.0}), ("dual_focal", {"gamma": -0.5})])
def test_invalid_parameters_name_the_parameter(name, params):
    param = next(iter(params))
    with pytest.raises(ValueError, match=param):
        loss_zoo.get(name, **params)
