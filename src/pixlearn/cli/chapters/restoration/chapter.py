"""The chapter object of "Restoration"; its steps live in the sibling modules."""

from __future__ import annotations

from pixlearn.cli.chapters.base import Chapter

__all__ = ["RESTORATION"]

RESTORATION = Chapter(
    "Restoration",
    "Undoing a known degradation, the analytical way: the forward model (PSF and noise) is "
    "explicit and inverted by the inverse filter, the Wiener filter and Richardson-Lucy (EM); "
    "damaged pixels are filled by biharmonic inpainting; haze is removed with the dark "
    "channel prior; and interpolation gives the super-resolution baseline that learned models "
    "must beat.",
)
