"""The syllabus' extrema example as a worked pipeline: counting the 24 coins of ``coins``."""

import pytest
import torch
from torch import Tensor

from pixlearn.data import sample
from pixlearn.filters import gaussian_blur2d, sobel
from pixlearn.morphology import disk, h_maxima, watershed, white_tophat
from pixlearn.segmentation import label, threshold_otsu


def segment_coins(image: Tensor) -> tuple[Tensor, Tensor]:
    """Label each coin of a ``(H, W)`` grey image of coins on an uneven background.

    1. Background correction: the white top-hat with a disk larger than any coin (the image
       minus its opening) removes the slowly varying background and keeps the coins.
    2. Smoothing with a Gaussian (sigma 3) so each coin becomes one dome.
    3. Markers: the h-maxima (h = 0.08) of the smoothed image inside the foreground, one
       peak per coin, labelled 1..n.
    4. Foreground: Otsu's threshold of the smoothed image.
    5. Watershed of the Sobel gradient magnitude from the markers, restricted to the
       foreground: each coin grows from its own peak up to its rim.

    Returns:
        ``(labels, markers)``: int64 ``(H, W)`` coin labels (0 = background) and the
        labelled markers they grew from.
    """
    corrected = white_tophat(image, disk(30))  # (H, W), background ~ 0
    smooth = gaussian_blur2d(corrected, 3.0)
    foreground = smooth > threshold_otsu(smooth)
    peaks = h_maxima(smooth, 0.08) & foreground
    markers = label(peaks, connectivity=2)
    relief = sobel(smooth)  # the rims of the coins are the crests
    return watershed(relief, markers, foreground), markers


@pytest.fixture(scope="module")
def image():
    return sample("coins", dtype=torch.float64)[0]  # (303, 384)


def test_the_24_coins_are_each_one_region(image):
    labels, markers = segment_coins(image)
    ids = labels.unique()
    ids = ids[ids > 0]
    assert ids.numel() == 24
    areas = torch.bincount(labels.flatten())[1:]
    # coins are 28-60 pixels across: every region has a plausible coin area
    assert bool((areas > 600).all()) and bool((areas < 3500).all())
    for i in ids.tolist():
        region = labels == i
        # each region holds exactly one marker and is one connected piece
        assert markers[region].unique().ne(0).sum() == 1
        assert int(label(region, connectivity=2).max()) == 1
    # each coin (a connected component of the segmentation) is exactly one region
    components = label(labels > 0, connectivity=2)
    assert int(components.max()) == 24
    for c in range(1, 25):
        assert labels[components == c].unique().numel() == 1


def test_without_background_correction_the_count_is_off(image):
    # the background gradient defeats a global threshold: the top-hat step is needed
    smooth = gaussian_blur2d(image, 3.0)
    foreground = smooth > threshold_otsu(smooth)
    assert int(label(foreground, connectivity=2).max()) != 24
