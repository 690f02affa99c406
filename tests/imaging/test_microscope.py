import json
import math
from collections import Counter

import numpy as np
import pytest
import tifffile
import torch
import torch.nn.functional as F
from scipy import ndimage
from skimage import data as skdata

from pixlearn.data.synthetic import cells
from pixlearn.imaging import (
    MAX_NA,
    VirtualMicroscope,
    airy_psf,
    blur,
    mtf,
    simulate_dataset,
)


def _gen(seed: int = 0) -> torch.Generator:
    return torch.Generator().manual_seed(seed)


# a noise-free instrument: photons -> infinity (in practice 1e12), no read noise, 24 bits
IDEAL = {"photons": 1e12, "read_noise": 0.0, "bit_depth": 24}


def _reference_clean(scope: VirtualMicroscope, phantom: np.ndarray) -> np.ndarray:
    """scipy: convolve with the Airy PSF (mirror = reflect), then average f x f blocks."""
    psf = airy_psf(
        scope.psf_size,
        wavelength=scope.wavelength,
        na=scope.na,
        pixel_size=scope.pixel_size / scope.oversample,
        dtype=torch.float64,
    ).numpy()
    blurred = ndimage.convolve(phantom, psf, mode="mirror")
    f = scope.oversample
    h, w = blurred.shape[0] // f, blurred.shape[1] // f
    return blurred.reshape(h, f, w, f).mean(axis=(1, 3)) + scope.background


@pytest.fixture(scope="module")
def cell_batch():
    return cells(3, 96, n_cells=(3, 5), radius=(6.0, 10.0), generator=_gen(1), dtype=torch.float64)


def test_noise_free_image_equals_scipy_blur_and_pixel_integration(cell_batch):
    scope = VirtualMicroscope(oversample=3, psf_size=21, **IDEAL)
    phantom = cell_batch[0][0, 0]  # (96, 96)
    image, truth = scope.simulate(phantom, generator=_gen())
    ref = _reference_clean(scope, phantom.numpy())
    assert image.shape == (32, 32) and image.dtype == torch.float64
    np.testing.assert_allclose(truth.clean.numpy(), ref, atol=1e-12)
    # shot noise at 1e12 photons: std sqrt(x / N) < 1e-6; quantisation step 6e-8
    np.testing.assert_allclose(image.numpy(), ref, atol=1e-5)


def test_noise_free_image_on_a_real_image():
    camera = torch.from_numpy(skdata.camera()[128:384, 128:384].astype(np.float64) / 255.0)
    scope = VirtualMicroscope(oversample=4, psf_size=15, background=0.0, **IDEAL)
    image, truth = scope.simulate(camera, generator=_gen())
    ref = _reference_clean(scope, camera.numpy())
    assert image.shape == (64, 64)
    np.testing.assert_allclose(truth.clean.numpy(), ref, atol=1e-12)
    np.testing.assert_allclose(image.numpy(), ref, atol=1e-5)


def test_ground_truth_is_the_unblurred_phantom_integrated_over_pixels(cell_batch):
    phantoms, labels = cell_batch
    scope = VirtualMicroscope(oversample=2, psf_size=11)
    _, truth = scope.simulate(phantoms, labels, generator=_gen())
    expected = F.avg_pool2d(phantoms, 2)  # (3, 1, 48, 48)
    assert torch.allclose(truth.phantom, expected, atol=1e-12)
    assert truth.labels.shape == (3, 48, 48) and truth.labels.dtype == torch.int64


def _slow_majority(labels: np.ndarray, f: int) -> np.ndarray:
    h, w = labels.shape[0] // f, labels.shape[1] // f
    out = np.zeros((h, w), dtype=np.int64)
    for i in range(h):
        for j in range(w):
            votes = Counter(labels[i * f : (i + 1) * f, j * f : (j + 1) * f].ravel().tolist())
            best = max(votes.values())
            out[i, j] = min(v for v, c in votes.items() if c == best)  # ties: smallest
    return out


