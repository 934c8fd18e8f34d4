"""Focal losses: focal (Lin et al. 2017), sample-dependent FLSD (Mukhoti et al. 2020) and
class-balanced focal (Cui et al. 2019), all stable in log space for every γ >= 0."""

from __future__ import annotations

from collections.abc import Sequence

import torch
import torch.nn.functional as F
from torch import nn

from ._checks import (
    check_alpha_binary,
    check_binary_inputs,
    check_gamma,
    check_multiclass_inputs,
    check_reduction,
    class_weight_tensor,
    reduce,
)
from .corrections import focal_posterior_logits
from .entry import INF, BinaryTerms, LossEntry, MulticlassTerms, Range
from .weights import class_weights


#: elements per pass (per CPU thread) of the binary focal kernel: its three float32 buffers of
#: 256 KiB stay in the CPU's cache, so a large input is read from memory once (measured at 10⁷
#: logits, one thread: 1.58x BCE-with-logits in one pass over the whole input, 0.91x in chunks of 2¹⁶)
CHUNK = 1 << 16


class _BinaryFocal(torch.autograd.Function):
    """Binary focal loss with an analytic gradient, computed in the forward pass in few buffers.

    With s the logit signed by the target (p_t = σ(s)) and t = -s = (1 - 2y) z: q = 1 - p_t = σ(t),
    -log p_t = softplus(t) = max(t, 0) - log max(q, 1 - q) (one ``log`` of an argument in
    [1/2, 1]: no cancellation, no overflow; absolute error within the dtype's epsilon, so a loss
    below it, p_t > 1 - ε, rounds to 0), m = (1 - p_t)^γ as a power for small integer γ, else
    exp(γ log q) with log q = t - softplus(t), L = w_y · m · softplus(t) and
    dL/dt = w_y · m · (q + γ (1 - q)(-log p_t)), dL/dz = (1 - 2y) dL/dt.

    When a gradient is wanted the forward pass computes dL/dt from the terms it already holds and
    saves only it; the backward pass signs and scales it. On the CPU each torch operation is a
    pass over memory and each fresh large buffer costs page faults, which outweigh the arithmetic
    (torch's ``softplus`` and ``where`` also cost several multiplies), so the loss is 14 passes
    in three buffers with one ``sigmoid`` and one ``log``, run over chunks of :data:`CHUNK`
    elements that stay in cache. Written by hand: no library fuses focal's value and gradient.
    Measured against BCE-with-logits in benchmarks/perf/losses.py and dense.py (target ≤ 1.5×,
    issue 27).
    """

    @staticmethod
    def forward(ctx, logits, targets, gamma: float, alpha: float | None, reduction: str):
        n = logits.numel()
        ctx.scale = 1.0 / n if reduction == "mean" else 1.0
        # w_y = (1 - α)(1 + c y), c = (2α - 1) / (1 - α) where a focal factor exists: the (1 - α) in the scale
        folded = alpha is not None and gamma != 0 and float(alpha) != 1.0
        if folded:
            ctx.scale *= 1.0 - float(alpha)
        grad, per_sample = ctx.needs_input_grad[0], reduction == "none"
        # on the CPU, CHUNK elements per thread (torch splits each op between its threads); elsewhere one pass
        step = CHUNK * torch.get_num_threads() if logits.device.type == "cpu" else max(n, 1)
        if n <= step:  # one pass in its own buffers (a training batch)
            total, per, d = _focal_chunk(logits, targets, gamma, alpha, folded, grad=grad, per_sample=per_sample)
        else:  # chunk by chunk, into buffers of the whole length
            d = torch.empty_like(logits) if grad else None
            per = torch.empty_like(logits) if per_sample else None
            total = logits.new_zeros(())
            for s in range(0, n, step):
                part, _, _ = _focal_chunk(logits[s : s + step], targets[s : s + step], gamma, alpha, folded, grad=grad,
                                          per_sample=per_sample, d_out=None if d is None else d[s : s + step],
                                          loss_out=None if per is None else per[s : s + step])
                if part is not None:
                    total += part
        if d is not None:
            ctx.save_for_backward(d, targets)
        if per is not None:
            return per.mul_(ctx.scale) if ctx.scale != 1.0 else per
        return total * ctx.scale

    @staticmethod
    def backward(ctx, grad_out):
        d, targets = ctx.saved_tensors
        grad = torch.addcmul(d, d, targets, value=-2.0)  # (1 - 2y) dL/dt
        return grad.mul_(grad_out * ctx.scale if ctx.scale != 1.0 else grad_out), None, None, None, None


