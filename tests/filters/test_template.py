import numpy as np
import pytest
import scipy.ndimage as ndi
import skimage.data
import skimage.feature
import torch

from pixlearn.filters import fft_convolve, match_template, peak_local_max


@pytest.fixture(scope="module")
def camera():
    return skimage.data.camera()[::2, ::2].astype(np.float64) / 255.0  # (256, 256)


@pytest.mark.parametrize("pad_input", [False, True])
@pytest.mark.parametrize("tshape", [(21, 17), (16, 16)])
def test_match_template_matches_scikit_image_on_camera(camera, pad_input, tshape):
    tpl = camera[100 : 100 + tshape[0], 120 : 120 + tshape[1]]
    ref = skimage.feature.match_template(camera, tpl, pad_input=pad_input)
    out = match_template(torch.from_numpy(camera), torch.from_numpy(tpl), pad_input=pad_input)
    assert out.shape == ref.shape and out.dtype == torch.float64
    np.testing.assert_allclose(out.numpy(), ref, atol=1e-8)
    # float32: within 1e-4 of the float64 reference (scikit-image's own float32 drifts more)
    out32 = match_template(
        torch.from_numpy(camera).float(), torch.from_numpy(tpl).float(), pad_input=pad_input
    )
    assert out32.dtype == torch.float32
    np.testing.assert_allclose(out32.numpy(), ref, atol=1e-4)
    if not pad_input:
        assert tuple(np.unravel_index(out.argmax(), out.shape)) == (100, 120)


@pytest.mark.parametrize("pad_input", [False, True])
def test_match_template_matches_scikit_image_on_random_images(pad_input):
    rng = np.random.default_rng(5)
    for ishape, tshape in [((30, 41), (5, 8)), ((12, 9), (12, 9)), ((17, 23), (1, 4))]:
        img, tpl = rng.random(ishape), rng.random(tshape)
        ref = skimage.feature.match_template(img, tpl, pad_input=pad_input)
        out = match_template(torch.from_numpy(img), torch.from_numpy(tpl), pad_input=pad_input)
        np.testing.assert_allclose(out.numpy(), ref, atol=1e-8)


def test_flat_windows_and_flat_templates_give_zero():
    img = torch.zeros(10, 10, dtype=torch.float64)
    img[6:, 6:] = torch.rand(4, 4, dtype=torch.float64)
    tpl = torch.rand(3, 3, dtype=torch.float64)
    ref = skimage.feature.match_template(img.numpy(), tpl.numpy())
    out = match_template(img, tpl)
    np.testing.assert_allclose(out.numpy(), ref, atol=1e-6)  # near-flat windows: rounding
    assert (out[:3, :3] == 0).all()
    assert (match_template(img, torch.ones(3, 3, dtype=torch.float64)) == 0).all()


def test_normalised_matching_is_robust_to_brightness_and_contrast_the_plain_one_is_not():
    gen = torch.Generator().manual_seed(3)
    img = torch.rand(64, 96, generator=gen, dtype=torch.float64) * 0.5
    tpl = img[20:36, 10:26].clone()  # the true match is at (20, 10)
    ramp = torch.linspace(0.0, 4.0, 96, dtype=torch.float64).expand(64, 96)
    changed = 0.6 * img + ramp  # lower contrast, brightness growing to the right

    def plain(f, t):  # sum f(x + u) t(x): correlation as a convolution with the flipped t
        return fft_convolve(f, t.flip(-2, -1), mode="valid")

    def where(r):
        i = int(r.argmax())
        return divmod(i, r.shape[-1])

    assert where(plain(img, tpl)) == (20, 10)
    assert where(plain(changed, tpl)) != (20, 10)  # the bright side wins
    assert where(match_template(img, tpl)) == (20, 10)
    assert where(match_template(changed, tpl)) == (20, 10)
    # a global gain and offset leave the coefficients unchanged
    assert torch.allclose(match_template(2.5 * img - 7.0, tpl), match_template(img, tpl))


def test_batched_equals_per_item_and_templates_broadcast():
    img = torch.rand(3, 2, 20, 22, dtype=torch.float64)
    tpl = torch.rand(2, 5, 4, dtype=torch.float64)  # one template per channel
    out = match_template(img, tpl, pad_input=True)
    assert out.shape == (3, 2, 20, 22)
    for b in range(3):
        for c in range(2):
            assert torch.allclose(out[b, c], match_template(img[b, c], tpl[c], pad_input=True))
    assert match_template(torch.rand(0, 9, 9), torch.rand(3, 3)).shape == (0, 7, 7)


def test_non_contiguous_input_and_half():
    x = torch.rand(30, 25).t()
    t = torch.rand(6, 5).t()
    ref = match_template(x.contiguous(), t.contiguous())
    assert torch.allclose(match_template(x, t), ref, atol=1e-6)
    out = match_template(x.half(), t.half())
    assert out.dtype == torch.float16
    assert (out.float() - match_template(x.half().float(), t.half().float())).abs().max() < 2e-3


