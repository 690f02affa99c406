"""Degradations: Gaussian and Poisson noise, Gaussian blur and cutout.

Like the photometric transforms they change the image only (boxes, masks and keypoints pass
through), draw their parameters per batch item, and clip the result to ``[0, 1]``. Noise is drawn
on the generator's device (the CPU for ``None``) and moved to the image's.
"""

from __future__ import annotations

import math

import torch
import torch.nn.functional as F
from torch import Tensor

from pixlearn._core.check import check_int, check_interval, check_range
from pixlearn.augment.base import Batch, Transform, select, uniform
from pixlearn.imaging.noise import gaussian_noise, poisson_noise

__all__ = ["Blur", "Cutout", "GaussianNoise", "PoissonNoise", "gaussian_smooth"]


def _gen_device(generator: torch.Generator | None) -> torch.device:
    return generator.device if generator is not None else torch.device("cpu")


def gaussian_smooth(x: Tensor, sigma: Tensor) -> Tensor:
    r"""Separable Gaussian blur of ``x (B, C, H, W)`` with one ``sigma (B,)`` per item.

    The kernel :math:`g(t) \propto e^{-t^2 / 2\sigma^2}` is sampled on
    :math:`|t| \le \lceil 3\sigma_{max}\rceil`, normalised per item; the border is reflected
    (replicated where the image is too small to reflect).

    Example:
        >>> out = gaussian_smooth(torch.ones(2, 1, 5, 5), torch.tensor([0.5, 2.0]))
        >>> bool(torch.allclose(out, torch.ones(2, 1, 5, 5)))
        True
    """
    b, c, h, w = x.shape
    radius = max(1, math.ceil(3.0 * float(sigma.max())))
    t = torch.arange(-radius, radius + 1, dtype=x.dtype, device=x.device)  # (k,)
    s = sigma.to(x).clamp(min=1e-6).view(b, 1)
    # g(t) = exp(-t^2 / (2 sigma^2)) / sum
    k = torch.exp(-0.5 * (t / s) ** 2)  # (B, k)
    k = (k / k.sum(dim=1, keepdim=True)).repeat_interleave(c, dim=0)  # (B C, k)
    flat = x.reshape(1, b * c, h, w)
    mode = "reflect" if radius < min(h, w) else "replicate"
    flat = F.pad(flat, (radius, radius, radius, radius), mode=mode)
    flat = F.conv2d(flat, k.view(b * c, 1, 1, -1), groups=b * c)  # along x
    flat = F.conv2d(flat, k.view(b * c, 1, -1, 1), groups=b * c)  # along y
    return flat.view(b, c, h, w)


class GaussianNoise(Transform):
    r"""Add white Gaussian noise of standard deviation :math:`\sigma \sim U[sigma]`, clipped.

    Args:
        sigma: ``(lo, hi)`` with ``lo >= 0``, or ``s`` for ``(s, s)``.
        p: probability per item.

    Notes:
        :math:`y = \mathrm{clip}(x + \sigma n, 0, 1)`, :math:`n \sim \mathcal{N}(0, 1)` per value
        (:func:`pixlearn.imaging.gaussian_noise` with unit sigma).

    Example:
        >>> g = torch.Generator().manual_seed(0)
        >>> out = GaussianNoise(0.1)({"image": torch.full((1, 64, 64), 0.5)}, generator=g)
        >>> round(float(out["image"].std()), 1)
        0.1
    """

    def __init__(self, sigma: float | tuple[float, float] = (0.0, 0.05), *, p: float = 1.0):
        super().__init__(p=p)
        self.sigma = check_interval(sigma, "sigma", 0.0)

    def _run(self, batch: Batch, generator: torch.Generator | None, apply: Tensor) -> Batch:
        image = batch.image
        s = uniform(*self.sigma, batch.size, generator, image.device).to(image.dtype)
        unit = torch.zeros(image.shape, dtype=image.dtype, device=_gen_device(generator))
        n = gaussian_noise(unit, 1.0, generator=generator).to(image.device)  # (B, C, H, W)
        if not bool(apply.any()):
            return batch
        # y = x + sigma n
        out = (image + s.view(-1, 1, 1, 1) * n).clamp(0.0, 1.0)
        return batch.with_(image=select(apply, out, image))


class PoissonNoise(Transform):
    r"""Photon shot noise with :math:`N \sim U[photons]` expected photons at intensity 1.

    Args:
        photons: ``(lo, hi)`` with ``lo > 0``, or ``n`` for ``(n, n)``; fewer, noisier.
        p: probability per item.

    Notes:
        :math:`y = \mathrm{clip}(k / N, 0, 1)`, :math:`k \sim \mathrm{Poisson}(N x)`
        (:func:`pixlearn.imaging.poisson_noise`); the input is clipped to ``[0, 1]`` first.

    Example:
        >>> g = torch.Generator().manual_seed(0)
        >>> out = PoissonNoise(100.0)({"image": torch.full((1, 64, 64), 0.5)}, generator=g)
        >>> round(float(out["image"].mean()), 1)
        0.5
    """

    def __init__(self, photons: float | tuple[float, float] = (30.0, 300.0), *, p: float = 1.0):
        super().__init__(p=p)
        self.photons = check_interval(photons, "photons", 0.0, low_inclusive=False)

    def _run(self, batch: Batch, generator: torch.Generator | None, apply: Tensor) -> Batch:
        image = batch.image
        gdev = _gen_device(generator)
        n = uniform(*self.photons, batch.size, generator, gdev).to(image.dtype).view(-1, 1, 1, 1)
        rate = image.detach().clamp(0.0, 1.0).to(gdev) * n  # (B, C, H, W), N x
        # k ~ Poisson(N x) (photons=1 counts the rate itself), y = k / N
        k = poisson_noise(rate, 1.0, generator=generator)
        if not bool(apply.any()):
            return batch
        out = (k / n).to(image.device).clamp(0.0, 1.0)
        return batch.with_(image=select(apply, out, image))


