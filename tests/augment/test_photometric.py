import pytest
import torch

from pixlearn.augment import (
    Blur,
    Brightness,
    Contrast,
    Cutout,
    Gamma,
    GaussianNoise,
    HueSaturation,
    PoissonNoise,
)
from pixlearn.augment.photometric import _hsv_to_rgb, _rgb_to_hsv

PHOTOMETRIC = {
    "brightness": lambda: Brightness(0.3),
    "contrast": lambda: Contrast(0.5),
    "gamma": lambda: Gamma((0.5, 2.0)),
    "hue_saturation": lambda: HueSaturation(0.2, 0.5),
    "gaussian_noise": lambda: GaussianNoise((0.05, 0.2)),
    "poisson_noise": lambda: PoissonNoise((5.0, 50.0)),
    "blur": lambda: Blur((0.5, 2.0)),
    "cutout": lambda: Cutout(2, size=(0.2, 0.4)),
}


def _gen(seed=0):
    return torch.Generator().manual_seed(seed)


def _sample(b=None):
    g = _gen(0)
    shape = (3, 16, 20) if b is None else (b, 3, 16, 20)
    boxes = torch.tensor([[1.0, 2.0, 8.0, 9.0], [-3.0, 4.0, 25.0, 30.0]])
    masks = torch.rand(2, 16, 20, generator=g) > 0.5
    kp = torch.rand(2, 3, 2, generator=g) * 10
    s = {
        "image": torch.rand(shape, generator=g),
        "boxes": boxes,
        "masks": masks,
        "keypoints": kp,
        "labels": torch.tensor([3, 4]),
    }
    if b is not None:
        for k in ("boxes", "masks", "keypoints", "labels"):
            s[k] = [s[k]] * b
    return s


@pytest.mark.parametrize("name", list(PHOTOMETRIC))
def test_targets_unchanged_and_values_in_unit_range(name):
    s = _sample()
    s["image"] = s["image"] * 1.4 - 0.2  # out-of-range input is clipped too
    out = PHOTOMETRIC[name]()(s, generator=_gen(1))
    for k in ("boxes", "masks", "keypoints", "labels"):
        assert torch.equal(out[k], s[k])
    assert out["image"].shape == s["image"].shape and out["image"].dtype == s["image"].dtype
    assert float(out["image"].min()) >= 0.0 and float(out["image"].max()) <= 1.0
    assert not torch.equal(out["image"], s["image"])


@pytest.mark.parametrize("name", list(PHOTOMETRIC))
def test_seeded_identical_different_seeds_differ_p0_identity(name):
    s = _sample()
    a = PHOTOMETRIC[name]()(s, generator=_gen(5))["image"]
    b = PHOTOMETRIC[name]()(s, generator=_gen(5))["image"]
    c = PHOTOMETRIC[name]()(s, generator=_gen(6))["image"]
    assert torch.equal(a, b) and not torch.equal(a, c)
    t = PHOTOMETRIC[name]()
    t.p = 0.0
    assert torch.equal(t(s, generator=_gen(5))["image"], s["image"])


@pytest.mark.parametrize("name", list(PHOTOMETRIC))
def test_batch_items_get_independent_draws(name):
    s = _sample(b=4)
    s["image"] = s["image"][:1].expand(4, -1, -1, -1)  # four copies of one image
    out = PHOTOMETRIC[name]()(s, generator=_gen(2))["image"]
    assert not torch.equal(out[0], out[1])


def test_closed_forms():
    x = torch.rand(2, 3, 8, 8, dtype=torch.float64, generator=_gen(3))
    s = {"image": x}
    assert torch.allclose(Brightness((0.1, 0.1))(s)["image"], (x + 0.1).clamp(0, 1))
    mu = x.mean(dim=(1, 2, 3), keepdim=True)
    assert torch.allclose(Contrast((1.5, 1.5))(s)["image"], (mu + 1.5 * (x - mu)).clamp(0, 1))
    assert torch.allclose(Gamma((2.2, 2.2))(s)["image"], x**2.2)
    assert torch.allclose(HueSaturation((0, 0), (1, 1))(s)["image"], x, atol=1e-12)
    assert torch.allclose(Blur((1e-3, 1e-3))(s)["image"], x, atol=1e-12)


