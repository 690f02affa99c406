r"""Single-image dehazing with the dark channel prior, refined by the guided filter.

Haze follows the atmospheric scattering model :math:`I = J t + A (1 - t)`: the scene radiance
:math:`J` is attenuated by the transmission :math:`t = e^{-\beta d}` (depth :math:`d`) and
replaced by airlight :math:`A`. He, Sun and Tang observed that in haze-free outdoor patches some
colour channel is almost black (shadows, saturated colours, dark objects): the *dark channel*
of :math:`J` is about 0. The dark channel of :math:`I / A` then estimates :math:`1 - t` directly,
and the brightest dark-channel pixels locate :math:`A`. The patch-wise estimate is blocky; the
guided filter (an edge-preserving, O(1)-per-pixel local linear regression) snaps it to the
image's edges.
"""

from __future__ import annotations

import math

import torch.nn.functional as F
from torch import Tensor

from pixlearn._core.check import (
    check_choice,
    check_image,
    check_int,
    check_positive,
    check_range,
)
from pixlearn._core.errors import ValueRangeError
from pixlearn.restoration.guided import guided_filter

__all__ = ["dark_channel", "dehaze_dark_channel"]


def _check_patch(patch_size: int) -> int:
    k = check_int(patch_size, "patch_size", min_value=1)
    if k % 2 == 0:
        raise ValueRangeError(f"patch_size must be odd (a centred square), got {patch_size}")
    return k