class Blur(Transform):
    r"""Gaussian blur with :math:`\sigma \sim U[sigma]` pixels per item (reflected border).

    Args:
        sigma: ``(lo, hi)`` with ``lo > 0``, or ``s`` for ``(s, s)``.
        p: probability per item.

    Notes:
        :math:`y = x * g_\sigma`, :math:`g_\sigma(t) \propto e^{-t^2 / 2\sigma^2}` separable,
        truncated at :math:`3\sigma` (see :func:`gaussian_smooth`). A weighted mean of values in
        ``[0, 1]`` stays there.

    Example:
        >>> img = torch.zeros(1, 9, 9)
        >>> img[0, 4, 4] = 1.0
        >>> out = Blur((1.0, 1.0))({"image": img})["image"]
        >>> round(float(out.sum()), 4), bool(out[0, 4, 4] < 1)
        (1.0, True)
    """

    def __init__(self, sigma: float | tuple[float, float] = (0.1, 2.0), *, p: float = 1.0):
        super().__init__(p=p)
        self.sigma = check_interval(sigma, "sigma", 0.0, low_inclusive=False)

    def _run(self, batch: Batch, generator: torch.Generator | None, apply: Tensor) -> Batch:
        image = batch.image
        s = uniform(*self.sigma, batch.size, generator, image.device)  # (B,)
        if not bool(apply.any()):
            return batch
        out = gaussian_smooth(image, s).clamp(0.0, 1.0)
        return batch.with_(image=select(apply, out, image))


class Cutout(Transform):
    """Fill ``holes`` random rectangles with ``fill`` (the targets are left as they are).

    Args:
        holes: number of rectangles per item, >= 1 (they may overlap).
        size: ``(lo, hi)`` side of a rectangle as a fraction of the image side, in ``(0, 1]``;
            height and width are drawn independently.
        fill: the value written, in ``[0, 1]``.
        p: probability per item.

    Each rectangle's centre is uniform over the image; the part inside the image is filled
    (the pixels whose centres lie inside it), and the rest of a transformed item is clipped to
    ``[0, 1]`` like every photometric transform.

    Example:
        >>> g = torch.Generator().manual_seed(0)
        >>> out = Cutout(size=(0.5, 0.5))({"image": torch.ones(1, 8, 8)}, generator=g)
        >>> 0 < int((out["image"] == 0).sum()) <= 16
        True

    References:
        DeVries, T., Taylor, G. W. "Improved regularization of convolutional neural networks
        with cutout." arXiv:1708.04552 (2017).
    """

    def __init__(
        self,
        holes: int = 1,
        *,
        size: tuple[float, float] = (0.1, 0.3),
        fill: float = 0.0,
        p: float = 1.0,
    ) -> None:
        super().__init__(p=p)
        self.holes = check_int(holes, "holes", min_value=1)
        self.size = check_interval(size, "size", 0.0, 1.0, low_inclusive=False)
        self.fill = check_range(fill, "fill", 0.0, 1.0)

    def _run(self, batch: Batch, generator: torch.Generator | None, apply: Tensor) -> Batch:
        image = batch.image  # (B, C, H, W)
        b, n, dev = batch.size, self.holes, image.device
        h, w = image.shape[-2:]
        cy, cx = (uniform(0.0, float(s), b * n, generator, dev).view(b, n, 1) for s in (h, w))
        hh = uniform(*self.size, b * n, generator, dev).view(b, n, 1) * h
        ww = uniform(*self.size, b * n, generator, dev).view(b, n, 1) * w
        if not bool(apply.any()):
            return batch
        ys = torch.arange(h, dtype=torch.float64, device=dev) + 0.5  # (H,) pixel centres
        xs = torch.arange(w, dtype=torch.float64, device=dev) + 0.5  # (W,)
        in_y = (ys - cy).abs() <= hh / 2  # (B, n, H)
        in_x = (xs - cx).abs() <= ww / 2  # (B, n, W)
        hole = (in_y.unsqueeze(-1) & in_x.unsqueeze(-2)).any(dim=1)  # (B, H, W)
        hole &= apply.view(-1, 1, 1)
        out = image.clamp(0.0, 1.0).masked_fill(hole.unsqueeze(1), self.fill)
        return batch.with_(image=select(apply, out, image))