@pytest.mark.parametrize("f", [2, 3])
def test_labels_at_camera_resolution_are_the_block_majority(f):
    g = _gen(f)
    labels = torch.randint(0, 4, (2, 8 * f, 6 * f), generator=g)
    phantom = torch.rand(2, 8 * f, 6 * f, generator=g)
    scope = VirtualMicroscope(oversample=f, psf_size=3)
    _, truth = scope.simulate(phantom, labels, generator=g)
    for b in range(2):
        assert np.array_equal(truth.labels[b].numpy(), _slow_majority(labels[b].numpy(), f))


def test_mean_matches_the_phantom_mean_plus_background(cell_batch):
    phantoms, _ = cell_batch
    scope = VirtualMicroscope(oversample=2, photons=500.0, read_noise=3.0, background=0.05)
    image, truth = scope.simulate(phantoms, generator=_gen(3))
    # E[y] = mean(phantom) + b0 (the blur keeps the mean; reflect borders up to ~1e-3 here)
    expected = float(truth.phantom.mean()) + 0.05
    assert float(image.mean()) == pytest.approx(expected, abs=2e-3)
    assert float(truth.clean.mean()) == pytest.approx(expected, abs=1e-3)


@pytest.mark.parametrize(
    ("photons", "read_noise", "bits"), [(200.0, 0.0, 16), (1e6, 400.0, 16), (300.0, 6.0, 10)]
)
def test_noise_variance_matches_shot_plus_read_plus_quantisation_theory(photons, read_noise, bits):
    level, background = 0.3, 0.02
    scope = VirtualMicroscope(
        photons=photons, read_noise=read_noise, bit_depth=bits, background=background, psf_size=5
    )
    phantom = torch.full((4, 128, 128), level, dtype=torch.float64)
    image, _ = scope.simulate(phantom, generator=_gen(4))
    x = level + background
    steps = 2**bits - 1
    # Var[y] = x / N + (sigma_r / N)^2 + 1 / (12 L^2)
    theory = x / photons + (read_noise / photons) ** 2 + 1 / (12 * steps**2)
    assert float(image.var()) == pytest.approx(theory, rel=0.05)
    assert float(image.mean()) == pytest.approx(x, abs=5 * math.sqrt(theory / image.numel()))


def test_higher_na_gives_higher_mtf_and_a_sharper_image(cell_batch):
    phantoms, _ = cell_batch
    low = VirtualMicroscope(na=0.4, **IDEAL)
    high = VirtualMicroscope(na=1.2, **IDEAL)
    # MTF at half the low-NA cut-off, in cycles per phantom sample, on a 128 grid
    k = round(0.5 * low.cutoff_frequency * low.sample_spacing * 128)
    assert float(mtf(high.psf, 128)[0, k]) > float(mtf(low.psf, 128)[0, k]) + 0.2

    def psnr(scope):
        image, truth = scope.simulate(phantoms, generator=_gen())
        mse = float(((image - truth.phantom - scope.background) ** 2).mean())
        return 10 * math.log10(1 / mse)

    assert psnr(high) > psnr(low) + 3


def test_quantisation_gives_at_most_two_to_the_bits_levels():
    scope = VirtualMicroscope(bit_depth=3, photons=50.0, read_noise=1.0)
    image, _ = scope.simulate(torch.rand(2, 32, 32, generator=_gen()), generator=_gen())
    levels = image.unique()
    assert levels.numel() <= 8
    assert torch.allclose(levels * 7, (levels * 7).round(), atol=1e-6)


def test_saturation_clips_at_full_scale():
    scope = VirtualMicroscope(photons=1e4, psf_size=3)
    image, _ = scope.simulate(torch.full((16, 16), 2.0), generator=_gen())
    assert float(image.max()) == 1.0 and float(image.min()) == 1.0