def test_hsv_roundtrip_and_against_matplotlib():
    from matplotlib.colors import rgb_to_hsv

    x = torch.rand(2, 3, 6, 7, dtype=torch.float64, generator=_gen(4))
    hsv = _rgb_to_hsv(x)
    ref = rgb_to_hsv(x.permute(0, 2, 3, 1).numpy())
    assert torch.allclose(hsv.permute(0, 2, 3, 1), torch.from_numpy(ref), atol=1e-12)
    assert torch.allclose(_hsv_to_rgb(hsv), x, atol=1e-12)


def test_gaussian_noise_strength_and_blur_mass():
    flat = {"image": torch.full((1, 128, 128), 0.5, dtype=torch.float64)}
    out = GaussianNoise((0.1, 0.1))(flat, generator=_gen(0))["image"]
    assert float(out.std()) == pytest.approx(0.1, rel=0.03)
    img = torch.zeros(1, 15, 15)
    img[0, 7, 7] = 1.0
    out = Blur((1.5, 1.5))({"image": img})["image"]
    assert float(out.sum()) == pytest.approx(1.0, abs=1e-5)
    # separable sampled Gaussian: the centre value is g(0)^2 / (sum g)^2
    t = torch.arange(-5, 6, dtype=torch.float64)
    g = torch.exp(-0.5 * (t / 1.5) ** 2)
    assert float(out[0, 7, 7]) == pytest.approx(float((1 / g.sum()) ** 2), rel=1e-5)


def test_poisson_noise_mean_and_variance():
    x = torch.full((1, 200, 200), 0.4, dtype=torch.float64)
    y = PoissonNoise((50.0, 50.0))({"image": x}, generator=_gen(0))["image"]
    assert float(y.mean()) == pytest.approx(0.4, abs=0.005)
    assert float(y.var()) == pytest.approx(0.4 / 50, rel=0.05)


def test_cutout_fills_rectangles():
    out = Cutout(3, size=(0.25, 0.25), fill=0.0)(
        {"image": torch.ones(2, 16, 16)}, generator=_gen(0)
    )["image"]
    holes = out == 0
    for item in holes:
        # at most three 4x4 squares (5x5 where a pixel centre lies on an edge)
        assert 0 < int(item.sum()) <= 3 * 25
    rows = holes[0].any(dim=1).nonzero().flatten()
    assert rows.numel() >= 4


def test_hue_needs_rgb_and_bad_parameters_name_the_argument():
    with pytest.raises(ValueError, match="image"):
        HueSaturation()({"image": torch.rand(1, 4, 4)})
    with pytest.raises(ValueError, match="hue"):
        HueSaturation(hue=(0.1, 0.7))
    with pytest.raises(ValueError, match="saturation"):
        HueSaturation(saturation=(-0.5, 1.0))
    with pytest.raises(ValueError, match="gamma"):
        Gamma((0.0, 1.0))
    with pytest.raises(ValueError, match="delta"):
        Brightness((0.2, -0.2))
    with pytest.raises(ValueError, match="factor"):
        Contrast((-1.0, 1.0))
    with pytest.raises(ValueError, match="sigma"):
        GaussianNoise(-0.1)
    with pytest.raises(ValueError, match="sigma"):
        Blur((0.0, 1.0))
    with pytest.raises(ValueError, match="photons"):
        PoissonNoise(0.0)
    with pytest.raises(ValueError, match="holes"):
        Cutout(0)
    with pytest.raises(ValueError, match="fill"):
        Cutout(1, fill=2.0)
    with pytest.raises(ValueError, match="p "):
        Brightness(p=2.0)
