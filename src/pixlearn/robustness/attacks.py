"""Adversarial attacks: imperceptible perturbations that change a classifier's answer.

The syllabus' adversarial fragility problem made concrete: one gradient step (FGSM) or a few
projected ones (PGD) of size ``eps`` on images in [0, 1] are enough to fool a trained network.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import Tensor, nn

from pixlearn._core.check import (
    check_choice,
    check_image,
    check_int,
    check_interval,
    check_positive,
    check_tensor,
    describe,
)
from pixlearn._core.errors import ShapeError
from pixlearn.interpret._model import eval_mode

__all__ = ["fgsm", "pgd"]


def fgsm(
    model: nn.Module,
    images: Tensor,
    labels: Tensor,
    eps: float,
    *,
    clamp: tuple[float, float] | None = (0.0, 1.0),
) -> Tensor:
    r"""Fast gradient sign method: one step of size ``eps`` up the loss.

    Args:
        model: a classifier returning raw class scores ``(B, num_classes)``; it runs in
            evaluation mode (its modes are restored after; parameter ``.grad`` untouched).
        images: the clean images, ``(B, C, H, W)``, float, finite.
        labels: their true classes, ``(B,)`` integer.
        eps: the perturbation size (:math:`L_\infty` radius), ``>= 0``.
        clamp: the valid value range the result is clipped to, or ``None`` to skip clipping.

    Returns:
        The adversarial images, same shape and dtype as ``images``, detached.

    Shape:
        ``(B, C, H, W), (B,) -> (B, C, H, W)``.

    Raises:
        ShapeError: ``images`` not 4-D, ``labels`` not ``(B,)`` integers.
        ValueRangeError: a negative or non-finite ``eps``, a ``clamp`` with ``lo > hi``.

    Notes:
        With :math:`J(x, y)` the cross-entropy of the model's scores,
        :math:`x_{adv} = \mathrm{clip}_{[lo, hi]}(x + \epsilon\,\mathrm{sign}(\nabla_x J(x, y)))`:
        the linear approximation of :math:`J` is maximised over the :math:`L_\infty` ball of
        radius :math:`\epsilon`, so :math:`\|x_{adv} - x\|_\infty \le \epsilon`. A pixel whose
        gradient is exactly 0 is left unchanged.

    Example:
        >>> net = torch.nn.Sequential(torch.nn.Flatten(), torch.nn.Linear(16, 3))
        >>> x, y = torch.rand(2, 1, 4, 4), torch.tensor([0, 2])
        >>> adv = fgsm(net, x, y, eps=0.1)
        >>> bool((adv - x).abs().max() <= 0.1 + 1e-6), bool(adv.min() >= 0)
        (True, True)

    References:
        Goodfellow, I. J., Shlens, J., Szegedy, C. "Explaining and harnessing adversarial
        examples." ICLR 2015.
    """
    x, y = _check_batch(images, labels)
    e = check_positive(eps, "eps", strict=False)
    bounds = _check_clamp(clamp)
    with eval_mode(model):
        grad = _loss_gradient(model, x, y)  # (B, C, H, W)
    # x_adv = clip(x + eps sign(grad_x J))
    adv = x + e * grad.sign()
    return adv.clamp(*bounds) if bounds is not None else adv


def pgd(
    model: nn.Module,
    images: Tensor,
    labels: Tensor,
    eps: float,
    alpha: float,
    steps: int,
    *,
    random_start: bool = True,
    generator: torch.Generator | None = None,
    norm: str = "linf",
    clamp: tuple[float, float] | None = (0.0, 1.0),
) -> Tensor:
    r"""Projected gradient descent attack (on the loss, so ascent): iterated, projected FGSM.

    Args:
        model: a classifier returning raw class scores ``(B, num_classes)``; it runs in
            evaluation mode (its modes are restored after; parameter ``.grad`` untouched).
        images: the clean images, ``(B, C, H, W)``, float, finite.
        labels: their true classes, ``(B,)`` integer.
        eps: radius of the allowed perturbation ball, ``>= 0``.
        alpha: step size of each iteration, ``> 0``.
        steps: number of iterations, ``>= 0`` (0 returns the random start, or the images).
        random_start: start from a uniformly random point of the ball instead of ``images``.
        generator: the random source of the start (drawn on its own device, then moved).
        norm: ``"linf"`` (sign steps, box projection) or ``"l2"`` (normalised gradient steps,
            projection onto the Euclidean ball of each image).
        clamp: the valid value range every iterate is clipped to, or ``None``.

    Returns:
        The adversarial images, same shape and dtype as ``images``, detached, within ``eps`` of
        ``images`` in the chosen norm and inside ``clamp``.

    Shape:
        ``(B, C, H, W), (B,) -> (B, C, H, W)``.

    Raises:
        ShapeError: ``images`` not 4-D, ``labels`` not ``(B,)`` integers.
        ValueRangeError: bad ``eps``, ``alpha``, ``steps``, ``norm`` or ``clamp``.

    Notes:
        Madry et al. find the worst case :math:`\max_{\|\delta\| \le \epsilon} J(x + \delta, y)`
        by projected steps, for :math:`L_\infty`
        :math:`x^{t+1} = \Pi_{x,\epsilon}(x^t + \alpha\,\mathrm{sign}(\nabla_x J(x^t, y)))` with
        :math:`\Pi` the clip to :math:`[x - \epsilon, x + \epsilon]` (and to the valid range);
        for :math:`L_2` the step is :math:`\alpha\, g / \|g\|_2` and :math:`\Pi` rescales
        :math:`\delta` to :math:`\delta \min(1, \epsilon / \|\delta\|_2)`. The random start is
        uniform in the ball: :math:`U[-\epsilon, \epsilon]` per pixel for :math:`L_\infty`;
        a Gaussian direction times :math:`\epsilon u^{1/d}` for :math:`L_2` (:math:`d` pixels).

    Example:
        >>> net = torch.nn.Sequential(torch.nn.Flatten(), torch.nn.Linear(16, 3))
        >>> x, y = torch.rand(2, 1, 4, 4), torch.tensor([0, 2])
        >>> g = torch.Generator().manual_seed(0)
        >>> adv = pgd(net, x, y, eps=0.1, alpha=0.03, steps=5, generator=g)
        >>> bool((adv - x).abs().max() <= 0.1 + 1e-6)
        True

    References:
        Madry, A., Makelov, A., Schmidt, L., Tsipras, D., Vladu, A. "Towards deep learning
        models resistant to adversarial attacks." ICLR 2018.
    """
    x, y = _check_batch(images, labels)
    e = check_positive(eps, "eps", strict=False)
    a = check_positive(alpha, "alpha")
    n_steps = check_int(steps, "steps", min_value=0)
    check_choice(norm, "norm", ("linf", "l2"))
    bounds = _check_clamp(clamp)
    linf = norm == "linf"
    delta = torch.zeros_like(x)  # (B, C, H, W)
    if random_start and x.numel():
        delta = _random_start(x, e, linf=linf, generator=generator)
    adv = _project(x, x + delta, e, linf=linf, bounds=bounds)
    with eval_mode(model):
        for _ in range(n_steps):
            grad = _loss_gradient(model, adv, y)  # (B, C, H, W)
            step = grad.sign() if linf else grad / _l2(grad).clamp_min(1e-12)
            adv = _project(x, adv + a * step, e, linf=linf, bounds=bounds)
    return adv


def _check_batch(images: Tensor, labels: Tensor) -> tuple[Tensor, Tensor]:
    check_image(images, "images", min_dims=4, max_dims=4, floating=True)
    check_tensor(labels, "labels")
    if labels.shape != (images.shape[0],) or labels.is_floating_point() or labels.is_complex():
        raise ShapeError(
            f"labels must be an integer tensor of shape ({images.shape[0]},), "
            f"one class per image, got {describe(labels)}"
        )
    return images.detach(), labels.to(device=images.device, dtype=torch.long)


def _check_clamp(clamp: tuple[float, float] | None) -> tuple[float, float] | None:
    if clamp is None:
        return None
    lo, hi = check_interval(tuple(clamp) if isinstance(clamp, list) else clamp, "clamp")
    return float(lo), float(hi)


def _loss_gradient(model: nn.Module, x: Tensor, y: Tensor) -> Tensor:
    """grad_x of the summed cross-entropy (the sum: a per-image gradient, no 1/B scaling)."""
    x = x.detach().requires_grad_(True)
    with torch.enable_grad():
        scores = model(x)  # (B, K)
        if not isinstance(scores, Tensor) or scores.dim() != 2 or scores.shape[0] != x.shape[0]:
            got = describe(scores)
            raise ShapeError(f"model must return class scores (B, num_classes), got {got}")
        loss = F.cross_entropy(scores, y, reduction="sum")
        if not loss.requires_grad:  # a model that ignores its input: nothing to climb
            return torch.zeros_like(x)
        (grad,) = torch.autograd.grad(loss, x, allow_unused=True)
    return torch.zeros_like(x) if grad is None else grad


def _l2(t: Tensor) -> Tensor:
    """Per-image Euclidean norm, shaped to broadcast: ``(B, C, H, W) -> (B, 1, 1, 1)``."""
    return t.flatten(1).norm(dim=1).view(-1, *([1] * (t.dim() - 1)))


def _random_start(
    x: Tensor, eps: float, *, linf: bool, generator: torch.Generator | None
) -> Tensor:
    gdev = generator.device if generator is not None else torch.device("cpu")
    if linf:
        u = torch.rand(x.shape, generator=generator, dtype=x.dtype, device=gdev)
        return ((2 * u - 1) * eps).to(x.device)  # U[-eps, eps] per pixel
    d = x[0].numel()
    g = torch.randn(x.shape, generator=generator, dtype=x.dtype, device=gdev)
    u = torch.rand(x.shape[0], generator=generator, dtype=x.dtype, device=gdev)
    # uniform in the d-ball: a uniform direction times the radius eps u^(1/d)
    radius = (eps * u ** (1.0 / d)).view(-1, *([1] * (x.dim() - 1)))
    return (g / _l2(g).clamp_min(1e-12) * radius).to(x.device)


def _project(
    x: Tensor, adv: Tensor, eps: float, *, linf: bool, bounds: tuple[float, float] | None
) -> Tensor:
    """Bring ``adv`` back into the eps-ball around ``x``, then into the valid range."""
    delta = adv - x
    if linf:
        delta = delta.clamp(-eps, eps)
    else:
        # delta <- delta min(1, eps / ||delta||)
        delta = delta * (eps / _l2(delta).clamp_min(1e-12)).clamp(max=1.0)
    out = x + delta
    return out.clamp(*bounds) if bounds is not None else out