def _focal_chunk(logits, targets, gamma: float, alpha: float | None, folded: bool, *, grad: bool, per_sample: bool,
                 d_out=None, loss_out=None):
    """One chunk of :class:`_BinaryFocal`, unscaled: (the sum, or None where ``per_sample``; the
    per-sample losses or None; dL/dt where ``grad``, else None). The last two are written into
    ``loss_out`` and ``d_out`` where given (a chunk of a whole-length buffer), else into its own."""
    t = torch.addcmul(logits, logits, targets, value=-2.0)  # buffer 1
    q = torch.sigmoid(t)  # buffer 2
    aux = torch.rsub(q, 1.0)  # buffer 3
    aux = torch.maximum(q, aux, out=aux).log_()  # log σ(|t|)
    log_q = None if gamma == 0 or (gamma == int(gamma) and gamma <= 4) else torch.sub(t, t.clamp_min(0.0)).add_(aux)
    nll = t.clamp_min_(0.0).sub_(aux)  # softplus(t), in t's buffer
    if gamma == 0:
        m = None
    elif log_q is None:
        m = torch.mul(q, q, out=aux) if gamma == 2 else torch.pow(q, int(gamma), out=aux)  # no transcendental
    else:
        m = log_q.mul_(gamma).exp_()  # exp(γ log(1 - p_t))
    if folded:
        m = torch.addcmul(m, m, targets, value=(2.0 * float(alpha) - 1.0) / (1.0 - float(alpha)), out=m)
    elif alpha is not None:  # w_y as a tensor (a copy: the caller's float targets stay as they are)
        w = targets.to(logits.dtype, copy=True).mul_(2.0 * float(alpha) - 1.0).add_(1.0 - float(alpha))
        m = w if m is None else m.mul_(w)
    total = per = d = None
    if per_sample:
        per = (torch.mul(m, nll, out=loss_out) if loss_out is not None else m * nll) if m is not None else (
            loss_out.copy_(nll) if loss_out is not None else nll.clone())
    else:
        total = nll.sum() if m is None else torch.dot(m, nll)
    if grad:
        d = q if gamma == 0 else torch.add(q, torch.addcmul(nll, q, nll, value=-1.0, out=nll), alpha=gamma, out=nll)
        if d_out is not None:
            d = torch.mul(d, m, out=d_out) if m is not None else d_out.copy_(d)
        elif m is not None:
            d = d.mul_(m)
    return total, per, d


def _log_pt_and_log_one_minus_pt(logits: torch.Tensor, targets: torch.Tensor):
    """Multi-class (log p_t, log(1 - p_t)), the latter as a log-sum-exp over the other classes."""
    log_p = F.log_softmax(logits, dim=1)
    index = targets.long().unsqueeze(1)
    log_pt = log_p.gather(1, index).squeeze(1)
    others = log_p.scatter(1, index, float("-inf"))
    return log_pt, torch.logsumexp(others, dim=1)


def _focal(logits, targets, gamma_t, weight: torch.Tensor | None) -> torch.Tensor:
    """Per-sample focal loss; ``gamma_t`` a float or a per-sample tensor, ``weight`` per class."""
    if logits.ndim == 1:
        signed = torch.where(targets.bool(), logits, -logits)
        log_pt, log_1m_pt = F.logsigmoid(signed), F.logsigmoid(-signed)
    else:
        log_pt, log_1m_pt = _log_pt_and_log_one_minus_pt(logits, targets)
    loss = -torch.exp(gamma_t * log_1m_pt) * log_pt
    if weight is not None:
        loss = weight[targets.long()] * loss
    return loss


def _alpha_weights(alpha, logits: torch.Tensor) -> torch.Tensor | None:
    if alpha is None:
        return None
    if logits.ndim == 1:
        check_alpha_binary(alpha)
        return torch.tensor([1.0 - float(alpha), float(alpha)], dtype=logits.dtype, device=logits.device)
    return class_weight_tensor(alpha, logits.shape[1], logits, name="alpha")


def _check_inputs(logits: torch.Tensor, targets: torch.Tensor) -> None:
    if logits.ndim == 1:
        check_binary_inputs(logits, targets)
    else:
        check_multiclass_inputs(logits, targets)