def test_gradcheck():
    img = torch.rand(1, 8, 9, dtype=torch.float64, requires_grad=True)
    tpl = torch.rand(3, 4, dtype=torch.float64, requires_grad=True)
    assert torch.autograd.gradcheck(lambda a, b: match_template(a, b), (img, tpl))


def test_match_template_errors():
    with pytest.raises(ValueError, match="template must not be larger"):
        match_template(torch.rand(8, 8), torch.rand(9, 3))
    with pytest.raises(ValueError, match="template must not be larger"):
        match_template(torch.rand(8, 8), torch.rand(3, 9))
    with pytest.raises(ValueError, match="image"):
        match_template(torch.full((8, 8), float("nan")), torch.rand(3, 3))
    with pytest.raises(ValueError, match="template"):
        match_template(torch.rand(8, 8), torch.tensor([[1.0, float("inf")]]))
    with pytest.raises(ValueError, match="image"):
        match_template(torch.rand(0, 8), torch.rand(3, 3))
    with pytest.raises(ValueError, match="template"):
        match_template(torch.rand(8, 8), torch.rand(3, 0))
    with pytest.raises(TypeError, match="image"):
        match_template(torch.ones(8, 8, dtype=torch.uint8), torch.rand(3, 3))
    with pytest.raises(TypeError, match="template"):
        match_template(torch.rand(8, 8), torch.ones(3, 3, dtype=torch.int32))
    with pytest.raises(ValueError, match="template"):
        match_template(torch.rand(2, 8, 8), torch.rand(3, 3, 3))


# ---------------------------------------------------------------- peak_local_max

OPTIONS = [
    dict(),
    dict(threshold_rel=0.5),
    dict(threshold_abs=0.45),
    dict(num_peaks=4),
    dict(exclude_border=False),
    dict(exclude_border=3, threshold_abs=0.4, num_peaks=7),
]


@pytest.mark.filterwarnings("ignore:When min_distance < 1:RuntimeWarning")
@pytest.mark.parametrize("min_distance", [0, 1, 2, 3, 6])
@pytest.mark.parametrize("options", OPTIONS)
def test_peak_local_max_matches_scikit_image(min_distance, options):
    rng = np.random.default_rng(min_distance)
    for _ in range(3):
        img = ndi.gaussian_filter(rng.random((50, 61)), 2.0)
        ref = skimage.feature.peak_local_max(img, min_distance=min_distance, **options)
        out = peak_local_max(torch.from_numpy(img), min_distance=min_distance, **options)
        assert out.dtype == torch.int64 and out.shape[1] == 2
        assert {tuple(p) for p in out.tolist()} == {tuple(p) for p in ref.tolist()}
        np.testing.assert_array_equal(out.numpy(), ref)  # same order too


@pytest.mark.parametrize("min_distance", [1, 2, 3])
def test_peak_local_max_on_plateaus_and_integer_responses(min_distance):
    img = np.zeros((20, 20), dtype=np.int64)
    img[5:9, 5:9], img[12, 12], img[14:16, 3:5] = 1, 2, 1
    ref = skimage.feature.peak_local_max(img, min_distance=min_distance)
    out = peak_local_max(torch.from_numpy(img), min_distance=min_distance)
    np.testing.assert_array_equal(out.numpy(), ref)


def test_peak_local_max_on_a_template_response(camera):
    tpl = camera[60:80, 150:170]
    resp = match_template(torch.from_numpy(camera), torch.from_numpy(tpl))
    peaks = peak_local_max(resp, min_distance=5, num_peaks=1)
    assert peaks.tolist() == [[60, 150]]


def test_peak_local_max_edge_cases():
    assert peak_local_max(torch.ones(6, 6)).shape == (0, 2)  # a constant image has no peak
    assert peak_local_max(torch.rand(6, 6), num_peaks=0).shape == (0, 2)
    one = peak_local_max(torch.tensor([[3.0]]), exclude_border=False)
    assert one.shape == (0, 2)  # not above the default threshold (its own minimum)
    r = torch.zeros(9, 9)
    r[4, 4] = 1.0
    t = r.t()  # non-contiguous
    assert peak_local_max(t).tolist() == [[4, 4]]


def test_peak_local_max_errors():
    with pytest.raises(ValueError, match="response"):
        peak_local_max(torch.rand(2, 5, 5))
    with pytest.raises(ValueError, match="response"):
        peak_local_max(torch.rand(0, 5))
    with pytest.raises(ValueError, match="response"):
        peak_local_max(torch.full((5, 5), float("nan")))
    with pytest.raises(TypeError, match="response"):
        peak_local_max(torch.ones(5, 5, dtype=torch.bool))
    with pytest.raises(ValueError, match="min_distance"):
        peak_local_max(torch.rand(5, 5), min_distance=-1)
    with pytest.raises(ValueError, match="exclude_border"):
        peak_local_max(torch.rand(5, 5), exclude_border=-2)
    with pytest.raises(ValueError, match="num_peaks"):
        peak_local_max(torch.rand(5, 5), num_peaks=-1)
    with pytest.raises(ValueError, match="threshold_abs"):
        peak_local_max(torch.rand(5, 5), threshold_abs=float("nan"))