def _min_filter(x: Tensor, k: int) -> Tensor:
    """Minimum over the ``k x k`` square around each pixel of ``(..., H, W)``, border ignored."""
    if k == 1 or x.numel() == 0:
        return x.clone()
    shape = x.shape
    y = -x.reshape(-1, 1, *shape[-2:])  # (B, 1, H, W): min f = -max(-f)
    # the square is separable: rows then columns (max_pool pads with -inf, i.e. ignores it)
    y = F.max_pool2d(y, (k, 1), stride=1, padding=(k // 2, 0))
    y = F.max_pool2d(y, (1, k), stride=1, padding=(0, k // 2))
    return (-y).reshape(shape)


def dark_channel(image: Tensor, patch_size: int = 15) -> Tensor:
    r"""The dark channel: the minimum over the colour channels and a square patch.

    Args:
        image: images, shape ``(..., C, H, W)``, float, finite.
        patch_size: the side of the square patch, odd, >= 1; near the border the patch is
            cut to the image.

    Returns:
        The dark channel, shape ``(..., H, W)``, dtype of ``image``.

    Shape:
        ``(..., C, H, W) -> (..., H, W)``.

    Raises:
        WrongTypeError: ``image`` not floating, ``patch_size`` not an int.
        ShapeError: ``image`` with fewer than 3 dims or empty.
        ValueRangeError: NaN/Inf in ``image``, an even or non-positive ``patch_size``.

    Notes:
        .. math::
            J^{\mathrm{dark}}(x) = \min_{y \in \Omega(x)} \min_{c} J^c(y).

    Example:
        >>> img = torch.ones(3, 5, 5)
        >>> img[1, 2, 2] = 0.2  # one dark green pixel darkens its whole neighbourhood
        >>> dark_channel(img, 3)[1:4, 1:4]
        tensor([[0.2000, 0.2000, 0.2000],
                [0.2000, 0.2000, 0.2000],
                [0.2000, 0.2000, 0.2000]])

    References:
        He, K., Sun, J., Tang, X. "Single image haze removal using dark channel prior." CVPR
        2009 (and IEEE TPAMI 33, 2011).
    """
    check_image(image, "image", min_dims=3, floating=True)
    k = _check_patch(patch_size)
    return _min_filter(image.amin(dim=-3), k)


def dehaze_dark_channel(
    image: Tensor,
    *,
    patch_size: int = 15,
    omega: float = 0.95,
    t0: float = 0.1,
    top_fraction: float = 0.001,
    refine: bool = True,
    guide: str = "auto",
    radius: int = 60,
    eps: float = 1e-3,
    clip: bool = True,
) -> tuple[Tensor, Tensor, Tensor]:
    r"""Remove haze from images with the dark channel prior (He, Sun and Tang).

    Args:
        image: hazy images, shape ``(..., C, H, W)`` (usually RGB), float, finite, in [0, 1].
        patch_size: the dark channel's patch, odd, >= 1.
        omega: the fraction of haze removed, in (0, 1]; keeping a little (0.95) keeps the
            depth cue of aerial perspective.
        t0: the lower bound on the transmission in the recovery, in (0, 1]; avoids amplifying
            noise where the haze is dense.
        top_fraction: the fraction of brightest dark-channel pixels among which the
            atmospheric light is chosen, in (0, 1] (at least one pixel).
        refine: refine the transmission with :func:`~pixlearn.restoration.guided_filter`,
            instead of the blocky patch-wise estimate.
        guide: the refinement's guide: ``"color"`` the RGB image itself (He et al.; needs
            ``C == 3``; keeps depth edges between colours of equal brightness),
            ``"gray"`` its channel mean (4 box filters instead of 13, any ``C``), or
            ``"auto"``: colour when ``C == 3``, grey otherwise.
        radius: the guided filter's radius, >= 0 (the paper uses about 4 patch sizes).
        eps: the guided filter's regularisation, > 0.
        clip: clip the recovered radiance to [0, 1].

    Returns:
        ``(dehazed, transmission, atmosphere)``: the scene radiance ``J`` (shape and dtype of
        ``image``), the transmission map ``t`` ``(..., H, W)`` and the atmospheric light ``A``
        ``(..., C)``.

    Shape:
        ``(..., C, H, W) -> (..., C, H, W), (..., H, W), (..., C)``.

    Raises:
        WrongTypeError: ``image`` not floating; an integer option that is not an int.
        ShapeError: ``image`` with fewer than 3 dims or empty.
        ValueRangeError: NaN/Inf in ``image``; an option outside its range; ``guide="color"``
            with ``C != 3``; an atmospheric light with a zero channel (a black image has no
            haze to estimate).

    Notes:
        From :math:`I = J t + A(1 - t)` and the prior :math:`J^{\mathrm{dark}} \approx 0`:

        .. math::
            \tilde t(x) = 1 - \omega \min_{y \in \Omega(x)} \min_c \frac{I^c(y)}{A^c}, \qquad
            J(x) = \frac{I(x) - A}{\max(t(x), t_0)} + A.

        :math:`A` is the colour of the brightest input pixel (largest channel mean) among the
        ``top_fraction`` pixels with the largest dark channel: the most haze-opaque region,
        which need not be the brightest object in the scene.

    Example:
        >>> j = torch.rand(3, 32, 32, generator=torch.Generator().manual_seed(0))
        >>> hazy = 0.5 * j + 0.5 * 0.9  # t = 0.5, A = 0.9 everywhere
        >>> out, t, a = dehaze_dark_channel(hazy, patch_size=5, radius=8)
        >>> out.shape, t.shape, a.shape
        (torch.Size([3, 32, 32]), torch.Size([32, 32]), torch.Size([3]))

    References:
        He, K., Sun, J., Tang, X. "Single image haze removal using dark channel prior." CVPR
        2009 (and IEEE TPAMI 33, 2011); He, K., Sun, J., Tang, X. "Guided image filtering."
        ECCV 2010.
    """
    check_image(image, "image", min_dims=3, floating=True)
    k = _check_patch(patch_size)
    w = check_range(omega, "omega", 0.0, 1.0, low_inclusive=False)
    lower = check_range(t0, "t0", 0.0, 1.0, low_inclusive=False)
    frac = check_range(top_fraction, "top_fraction", 0.0, 1.0, low_inclusive=False)
    r = check_int(radius, "radius", min_value=0)
    e = check_positive(eps, "eps")
    c, h, wd = image.shape[-3:]
    mode = check_choice(guide, "guide", ("auto", "color", "gray"))
    if mode == "color" and c != 3:
        raise ValueRangeError(f"guide='color' needs 3 channels in image, got {c}")
    colour = mode == "color" or (mode == "auto" and c == 3)
    lead = image.shape[:-3]
    x = image.reshape(-1, c, h * wd)  # (B, C, N)
    dark = dark_channel(image, k).reshape(-1, h * wd)  # (B, N)
    # A: among the top_fraction most haze-opaque pixels, the brightest one in the input
    n_top = max(1, math.ceil(frac * h * wd))
    top = dark.topk(n_top, dim=-1).indices  # (B, n_top)
    candidates = x.gather(-1, top[:, None, :].expand(-1, c, -1))  # (B, C, n_top)
    best = candidates.mean(dim=1).argmax(dim=-1)  # (B,)
    atmosphere = candidates.gather(-1, best[:, None, None].expand(-1, c, 1))[..., 0]  # (B, C)
    if bool((atmosphere <= 0).any()):
        raise ValueRangeError(
            "image must have haze: the estimated atmospheric light has a channel <= 0, got "
            f"{atmosphere.tolist()}"
        )
    a = atmosphere[:, :, None, None]  # (B, C, 1, 1)
    xi = image.reshape(-1, c, h, wd)  # (B, C, H, W)
    # t~ = 1 - omega * dark(I / A)
    t = 1 - w * dark_channel(xi / a, k)  # (B, H, W)
    if refine and colour:
        t = guided_filter(xi, t, r, e, color_guide=True)
    elif refine:
        t = guided_filter(xi.mean(dim=1), t, r, e)
    # J = (I - A) / max(t, t0) + A
    j = (xi - a) / t.clamp(min=lower)[:, None] + a
    if clip:
        j = j.clamp(0.0, 1.0)
    return j.reshape(image.shape), t.reshape(*lead, h, wd), atmosphere.reshape(*lead, c)