def focal_loss(
    logits: torch.Tensor,
    targets: torch.Tensor,
    *,
    gamma: float = 2.0,
    alpha: float | Sequence[float] | None = None,
    reduction: str = "mean",
) -> torch.Tensor:
    r"""Focal loss, :math:`\mathrm{FL} = -\alpha_t (1 - p_t)^{\gamma} \log p_t`.

    Lin, Goyal, Girshick, He, Dollár, "Focal Loss for Dense Object Detection", ICCV 2017.
    The modulating factor is computed as :math:`\exp(\gamma \log(1 - p_t))` with
    :math:`\log(1 - p_t)` in log space, so value and gradient stay finite for logits in
    [-1e4, 1e4] and for 0 < γ < 1, where :math:`(1 - p_t)^{\gamma}` has an infinite slope at p_t = 1.

    Parameters
    ----------
    logits : Tensor, shape (N,) (binary, p = sigmoid) or (N, C) (multi-class, p = softmax)
    targets : Tensor, shape (N,), values in {0, 1} (binary) or [0, C) (multi-class)
    gamma : float, default 2.0
        Focusing parameter, γ >= 0; γ = 0 is (weighted) cross-entropy.
    alpha : float in [0, 1], sequence of C floats >= 0, or None, default None
        Binary: α weights the positive class and 1 - α the negative (torchvision and
        kornia convention). Multi-class: one weight per class. None: no weighting.
    reduction : {"none", "mean", "sum"}, default "mean"
        "mean" divides the sum by N.

    Examples
    --------
    >>> logits, targets = torch.tensor([3.0, -1.0]), torch.tensor([1, 1])
    >>> bool(focal_loss(logits, targets, gamma=2.0) < focal_loss(logits, targets, gamma=0.0))
    True
    """
    check_reduction(reduction)
    check_gamma(gamma)
    _check_inputs(logits, targets)
    if logits.ndim == 1:
        check_alpha_binary(alpha)
        return _BinaryFocal.apply(logits, targets, float(gamma), None if alpha is None else float(alpha), reduction)
    return reduce(_focal(logits, targets, float(gamma), _alpha_weights(alpha, logits)), reduction)


def focal_flsd_loss(
    logits: torch.Tensor,
    targets: torch.Tensor,
    *,
    thresholds: Sequence[float] = (0.2,),
    gammas: Sequence[float] = (5.0, 3.0),
    alpha: float | Sequence[float] | None = None,
    reduction: str = "mean",
) -> torch.Tensor:
    r"""Sample-dependent focal loss (FLSD), γ chosen per sample from p_t.

    Mukhoti, Kulharia, Sanyal, Golodetz, Torr, Dokania, "Calibrating Deep Neural Networks
    using Focal Loss", NeurIPS 2020. FLSD-53 (the default): γ = 5 when p_t < 0.2, else γ = 3.
    With thresholds t_1 < ... < t_k and gammas g_0, ..., g_k, γ = g_j for
    t_j <= p_t < t_{j+1}. γ is picked from p_t without gradient, as in the paper.

    Parameters
    ----------
    logits : Tensor, shape (N,) or (N, C)
    targets : Tensor, shape (N,)
    thresholds : increasing sequence in (0, 1), default (0.2,)
    gammas : sequence of len(thresholds) + 1 floats >= 0, default (5.0, 3.0)
    alpha : as in :func:`focal_loss`
    reduction : {"none", "mean", "sum"}, default "mean"
    """
    check_reduction(reduction)
    _check_inputs(logits, targets)
    thresholds, gammas = [float(t) for t in thresholds], [float(g) for g in gammas]
    if len(gammas) != len(thresholds) + 1:
        raise ValueError(f"gammas: expected len(thresholds) + 1 = {len(thresholds) + 1} values, got {len(gammas)}")
    if any(not 0 < t < 1 for t in thresholds) or thresholds != sorted(set(thresholds)):
        raise ValueError(f"thresholds: expected increasing values in (0, 1), got {thresholds}")
    for g in gammas:
        check_gamma(g, "gammas")
    with torch.no_grad():
        if logits.ndim == 1:
            pt = torch.sigmoid(torch.where(targets.bool(), logits, -logits))
        else:
            pt = torch.softmax(logits, dim=1).gather(1, targets.long().unsqueeze(1)).squeeze(1)
        bucket = torch.bucketize(pt, torch.tensor(thresholds, dtype=pt.dtype), right=True)
        gamma_t = torch.tensor(gammas, dtype=logits.dtype)[bucket]
    return reduce(_focal(logits, targets, gamma_t, _alpha_weights(alpha, logits)), reduction)


