import numpy as np
import pytest
import skimage.data
import skimage.morphology as skm
import torch

from pixlearn._core.errors import ShapeError, ValueRangeError, WrongTypeError
from pixlearn.morphology import Granulometry, granulometry


@pytest.fixture(scope="module")
def coins():
    return skimage.data.coins()[::2, ::2].copy()  # (152, 192) uint8


def _disks(radii_and_centres, shape=(80, 80)):
    img = np.zeros(shape, bool)
    yy, xx = np.mgrid[: shape[0], : shape[1]]
    for r, (cy, cx) in radii_and_centres:
        img |= (yy - cy) ** 2 + (xx - cx) ** 2 <= r * r
    return img


def test_spectrum_of_disks_peaks_at_their_radii():
    img = _disks([(3, (10, 10)), (3, (10, 30)), (7, (40, 15)), (7, (50, 55)), (7, (20, 60))])
    g = granulometry(torch.from_numpy(img), list(range(11)))
    spectrum = g.spectrum.numpy()
    area7 = int(skm.disk(7).sum())
    # each disk survives the opening by its own radius and vanishes at the next one; smaller
    # digital disks only shave a few pixels (digital disks are not a granulometry)
    assert int(np.argmax(spectrum)) == 7 and spectrum[8:].sum() == 0
    assert int(np.argmax(spectrum[:7])) == 3
    assert g.volumes[7] == 3 * area7 and g.volumes[8] == 0
    norm = granulometry(torch.from_numpy(img), list(range(11)), normalize=True).spectrum
    assert norm.sum().item() == pytest.approx(1.0, abs=1e-12)
    assert norm[7].item() == pytest.approx(spectrum[7] / spectrum.sum(), rel=1e-12)


def test_spectrum_of_diamonds_is_a_spike_at_their_radii():
    img = np.zeros((60, 60), bool)
    yy, xx = np.mgrid[:60, :60]
    for r, cy, cx in [(2, 8, 8), (2, 8, 30), (5, 30, 12), (5, 40, 40), (5, 15, 48)]:
        img |= np.abs(yy - cy) + np.abs(xx - cx) <= r
    g = granulometry(torch.from_numpy(img), list(range(8)), footprint="diamond")
    spectrum = g.spectrum.numpy()
    np.testing.assert_array_equal(np.flatnonzero(spectrum), [2, 5])
    assert spectrum[2] == 2 * skm.diamond(2).sum() and spectrum[5] == 3 * skm.diamond(5).sum()


def test_disks_are_not_a_granulometry_the_spectrum_can_go_negative():
    img = _disks([(7, (20, 20))], shape=(40, 40))
    v = granulometry(torch.from_numpy(img), [4, 5]).volumes
    assert v[1] > v[0]  # the disk of radius 5 keeps more than the disk of radius 4


@pytest.mark.parametrize(
    ("footprint", "make"),
    [
        ("disk", skm.disk),
        ("diamond", skm.diamond),
        ("square", lambda r: np.ones((2 * r + 1, 2 * r + 1), bool)),
    ],
)
def test_volumes_equal_skimage_openings_on_coins(coins, footprint, make):
    radii = [0, 1, 3, 6, 10]
    g = granulometry(torch.from_numpy(coins), radii, footprint=footprint)
    ref = [float(skm.opening(coins, make(r)).astype(np.float64).sum()) for r in radii]
    np.testing.assert_array_equal(g.volumes.numpy(), ref)
    np.testing.assert_array_equal(g.spectrum.numpy(), -np.diff(ref))
    assert g.volumes.dtype == torch.float64 and g.radii.tolist() == radii
    assert isinstance(g, Granulometry)


def test_granulometry_properties(coins):
    x = torch.from_numpy(coins).float() / 255
    g = granulometry(x, [0, 2, 4, 8, 16], footprint="square")
    assert g.volumes[0].item() == pytest.approx(float(x.double().sum()), rel=1e-12)
    assert bool((g.spectrum >= 0).all())  # openings by growing disks only remove
    assert bool((g.volumes[1:] <= g.volumes[:-1]).all())
    # the spectrum telescopes: it sums to V(first) - V(last)
    total = g.spectrum.sum().item()
    assert total == pytest.approx((g.volumes[0] - g.volumes[-1]).item(), rel=1e-12)


def test_batched_equals_per_item_and_empty_batch():
    g = torch.Generator().manual_seed(0)
    x = torch.rand(2, 3, 20, 24, generator=g)
    out = granulometry(x, [1, 2, 3])
    assert out.volumes.shape == (2, 3, 3) and out.spectrum.shape == (2, 3, 2)
    for i in range(2):
        for j in range(3):
            one = granulometry(x[i, j], torch.tensor([1, 2, 3]))
            assert torch.equal(out.volumes[i, j], one.volumes)
    empty = granulometry(torch.zeros(0, 8, 8), [0, 1])
    assert empty.volumes.shape == (0, 2) and empty.spectrum.shape == (0, 1)
    nc = x[0, 0].t()
    assert torch.equal(granulometry(nc, [0, 2]).volumes, granulometry(nc.contiguous(), [0, 2])[1])


def test_normalize_leaves_a_flat_image_at_zero():
    g = granulometry(torch.ones(6, 6), [0, 1, 2], normalize=True)
    assert g.spectrum.tolist() == [0.0, 0.0]


def test_input_is_not_modified():
    x = torch.rand(10, 10)
    before = x.clone()
    granulometry(x, [0, 1, 2])
    assert torch.equal(x, before)


@pytest.mark.parametrize("radii", [[1, 1, 2], [3, 2], [0, 4, 4], [-1, 2]])
def test_radii_must_increase_and_be_non_negative(radii):
    with pytest.raises(ValueRangeError, match="radii"):
        granulometry(torch.rand(8, 8), radii)


def test_bad_inputs():
    with pytest.raises(ShapeError, match="radii"):
        granulometry(torch.rand(8, 8), [2])
    with pytest.raises(ShapeError, match="radii"):
        granulometry(torch.rand(8, 8), torch.tensor([[0, 1]]))
    with pytest.raises(WrongTypeError, match="radii"):
        granulometry(torch.rand(8, 8), 3)
    with pytest.raises(WrongTypeError, match="radii"):
        granulometry(torch.rand(8, 8), [0, 1.5])
    with pytest.raises(ValueRangeError, match="footprint"):
        granulometry(torch.rand(8, 8), [0, 1], footprint="hexagon")
    with pytest.raises(ShapeError, match="image"):
        granulometry(torch.rand(8), [0, 1])
    with pytest.raises(ValueRangeError, match="image"):
        granulometry(torch.tensor([[0.0, float("nan")]]), [0, 1])
