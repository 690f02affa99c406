"""Total-variation denoising: Chambolle's projection algorithm for the ROF model.

Rudin, Osher and Fatemi denoise by trading the image's total variation (the summed length of its
gradient) against fidelity to the noisy data. Noise has a large total variation and edges a small
one per unit of contrast, so the minimiser is flat where the data are noisy and keeps sharp edges:
piecewise-constant, "cartoon-like" images. Chambolle (2004) solves the problem through its dual,
a fixed-point iteration on a vector field :math:`p` with :math:`|p| \\le 1` everywhere.
"""

from __future__ import annotations

import torch
from torch import Tensor

from pixlearn._core.check import check_image, check_int, check_positive
from pixlearn.restoration._boundary import channels_first

__all__ = ["denoise_tv"]


def _gradient(u: Tensor) -> tuple[Tensor, Tensor]:
    """Forward differences along rows and columns, 0 on the last row/column (Neumann)."""
    gr = torch.zeros_like(u)
    gc = torch.zeros_like(u)
    gr[..., :-1, :] = u[..., 1:, :] - u[..., :-1, :]  # (..., H, W)
    gc[..., :, :-1] = u[..., :, 1:] - u[..., :, :-1]  # (..., H, W)
    return gr, gc


def _neg_divergence(pr: Tensor, pc: Tensor) -> Tensor:
    """Minus the divergence of ``p`` (backward differences, the adjoint of ``-_gradient``)."""
    d = -(pr + pc)
    d[..., 1:, :] += pr[..., :-1, :]
    d[..., :, 1:] += pc[..., :, :-1]
    return d


def _safe_norm(sq: Tensor) -> Tensor:
    """``sqrt(sq)`` with a zero (not NaN) gradient where ``sq == 0``."""
    pos = sq > 0
    return torch.where(pos, torch.where(pos, sq, 1.0).sqrt(), 0.0)


