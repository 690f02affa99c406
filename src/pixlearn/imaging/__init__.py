"""Image formation: point-spread functions, OTF, LSI blur, sampling, noise, cameras, microscopes.

The syllabus chapter "Images": a scene is blurred by the optics (convolution with the PSF, i.e.
multiplication by the OTF), sampled on the pixel grid, quantised and corrupted by noise.
"""

from __future__ import annotations
