import math

import pytest
import torch
from torch import nn

from pixlearn.interpret import filter_grid


def test_tiles_are_the_filters_stretched_per_filter():
    g = torch.Generator().manual_seed(0)
    w = torch.randn(5, 1, 3, 4, generator=g, dtype=torch.float64)
    grid = filter_grid(w, ncols=2, padding=1, pad_value=1.0)
    assert grid.shape == (1, 3 * 4 + 1, 2 * 5 + 1) and grid.dtype == torch.float64
    for i in range(5):
        r, c = divmod(i, 2)
        tile = grid[0, 1 + 4 * r : 4 + 4 * r, 1 + 5 * c : 5 + 5 * c]
        f = w[i, 0]
        torch.testing.assert_close(tile, (f - f.min()) / (f.max() - f.min()), rtol=0, atol=1e-15)
        assert float(tile.min()) == 0.0 and float(tile.max()) == 1.0
    # the unused sixth cell and the separators hold pad_value
    assert bool((grid[0, 9:12, 6:10] == 1.0).all()) and bool((grid[0, 0] == 1.0).all())


def test_rgb_filters_keep_their_colour_balance():
    w = torch.zeros(2, 3, 2, 2)
    w[0, 0] = 1.0  # a pure red filter
    w[1] = torch.arange(12.0).view(3, 2, 2)
    grid = filter_grid(w, ncols=2, padding=0)
    assert grid.shape == (3, 2, 4)
    assert torch.equal(grid[:, :, :2], w[0])  # min 0, max 1 over all three channels
    torch.testing.assert_close(grid[:, :, 2:], w[1] / 11)


def test_other_channel_counts_give_one_grey_tile_per_channel_and_constants_are_grey():
    w = torch.randn(3, 2, 5, 5)
    w[1] = 7.0  # a constant ("dead") filter
    grid = filter_grid(w, padding=2, pad_value=0.0)
    n = 3 * 2
    cols = math.ceil(math.sqrt(n))
    rows = math.ceil(n / cols)
    assert grid.shape == (1, rows * 7 + 2, cols * 7 + 2)
    assert bool((grid[0, 2:7, 2 + 2 * 7 : 7 + 2 * 7] == 0.5).all())  # tile 2 = filter 1, ch 0


def test_accepts_a_conv_layer_and_leaves_it_alone():
    conv = nn.Conv2d(1, 4, 3)
    before = conv.weight.detach().clone()
    grid = filter_grid(conv)
    assert grid.shape == (1, 9, 9) and not grid.requires_grad
    assert torch.equal(conv.weight, before)
    w = torch.randn(4, 1, 3, 3).transpose(-1, -2)  # non-contiguous
    torch.testing.assert_close(filter_grid(w), filter_grid(w.contiguous()))


def test_errors_name_the_argument():
    with pytest.raises(ValueError, match=r"weight must be .*\(C_out, C_in, kH, kW\)"):
        filter_grid(torch.randn(4, 3, 3))
    with pytest.raises(ValueError, match="weight must be a non-empty"):
        filter_grid(torch.randn(0, 1, 3, 3))
    with pytest.raises(ValueError, match="weight must be a non-empty float"):
        filter_grid(torch.ones(2, 1, 3, 3, dtype=torch.int64))
    with pytest.raises(ValueError, match="weight must be finite"):
        filter_grid(torch.full((2, 1, 3, 3), float("nan")))
    with pytest.raises(TypeError, match=r"weight must be a torch\.Tensor"):
        filter_grid([[1.0]])
    with pytest.raises(ValueError, match="ncols"):
        filter_grid(torch.randn(2, 1, 3, 3), ncols=0)
    with pytest.raises(ValueError, match="padding"):
        filter_grid(torch.randn(2, 1, 3, 3), padding=-1)
    with pytest.raises(ValueError, match="pad_value"):
        filter_grid(torch.randn(2, 1, 3, 3), pad_value=2.0)
