import numpy as np
import pytest
import torch
from skimage.transform import integral_image as sk_integral_image

from pixlearn.data import sample
from pixlearn.features import integral_image, integral_sum


def _direct(img: torch.Tensor, boxes: torch.Tensor) -> torch.Tensor:
    return torch.stack(
        [img[..., y1:y2, x1:x2].sum((-2, -1)) for x1, y1, x2, y2 in boxes.tolist()], -1
    )


def _random_boxes(h, w, n, g):
    xs = torch.randint(0, w + 1, (n, 2), generator=g).sort(1).values
    ys = torch.randint(0, h + 1, (n, 2), generator=g).sort(1).values
    return torch.stack([xs[:, 0], ys[:, 0], xs[:, 1], ys[:, 1]], 1)


def test_matches_skimage_and_is_zero_padded():
    img = sample("camera")[0]
    ii = integral_image(img)
    assert ii.shape == (513, 513) and ii.dtype == torch.float64
    assert torch.all(ii[0] == 0) and torch.all(ii[:, 0] == 0)
    ref = sk_integral_image(img.double().numpy())
    np.testing.assert_allclose(ii[1:, 1:].numpy(), ref, rtol=1e-12)


def test_integer_sums_are_exact_on_random_rectangles():
    g = torch.Generator().manual_seed(0)
    img = torch.randint(0, 65536, (2, 3, 37, 41), generator=g, dtype=torch.int64)
    boxes = _random_boxes(37, 41, 200, g)
    out = integral_sum(integral_image(img.to(torch.int32)), boxes)
    assert out.dtype == torch.int64 and out.shape == (2, 3, 200)
    assert torch.equal(out, _direct(img, boxes))


def test_float_sums_on_a_real_image_and_zero_area_boxes():
    g = torch.Generator().manual_seed(1)
    img = sample("coins")[0]
    boxes = _random_boxes(*img.shape, 300, g)
    boxes[:5, 2] = boxes[:5, 0]  # zero width
    out = integral_sum(integral_image(img), boxes.double())
    ref = _direct(img.double(), boxes)
    torch.testing.assert_close(out, ref, rtol=1e-12, atol=1e-9)
    assert torch.all(out[:5] == 0)


def test_batched_equals_per_item_non_contiguous_and_empty():
    x = torch.rand(3, 20, 16).transpose(-1, -2)
    ii = integral_image(x)
    assert torch.equal(ii[1], integral_image(x[1].contiguous()))
    assert integral_image(torch.zeros(0, 4)).shape == (1, 5)
    assert integral_image(torch.ones(4, 4, dtype=torch.bool))[-1, -1] == 16
    assert integral_sum(ii, torch.zeros(0, 4, dtype=torch.int64)).shape == (3, 0)


def test_errors_name_the_argument():
    ii = integral_image(torch.rand(5, 6))
    with pytest.raises(ValueError, match="boxes"):
        integral_sum(ii, torch.tensor([[0, 0, 7, 2]]))
    with pytest.raises(ValueError, match="boxes"):
        integral_sum(ii, torch.tensor([[3, 0, 2, 2]]))
    with pytest.raises(TypeError, match="boxes"):
        integral_sum(ii, torch.tensor([[0.5, 0, 2, 2]]))
    with pytest.raises(ValueError, match="boxes"):
        integral_sum(ii, torch.tensor([0, 0, 2, 2]))
    with pytest.raises(ValueError, match="image"):
        integral_image(torch.tensor([[float("nan")]]))
    with pytest.raises(ValueError, match="image"):
        integral_image(torch.ones(3))