def denoise_tv(
    image: Tensor,
    weight: float = 0.1,
    *,
    eps: float = 2e-4,
    max_num_iter: int = 200,
    channel_axis: int | None = None,
) -> Tensor:
    r"""Total-variation (ROF) denoising by Chambolle's projection algorithm.

    Args:
        image: the noisy image, shape ``(..., H, W)``, float, finite. Every ``(H, W)`` plane is
            denoised on its own (leading dims are a batch), unless ``channel_axis`` couples them.
        weight: :math:`w = 1/\lambda \ge 0`, the weight of the total variation against the
            data; larger is smoother. 0 returns the input.
        eps: the stopping tolerance on the energy (> 0 stops early, 0 always runs
            ``max_num_iter`` iterations): an image stops when
            :math:`|E_{n-1} - E_n| < \varepsilon E_0`; each image of a batch stops on its own.
        max_num_iter: the most iterations, >= 1 (1 returns the input).
        channel_axis: ``None``: the planes are independent. An axis (e.g. ``-3`` for
            ``(..., C, H, W)``): the channels along it are one colour image, denoised jointly
            with the vectorial TV (the gradient norm is taken over the channels too, so edges
            stay aligned across channels) and one stopping rule per image. With one channel the
            two agree.

    Returns:
        The denoised image, same shape and dtype (float16/bfloat16 computed in float32).
        Differentiable w.r.t. ``image`` (for a fixed number of iterations, ``eps=0``).

    Shape:
        ``(..., H, W) -> (..., H, W)``.

    Raises:
        WrongTypeError: ``image`` not floating, ``max_num_iter`` not an integer.
        ShapeError: fewer than 2 dims, an empty image, ``channel_axis`` naming a spatial or a
            missing axis.
        ValueRangeError: NaN/Inf in ``image``, ``weight < 0``, ``eps < 0``,
            ``max_num_iter < 1``.

    Notes:
        The ROF problem and its minimiser:

        .. math::
            u^\star = \arg\min_u \; \sum_i |\nabla u|_i + \frac{1}{2w}\|u - f\|^2
            = f - w\,\operatorname{div} p^\star,

        with :math:`\nabla` the forward differences (0 past the last row and column) and
        :math:`\operatorname{div} = -\nabla^*`. Chambolle's fixed point, with step
        :math:`\tau = 1/4`, writing :math:`u^n = f + d^n` and :math:`d^n = -\operatorname{div}
        p^n` (the scaled field of scikit-image's implementation, :math:`p \leftarrow w p`):

        .. math::
            p^{n+1} = \frac{p^n - \tau \nabla u^n}{1 + (\tau / w)\,|\nabla u^n|},
            \qquad E_n = \frac{1}{N}\Big(\|d^n\|^2 + w \sum_i |\nabla u^n|_i\Big).

        :math:`|\nabla u|` is the Euclidean norm over the two directions (isotropic TV) and,
        with ``channel_axis``, over the channels too. The iteration stops at the first
        :math:`n \ge 1` with :math:`|E_{n-1} - E_n| < \varepsilon E_0` and returns :math:`u^n`
        (or :math:`u^{M-1}` after ``M = max_num_iter`` iterations). Same semantics, step and
        stopping rule as ``skimage.restoration.denoise_tv_chambolle`` on 2-D images.

    Example:
        >>> g = torch.Generator().manual_seed(0)
        >>> clean = torch.zeros(32, 32, dtype=torch.float64)
        >>> clean[8:24, 8:24] = 1.0
        >>> noisy = clean + 0.2 * torch.randn(32, 32, generator=g, dtype=torch.float64)
        >>> out = denoise_tv(noisy, 0.2)
        >>> bool((out - clean).abs().mean() < (noisy - clean).abs().mean() / 2)
        True

    References:
        Chambolle, A. "An algorithm for total variation minimization and applications."
        J. Math. Imaging Vis. 20 (2004) 89-97.
        Rudin, L. I., Osher, S., Fatemi, E. "Nonlinear total variation based noise removal
        algorithms." Physica D 60 (1992) 259-268.
    """
    check_image(image, "image", floating=True)
    w = check_positive(weight, "weight", strict=False)
    tol = check_positive(eps, "eps", strict=False)
    iters = check_int(max_num_iter, "max_num_iter", min_value=1)
    x = image
    x, ax = channels_first(x, channel_axis)  # (..., C, H, W) when channel_axis is given
    if w == 0 or iters == 1 or image.numel() == 0:
        return image.clone()
    f = x.float() if x.dtype in (torch.float16, torch.bfloat16) else x
    chan = (-3,) if channel_axis is not None else ()
    # one energy per image: reduce over H, W (and channels when they are coupled)
    dims = (*chan, -2, -1)
    rest = tuple(k + 1 for k in dims[:-1])  # the same dims once the last one is summed
    n = 1
    for dim in dims:
        n *= f.shape[dim]
    tau = 0.25  # 1 / (2 * ndim), the largest step Chambolle's convergence proof allows
    # in place on preallocated buffers unless a gradient is wanted
    inplace = not (torch.is_grad_enabled() and f.requires_grad)
    pr = torch.zeros_like(f)  # the dual field p, one component per direction, (..., H, W)
    pc = torch.zeros_like(f)
    d = torch.zeros_like(f)  # d = -div p, so that u = f + d
    gr = torch.zeros_like(f)  # forward differences of u, 0 on the last row / column
    gc = torch.zeros_like(f)
    u = f
    active: Tensor | None = None  # images still iterating, one flag per image
    e_init = e_prev = f.new_zeros((), dtype=torch.float64)
    for i in range(iters):
        if i > 0:
            u = torch.add(f, d, out=u if inplace and u is not f else None)
        if inplace:
            torch.sub(u[..., 1:, :], u[..., :-1, :], out=gr[..., :-1, :])
            torch.sub(u[..., :, 1:], u[..., :, :-1], out=gc[..., :, :-1])
            sq = torch.mul(gr, gr).addcmul_(gc, gc)  # |grad u|^2, (..., [C,] H, W)
        else:
            gr, gc = _gradient(u)
            sq = gr.square() + gc.square()
        # |grad u|, the norm over the directions (and over the channels when coupled)
        sq = sq.sum(-3, keepdim=True) if chan else sq
        norm = sq.sqrt_() if inplace else _safe_norm(sq)  # (..., [1,] H, W)
        # E = (||d||^2 + w sum |grad u|) / N, accumulated in float64 so that the stopping
        # test does not hinge on rounding
        # (row sums in the working dtype: reductions with a float64 dtype= are slow on CPU)
        d2 = torch.mul(d, d).sum(-1).double().sum(rest)
        energy = (d2 + w * norm.sum(-1).double().sum(rest)) / n
        if i == 0:
            e_init = e_prev = energy
            active = torch.ones_like(energy, dtype=torch.bool)
        else:
            assert active is not None
            stop = active & ((e_prev - energy).abs() < tol * e_init)  # converged now
            e_prev = torch.where(stop, e_prev, energy)
            active = active & ~stop
            if not bool(active.any()):
                break
        if i + 1 == iters:
            break
        if not bool(active.all()):
            # a stopped image takes no step: with grad u = 0 its p, d and u stay as they are
            keep = active.reshape(*active.shape, *([1] * (len(chan) + 2))).to(f.dtype)
            gr, gc, norm = gr * keep, gc * keep, norm * keep
        # p <- (p - tau grad u) / (1 + (tau / w) |grad u|)
        if inplace:
            scale = norm.mul_(tau / w).add_(1.0)
            pr.sub_(gr, alpha=tau).div_(scale)
            pc.sub_(gc, alpha=tau).div_(scale)
            torch.add(pr, pc, out=d).neg_()
            d[..., 1:, :] += pr[..., :-1, :]
            d[..., :, 1:] += pc[..., :, :-1]
        else:
            scale = 1.0 + (tau / w) * norm
            pr = (pr - tau * gr) / scale
            pc = (pc - tau * gc) / scale
            d = _neg_divergence(pr, pc)
    out = u
    if channel_axis is not None:
        out = out.movedim(-3, ax)
    return out.to(image.dtype)