def test_seeded_noise_is_reproducible_and_seeds_differ():
    scope = VirtualMicroscope(psf_size=5)
    phantom = torch.rand(2, 16, 16, generator=_gen())
    a, _ = scope.simulate(phantom, generator=_gen(5))
    b, _ = scope(phantom, generator=_gen(5))  # __call__ == simulate
    c, _ = scope.simulate(phantom, generator=_gen(6))
    assert torch.equal(a, b) and not torch.equal(a, c)


def test_batched_equals_per_item_for_the_deterministic_part(cell_batch):
    phantoms, labels = cell_batch
    scope = VirtualMicroscope(psf_size=9)
    _, truth = scope.simulate(phantoms, labels, generator=_gen())
    for b in range(3):
        _, one = scope.simulate(phantoms[b], labels[b], generator=_gen())
        assert torch.allclose(one.clean, truth.clean[b], atol=1e-12)
        assert torch.equal(one.labels, truth.labels[b])


def test_zero_size_batch_and_non_contiguous_input():
    scope = VirtualMicroscope(psf_size=5)
    image, truth = scope.simulate(torch.zeros(0, 1, 16, 16), torch.zeros(0, 16, 16).long())
    assert image.shape == (0, 1, 8, 8) and truth.labels.shape == (0, 8, 8)
    x = torch.rand(24, 16, dtype=torch.float64, generator=_gen())
    _, t1 = scope.simulate(x.t(), generator=_gen())
    _, t2 = scope.simulate(x.t().contiguous(), generator=_gen())
    assert torch.allclose(t1.clean, t2.clean, atol=1e-12)


def test_input_is_not_modified():
    scope = VirtualMicroscope(psf_size=5)
    x = torch.rand(16, 16, generator=_gen())
    copy = x.clone()
    scope.simulate(x, generator=_gen())
    assert torch.equal(x, copy)


def test_gradcheck_of_the_noise_free_path():
    scope = VirtualMicroscope(psf_size=5, oversample=2)
    x = torch.rand(1, 8, 8, dtype=torch.float64, requires_grad=True)
    assert torch.autograd.gradcheck(lambda t: scope.simulate(t)[1].clean, (x,))


def test_psf_is_the_airy_pattern_on_the_phantom_grid():
    scope = VirtualMicroscope(na=1.0, wavelength=0.5, pixel_size=0.2, oversample=4)
    psf = scope.psf
    expected = airy_psf(psf.shape[-1], wavelength=0.5, na=1.0, pixel_size=0.05)
    assert torch.allclose(psf.float(), expected, atol=1e-7)
    # default size: eight Airy zeros, 8 * 0.61 * 0.5 / 1.0 / 0.05 = 48.8 -> 2 * 49 + 1
    assert psf.shape == (99, 99)
    assert scope.cutoff_frequency == pytest.approx(4.0)
    assert scope.nyquist_pixel_size == pytest.approx(0.125)
    assert VirtualMicroscope(na=MAX_NA).na == 1.5


def test_blur_stage_is_pixlearn_blur_with_the_boundary():
    scope = VirtualMicroscope(
        oversample=1, psf_size=7, boundary="circular", background=0.0, **IDEAL
    )
    x = torch.rand(20, 20, dtype=torch.float64, generator=_gen())
    _, truth = scope.simulate(x)
    assert torch.allclose(truth.clean, blur(x, scope.psf, boundary="circular"), atol=1e-12)


