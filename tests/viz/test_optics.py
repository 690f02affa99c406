import math

import numpy as np
import pytest
import torch
from matplotlib.figure import Figure

from pixlearn.data.synthetic import cells
from pixlearn.imaging import VirtualMicroscope, downsample, gaussian_psf, mtf, radial_profile
from pixlearn.viz import plot_aliasing, plot_microscope, plot_psf_otf, zone_plate

PNG_MAGIC = b"\x89PNG\r\n\x1a\n"


def _saves_png(fig: Figure, path) -> None:
    fig.savefig(path, dpi=50)
    data = path.read_bytes()
    assert data[:8] == PNG_MAGIC and len(data) > 5000


def test_psf_otf_panel_has_five_axes_and_saves(tmp_path):
    scope = VirtualMicroscope(psf_size=41)
    fig = plot_psf_otf(
        scope.psf, pixel_size=scope.sample_spacing, cutoff=scope.cutoff_frequency, unit="µm"
    )
    assert isinstance(fig, Figure) and len(fig.axes) == 5  # 3 panels + 2 colour bars
    ax_psf, ax_otf, ax_mtf = fig.axes[:3]  # the colour bars come after the panels
    assert ax_psf.get_title() and ax_otf.get_title() and ax_mtf.get_title()
    assert "cycles/µm" in ax_mtf.get_xlabel() and "cycles/µm" in ax_otf.get_xlabel()
    _saves_png(fig, tmp_path / "psf.png")


def test_radial_mtf_curve_is_the_radial_profile_and_the_cutoff_is_marked():
    psf = gaussian_psf(15, 2.0)
    fig = plot_psf_otf(psf, shape=64, pixel_size=0.5, cutoff=0.4)
    ax = fig.axes[2]
    freqs, values = ax.lines[0].get_data()
    expected = radial_profile(torch.fft.fftshift(mtf(psf, (64, 64))))[:33]
    np.testing.assert_allclose(values, expected.numpy(), atol=1e-6)
    np.testing.assert_allclose(freqs, np.arange(33) / (64 * 0.5))  # k / (n dx), cycles/unit
    assert values[0] == pytest.approx(1.0, abs=1e-6)
    vertical = [ln.get_xdata()[0] for ln in ax.lines if len(set(ln.get_xdata())) == 1]
    assert 0.4 in vertical and 1.0 in vertical  # cut-off and Nyquist 1 / (2 * 0.5)
    # the diffraction limit 2/pi (acos s - s sqrt(1 - s^2)) is 0 from the cut-off on
    ideal = ax.lines[1].get_ydata()
    assert ideal[0] == pytest.approx(1.0) and np.all(ideal[freqs >= 0.4] < 1e-12)


def test_aliasing_panel_shows_moire_without_and_grey_with_antialiasing(tmp_path):
    fig = plot_aliasing(size=128, factor=4)
    assert len(fig.axes) == 7  # 3 images, 3 spectra, 1 colour bar
    original, naive, smooth = (ax.images[0].get_array() for ax in fig.axes[:3])
    z = zone_plate(128, max_frequency=0.45)
    np.testing.assert_array_equal(original, z.numpy())
    np.testing.assert_array_equal(naive, downsample(z, 4, antialias=False).numpy())
    # outside radius 32 the zone plate is above the new Nyquist 1/8: moire vs flat grey
    c = np.arange(32) - 16
    outer = np.hypot(c[:, None], c[None, :]) > 12
    assert naive[outer].std() > 0.3
    assert smooth[outer].std() < 0.05
    assert "cycles" in fig.axes[3].get_xlabel()
    _saves_png(fig, tmp_path / "alias.png")


def test_aliasing_panel_takes_an_image():
    img = torch.rand(40, 48)
    fig = plot_aliasing(img, factor=2)
    assert fig.axes[1].images[0].get_array().shape == (20, 24)


def test_microscope_panel(tmp_path):
    phantoms, labels = cells(1, 64, n_cells=3, radius=6.0, generator=torch.Generator())
    scope = VirtualMicroscope(psf_size=9)
    image, truth = scope.simulate(phantoms[0, 0], labels[0])
    fig = plot_microscope(phantoms[0], image, truth.labels, pixel_size=scope.pixel_size)
    assert len(fig.axes) == 5
    assert "3 cells" in fig.axes[2].get_title()
    assert "µm" in fig.axes[0].get_xlabel()
    _saves_png(fig, tmp_path / "scope.png")
    assert len(plot_microscope(phantoms[0, 0], image).axes) == 4


def test_zone_plate_closed_form():
    z = zone_plate(64, max_frequency=0.25)
    # z(r) = (1 + cos(pi k r^2)) / 2, k = 2 * 0.25 / 64, at pixel (32 + 3, 32 + 4): r = 5
    expected = 0.5 + 0.5 * math.cos(math.pi * (0.5 / 64) * 25)
    assert float(z[35, 36]) == pytest.approx(expected, abs=1e-6)
    assert float(z.min()) >= 0 and float(z.max()) <= 1


def test_bad_arguments_name_themselves():
    with pytest.raises(ValueError, match="psf"):
        plot_psf_otf(torch.rand(2, 5, 5))
    with pytest.raises(ValueError, match="pixel_size"):
        plot_psf_otf(torch.rand(5, 5), pixel_size=0.0)
    with pytest.raises(ValueError, match="cutoff"):
        plot_psf_otf(torch.rand(5, 5), cutoff=-1.0)
    with pytest.raises(ValueError, match="factor"):
        plot_aliasing(factor=1)
    with pytest.raises(ValueError, match="image"):
        plot_aliasing(torch.rand(6, 6), factor=4)  # smaller than two coarse pixels
    with pytest.raises(ValueError, match="labels"):
        plot_microscope(torch.rand(32, 32), torch.rand(16, 16), torch.zeros(8, 8).long())
    with pytest.raises(ValueError, match="max_frequency"):
        zone_plate(16, max_frequency=0.0)
