"""Image restoration: undo a known degradation (blur, noise) to recover the original image.

The syllabus chapter "Image restoration", analytical methods: the forward model is explicit
(the PSF and the noise of :mod:`pixlearn.imaging`) and inverted by the inverse filter, Wiener-Hunt
deconvolution (with a given balance, or with noise and prior estimated by Gibbs sampling) and
Richardson-Lucy, the EM / maximum-likelihood algorithm for Poisson noise. Denoising (total
variation, non-local means, bilateral), biharmonic inpainting, dark-channel dehazing with the
guided filter, and the interpolation baseline of super-resolution complete it.
"""

from __future__ import annotations

from pixlearn.restoration.bilateral import denoise_bilateral
from pixlearn.restoration.dehaze import dark_channel, dehaze_dark_channel
from pixlearn.restoration.guided import guided_filter
from pixlearn.restoration.inpaint import inpaint_biharmonic
from pixlearn.restoration.inverse import inverse_filter
from pixlearn.restoration.nl_means import denoise_nl_means
from pixlearn.restoration.richardson_lucy import RL_BOUNDARIES, richardson_lucy
from pixlearn.restoration.tv import denoise_tv
from pixlearn.restoration.upscale import UPSCALE_METHODS, upscale
from pixlearn.restoration.wiener import unsupervised_wiener, wiener

__all__ = [
    "RL_BOUNDARIES",
    "UPSCALE_METHODS",
    "dark_channel",
    "dehaze_dark_channel",
    "denoise_bilateral",
    "denoise_nl_means",
    "denoise_tv",
    "guided_filter",
    "inpaint_biharmonic",
    "inverse_filter",
    "richardson_lucy",
    "unsupervised_wiener",
    "upscale",
    "wiener",
]