def class_balanced_focal_loss(
    logits: torch.Tensor,
    targets: torch.Tensor,
    *,
    counts: Sequence[int],
    beta: float = 0.999,
    gamma: float = 2.0,
    reduction: str = "mean",
) -> torch.Tensor:
    r"""Class-balanced focal loss: effective-number weights times focal loss.

    :math:`\mathrm{CB} = -\frac{1 - \beta}{1 - \beta^{n_y}} (1 - p_t)^{\gamma} \log p_t`, weights
    normalised to mean 1 over the training samples (:func:`loss_zoo.class_weights`).
    Cui, Jia, Lin, Song, Belongie, "Class-Balanced Loss Based on Effective Number of
    Samples", CVPR 2019.

    Parameters
    ----------
    logits : Tensor, shape (N,) or (N, C)
    targets : Tensor, shape (N,)
    counts : sequence of int
        Training samples per class (2 for binary, C for multi-class).
    beta : float in [0, 1), default 0.999
    gamma : float >= 0, default 2.0
    reduction : {"none", "mean", "sum"}, default "mean"
    """
    check_reduction(reduction)
    check_gamma(gamma)
    _check_inputs(logits, targets)
    n_classes = 2 if logits.ndim == 1 else logits.shape[1]
    if len(counts) != n_classes:
        raise ValueError(f"counts: expected {n_classes} class counts, got {len(counts)}")
    weight = torch.tensor(class_weights(counts, scheme="effective_number", beta=beta), dtype=logits.dtype)
    return reduce(_focal(logits, targets, float(gamma), weight), reduction)


class FocalLoss(nn.Module):
    """Module form of :func:`focal_loss`; stores γ, α and the reduction."""

    def __init__(
        self, *, gamma: float = 2.0, alpha: float | Sequence[float] | None = None, reduction: str = "mean"
    ) -> None:
        super().__init__()
        check_reduction(reduction)
        check_gamma(gamma)
        if alpha is not None and not isinstance(alpha, Sequence):
            check_alpha_binary(alpha)
        self.gamma, self.alpha, self.reduction = float(gamma), alpha, reduction

    def forward(self, logits: torch.Tensor, targets: torch.Tensor) -> torch.Tensor:
        return focal_loss(logits, targets, gamma=self.gamma, alpha=self.alpha, reduction=self.reduction)


class FocalFLSDLoss(nn.Module):
    """Module form of :func:`focal_flsd_loss`."""

    def __init__(
        self,
        *,
        thresholds: Sequence[float] = (0.2,),
        gammas: Sequence[float] = (5.0, 3.0),
        alpha: float | Sequence[float] | None = None,
        reduction: str = "mean",
    ) -> None:
        super().__init__()
        check_reduction(reduction)
        self.thresholds, self.gammas = tuple(thresholds), tuple(gammas)
        self.alpha, self.reduction = alpha, reduction
        probe = torch.zeros(1, len(alpha)) if isinstance(alpha, Sequence) else torch.zeros(1)  # per-class α: multi-class
        focal_flsd_loss(probe, torch.zeros(1, dtype=torch.long), thresholds=self.thresholds,
                        gammas=self.gammas, alpha=alpha)  # validate now, not at the first batch

    def forward(self, logits: torch.Tensor, targets: torch.Tensor) -> torch.Tensor:
        return focal_flsd_loss(logits, targets, thresholds=self.thresholds, gammas=self.gammas,
                               alpha=self.alpha, reduction=self.reduction)


class ClassBalancedFocalLoss(nn.Module):
    """Module form of :func:`class_balanced_focal_loss`; stores the class counts."""

    def __init__(self, *, counts: Sequence[int], beta: float = 0.999, gamma: float = 2.0,
                 reduction: str = "mean") -> None:
        super().__init__()
        check_reduction(reduction)
        check_gamma(gamma)
        class_weights(counts, scheme="effective_number", beta=beta)  # validates counts and beta
        self.counts, self.beta, self.gamma, self.reduction = tuple(counts), float(beta), float(gamma), reduction

    def forward(self, logits: torch.Tensor, targets: torch.Tensor) -> torch.Tensor:
        return class_balanced_focal_loss(logits, targets, counts=self.counts, beta=self.beta,
                                         gamma=self.gamma, reduction=self.reduction)


# -- registry entries ---------------------------------------------------------------------------
def _binary_alpha(alpha) -> tuple[float, float] | None:
    """(w0, w1) of a binary α (None: (1, 1)); None for a per-class α (the multi-class form)."""
    if alpha is None:
        return 1.0, 1.0
    if isinstance(alpha, Sequence):
        return None
    return 1.0 - float(alpha), float(alpha)


def _focal_terms(loss: FocalLoss) -> BinaryTerms | None:
    w = _binary_alpha(loss.alpha)
    return None if w is None else BinaryTerms(w0=w[0], w1=w[1], g0=loss.gamma, g1=loss.gamma)


