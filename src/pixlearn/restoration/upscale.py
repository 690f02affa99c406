r"""The super-resolution baseline: upscale by interpolation.

Interpolation invents no detail: it only spreads the samples it has, so every learned
super-resolution model must beat it. Nearest repeats pixels (blocky), bilinear joins them by
planes (blurry), bicubic by cubics that keep the slope continuous (sharper, with a slight
overshoot at edges). All three are separable kernels applied by
:func:`pixlearn.transform.resize` with pixel centres aligned.
"""

from __future__ import annotations

import math

from torch import Tensor

from pixlearn._core.check import check_choice, check_image, check_range
from pixlearn.transform.resize import resize

__all__ = ["UPSCALE_METHODS", "upscale"]

#: The interpolation methods of :func:`upscale`, and the kernel each uses in ``resize``.
UPSCALE_METHODS: dict[str, str] = {"nearest": "nearest", "bilinear": "linear", "bicubic": "cubic"}


def upscale(image: Tensor, factor: float, *, method: str = "bicubic") -> Tensor:
    r"""Upscale images by ``factor`` with nearest, bilinear or bicubic interpolation.

    Args:
        image: images, shape ``(..., H, W)``, float, finite, non-empty.
        factor: the magnification, >= 1 (not necessarily an integer); the output is
            ``round(H * factor) x round(W * factor)``.
        method: ``"nearest"``, ``"bilinear"`` or ``"bicubic"`` (Keys, a = -0.5).

    Returns:
        The upscaled images, shape ``(..., round(H factor), round(W factor))``, dtype of
        ``image``; differentiable with respect to ``image``. ``factor = 1`` returns a copy.

    Shape:
        ``(..., H, W) -> (..., round(H factor), round(W factor))``.

    Raises:
        WrongTypeError: ``image`` not floating.
        ShapeError: an empty image.
        ValueRangeError: NaN/Inf, ``factor < 1`` (use :func:`pixlearn.transform.resize` to
            shrink), an unknown ``method``.

    Notes:
        Output pixel :math:`i` samples the input at :math:`c_i = (i + 1/2)/s - 1/2`, with
        :math:`s` the exact size ratio; beyond the border the edge sample is repeated. With
        kernel :math:`k` (box, triangle or Keys' cubic with :math:`a = -1/2`):

        .. math::
            g_i = \sum_j f_j\, k(j - c_i).

        Conventions: ``"nearest"`` equals ``cv2.INTER_NEAREST_EXACT`` (and ``INTER_NEAREST``
        for integer factors), ``"bilinear"`` equals ``cv2.INTER_LINEAR``. ``"bicubic"`` uses
        :math:`a = -0.5` (PIL, MATLAB), third-order accurate; ``cv2.INTER_CUBIC`` and
        PyTorch use :math:`a = -0.75`, a sharper kernel, and differ by a few grey levels at
        edges.

    Example:
        >>> img = torch.tensor([[0.0, 1.0]])
        >>> upscale(img, 2, method="nearest")[0]  # (1, 2) -> (2, 4), first row
        tensor([0., 0., 1., 1.])
        >>> upscale(img, 2, method="bilinear")[0]
        tensor([0.0000, 0.2500, 0.7500, 1.0000])

    References:
        Keys, R. "Cubic convolution interpolation for digital image processing." IEEE TASSP
        1981; Dong, C. et al. "Image super-resolution using deep convolutional networks."
        IEEE TPAMI 2016 (bicubic as the baseline).
    """
    check_image(image, "image", floating=True)
    s = check_range(factor, "factor", 1.0)
    check_choice(method, "method", UPSCALE_METHODS)
    h, w = image.shape[-2:]
    # round half up, as cv2.resize does for its dsize
    size = (math.floor(h * s + 0.5), math.floor(w * s + 0.5))
    return resize(image, size, interpolation=UPSCALE_METHODS[method], antialias=False)