@pytest.mark.parametrize(
    ("kwargs", "name"),
    [
        ({"na": 0.0}, "na"),
        ({"na": 1.6}, "na"),  # beyond oil immersion
        ({"wavelength": 0.0}, "wavelength"),
        ({"wavelength": float("nan")}, "wavelength"),
        ({"pixel_size": -0.1}, "pixel_size"),
        ({"photons": 0.0}, "photons"),
        ({"read_noise": -1.0}, "read_noise"),
        ({"bit_depth": 0}, "bit_depth"),
        ({"bit_depth": 25}, "bit_depth"),
        ({"oversample": 0}, "oversample"),
        ({"background": 1.0}, "background"),
        ({"boundary": "wrap"}, "boundary"),
        ({"psf_size": 10}, "psf_size"),
    ],
)
def test_bad_parameters_name_themselves(kwargs, name):
    with pytest.raises(ValueError, match=name):
        VirtualMicroscope(**kwargs)


def test_bad_inputs_name_themselves():
    scope = VirtualMicroscope(oversample=2, psf_size=3)
    with pytest.raises(ValueError, match="phantom"):
        scope.simulate(torch.rand(15, 16))  # not a multiple of oversample
    with pytest.raises(ValueError, match="phantom"):
        scope.simulate(-torch.rand(16, 16))
    with pytest.raises(ValueError, match="phantom"):
        scope.simulate(torch.full((16, 16), float("nan")))
    with pytest.raises(TypeError, match="phantom"):
        scope.simulate(torch.ones(16, 16, dtype=torch.uint8))
    with pytest.raises(TypeError, match="labels"):
        scope.simulate(torch.rand(16, 16), torch.rand(16, 16))
    with pytest.raises(ValueError, match="labels"):
        scope.simulate(torch.rand(16, 16), torch.zeros(8, 8, dtype=torch.long))
    with pytest.raises(TypeError, match="bit_depth"):
        VirtualMicroscope(bit_depth=8.0)


def test_dataset_writer_writes_readable_tiffs(tmp_path):
    scope = VirtualMicroscope(psf_size=9)
    out = simulate_dataset(3, tmp_path / "ds", size=48, microscope=scope, seed=1)
    assert out == tmp_path / "ds"
    for i in range(3):
        image = tifffile.imread(out / "images" / f"{i:04d}.tif")
        mask = tifffile.imread(out / "masks" / f"{i:04d}.tif")
        assert image.shape == (48, 48) and image.dtype == np.uint16
        assert mask.shape == (48, 48) and mask.dtype == np.uint16
        assert int(image.max()) <= 2**12 - 1
        ids = np.unique(mask)
        assert ids[0] == 0 and ids.size > 1 and np.array_equal(ids, np.arange(ids.size))
        # cells are brighter than the background in the image
        assert image[mask > 0].mean() > image[mask == 0].mean() + 50
    meta = json.loads((out / "meta.json").read_text())
    assert meta["n"] == 3 and meta["size"] == 48 and meta["seed"] == 1
    assert meta["microscope"]["na"] == scope.na and meta["microscope"]["bit_depth"] == 12


def test_dataset_is_reproducible_and_8_bit_cameras_write_uint8(tmp_path):
    scope = VirtualMicroscope(bit_depth=8, psf_size=5)
    a = simulate_dataset(2, tmp_path / "a", size=32, microscope=scope, seed=3)
    b = simulate_dataset(2, tmp_path / "b", size=32, microscope=scope, seed=3)
    c = simulate_dataset(2, tmp_path / "c", size=32, microscope=scope, seed=4)
    for sub in ("images", "masks"):
        for i in range(2):
            name = f"{sub}/{i:04d}.tif"
            assert (a / name).read_bytes() == (b / name).read_bytes()
            assert (a / name).read_bytes() != (c / name).read_bytes()
    assert tifffile.imread(a / "images" / "0000.tif").dtype == np.uint8


def test_dataset_writer_refuses_bad_arguments(tmp_path):
    with pytest.raises(ValueError, match="bit_depth"):
        simulate_dataset(1, tmp_path, microscope=VirtualMicroscope(bit_depth=20))
    with pytest.raises(TypeError, match="microscope"):
        simulate_dataset(1, tmp_path, microscope="scope")
    with pytest.raises(ValueError, match="n "):
        simulate_dataset(-1, tmp_path)