def _flsd_terms(loss: FocalFLSDLoss) -> BinaryTerms | None:
    w = _binary_alpha(loss.alpha)
    if w is None or len(loss.thresholds) != 1:
        return None
    return BinaryTerms(w0=w[0], w1=w[1], g0=float(loss.gammas[0]), g1=float(loss.gammas[1]),
                       threshold=float(loss.thresholds[0]))


def _class_balanced_terms(loss: ClassBalancedFocalLoss) -> BinaryTerms | None:
    if len(loss.counts) != 2:
        return None
    w = class_weights(loss.counts, scheme="effective_number", beta=loss.beta)
    return BinaryTerms(w0=float(w[0]), w1=float(w[1]), g0=loss.gamma, g1=loss.gamma)


def _class_alpha(alpha) -> tuple[float, ...] | None | bool:
    """Per-class weights of a multi-class α (None: unweighted); False for a scalar α, which
    only binary problems take."""
    if alpha is None:
        return None
    return tuple(float(a) for a in alpha) if isinstance(alpha, Sequence) else False


def _focal_multiclass_terms(loss: FocalLoss) -> MulticlassTerms | None:
    w = _class_alpha(loss.alpha)
    return None if w is False else MulticlassTerms(weight=w, g0=loss.gamma, g1=loss.gamma)


def _flsd_multiclass_terms(loss: FocalFLSDLoss) -> MulticlassTerms | None:
    w = _class_alpha(loss.alpha)
    if w is False or len(loss.thresholds) != 1:
        return None
    return MulticlassTerms(weight=w, g0=float(loss.gammas[0]), g1=float(loss.gammas[1]),
                           threshold=float(loss.thresholds[0]))


def _class_balanced_multiclass_terms(loss: ClassBalancedFocalLoss) -> MulticlassTerms:
    w = class_weights(loss.counts, scheme="effective_number", beta=loss.beta)
    return MulticlassTerms(weight=tuple(float(v) for v in w), g0=loss.gamma, g1=loss.gamma)


def _flsd_params(tuned, counts) -> dict:
    """FLSD keeps the paper's (thresholds, γs); α is not tuned, but LossClassifier may set it."""
    alpha = tuned.get("focal_flsd_alpha")
    return {} if alpha is None else {"alpha": alpha}


def _focal_posterior(logits, *, gamma: float = 2.0, alpha=None):
    return focal_posterior_logits(logits, gamma=gamma, alpha=alpha)


def _class_balanced_posterior(logits, *, counts, beta: float = 0.999, gamma: float = 2.0):
    weight = class_weights(counts, scheme="effective_number", beta=beta)
    return focal_posterior_logits(logits, gamma=gamma, weight=weight)


FOCAL = LossEntry(
    "focal", focal_loss, FocalLoss, "Lin et al., ICCV 2017",
    params=lambda p, counts: {"gamma": p["focal_gamma"], "alpha": p["focal_alpha"]},
    space={"focal_gamma": Range(0.0, 5.0, valid=(0.0, INF), default=2.0),
           "focal_alpha": Range(0.05, 0.95, valid=(0.0, 1.0), optional=True, binary_only=True)},
    estimator={"gamma": "focal_gamma", "alpha": "focal_alpha"},
    binary_terms=_focal_terms, multiclass_terms=_focal_multiclass_terms, posterior=_focal_posterior,
)

FOCAL_FLSD = LossEntry(
    "focal_flsd", focal_flsd_loss, FocalFLSDLoss, "Mukhoti et al., NeurIPS 2020",
    params=_flsd_params, estimator={"alpha": "focal_flsd_alpha"}, binary_terms=_flsd_terms,
    multiclass_terms=_flsd_multiclass_terms,
)

CLASS_BALANCED_FOCAL = LossEntry(
    "class_balanced_focal", class_balanced_focal_loss, ClassBalancedFocalLoss, "Cui et al., CVPR 2019",
    params=lambda p, counts: {"counts": list(counts), "beta": p["class_balanced_focal_beta"],
                              "gamma": p["class_balanced_focal_gamma"]},
    space={"class_balanced_focal_beta": Range(0.9, 0.9999, valid=(0.0, 0.999999), default=0.999),
           "class_balanced_focal_gamma": Range(0.0, 5.0, valid=(0.0, INF), default=2.0)},
    estimator={"beta": "class_balanced_focal_beta", "gamma": "class_balanced_focal_gamma"},
    binary_terms=_class_balanced_terms, multiclass_terms=_class_balanced_multiclass_terms,
    posterior=_class_balanced_posterior,
)
