import pytest
import torch

from pixlearn.augment import (
    Brightness,
    Compose,
    Contrast,
    ElasticDeformation,
    FilterBoxes,
    GaussianNoise,
    HorizontalFlip,
    OneOf,
    Perspective,
    RandomResizedCrop,
    Rotate,
    Rotate90,
    VerticalFlip,
)
from pixlearn.augment.base import to_batch


def _gen(seed=0):
    return torch.Generator().manual_seed(seed)


def _pipeline():
    return Compose(
        [
            HorizontalFlip(p=0.5),
            Rotate90(p=0.5),
            Rotate(20, p=0.7),
            RandomResizedCrop((24, 24), scale=(0.5, 1.0)),
            Perspective(0.3, p=0.5),
            ElasticDeformation(20.0, 5.0, p=0.3),
            OneOf([Brightness(0.2), Contrast(0.3), GaussianNoise(0.05)]),
            FilterBoxes(min_area=4.0, min_visibility=0.3),
        ]
    )


def _sample(n=3):
    g = _gen(9)
    masks = torch.zeros(n, 32, 32, dtype=torch.bool)
    boxes = []
    for i in range(n):
        masks[i, 4 + 6 * i : 12 + 6 * i, 3 + 5 * i : 15 + 5 * i] = True
        boxes.append([3 + 5 * i, 4 + 6 * i, 15 + 5 * i, 12 + 6 * i])
    return {
        "image": torch.rand(3, 32, 32, generator=g),
        "boxes": torch.tensor(boxes, dtype=torch.float32),
        "labels": torch.arange(n),
        "masks": masks,
        "keypoints": torch.rand(n, 2, 2, generator=g) * 32,
        "id": 7,
    }


def test_seeded_runs_identical_different_seeds_differ():
    s = _sample()
    a = _pipeline()(s, generator=_gen(1))
    b = _pipeline()(s, generator=_gen(1))
    c = _pipeline()(s, generator=_gen(2))
    for k in ("image", "boxes", "labels", "masks", "keypoints"):
        assert torch.equal(a[k], b[k]), k
    assert not torch.equal(a["image"], c["image"])
    assert a["id"] == 7  # other keys pass through


def test_pipeline_on_empty_box_list_and_without_targets():
    s = _sample()
    empty = {
        "image": s["image"],
        "boxes": torch.zeros(0, 4),
        "labels": torch.zeros(0, dtype=torch.int64),
        "masks": torch.zeros(0, 32, 32, dtype=torch.bool),
    }
    out = _pipeline()(empty, generator=_gen(3))
    assert out["boxes"].shape == (0, 4) and out["labels"].shape == (0,)
    assert out["masks"].shape == (0, 24, 24)
    only = _pipeline()({"image": s["image"]}, generator=_gen(3))
    assert set(only) == {"image"} and only["image"].shape == (3, 24, 24)
    assert torch.equal(only["image"], out["image"])  # the targets do not change the draws


def test_targets_stay_aligned_after_filtering():
    for seed in range(5):
        out = _pipeline()(_sample(), generator=_gen(seed))
        n = out["boxes"].shape[0]
        assert out["labels"].shape == (n,) and out["masks"].shape[0] == n
        assert out["keypoints"].shape == (n, 2, 2)
        area = (out["boxes"][:, 2:] - out["boxes"][:, :2]).prod(dim=1)
        assert bool((area >= 4.0).all())


def test_p_zero_is_identity_p_one_always_applies():
    s = _sample()
    out = Compose([HorizontalFlip(), Brightness(0.3)], p=0.0)(s, generator=_gen(0))
    for k in ("image", "boxes", "masks", "keypoints", "labels"):
        assert torch.equal(out[k], s[k])
    for seed in range(10):
        flipped = HorizontalFlip(p=1.0)(s, generator=_gen(seed))["image"]
        assert torch.equal(flipped, s["image"].flip(-1))


def test_probability_is_respected_per_item():
    x = torch.rand(400, 1, 2, 2)
    out = HorizontalFlip(p=0.3)({"image": x}, generator=_gen(0))["image"]
    flipped = (out != x).flatten(1).any(dim=1).float().mean()
    assert float(flipped) == pytest.approx(0.3, abs=0.07)


def test_batch_gets_per_item_draws():
    x = torch.rand(1, 3, 32, 32).expand(8, -1, -1, -1)
    out = _pipeline()({"image": x}, generator=_gen(4))["image"]
    assert out.shape == (8, 3, 24, 24)
    for i in range(8):
        for j in range(i):
            assert not torch.equal(out[i], out[j])


def test_one_of_chooses_one_per_item():
    x = torch.rand(64, 1, 3, 3)
    out = OneOf([HorizontalFlip(), VerticalFlip()], weights=[1, 3])(
        {"image": x}, generator=_gen(0)
    )["image"]
    h = [torch.equal(o, i.flip(-1)) for o, i in zip(out, x, strict=True)]
    v = [torch.equal(o, i.flip(-2)) for o, i in zip(out, x, strict=True)]
    assert all(a != b for a, b in zip(h, v, strict=True))  # exactly one of the two
    assert 0.55 < sum(v) / 64 < 0.95


def test_filter_boxes_visibility():
    s = {
        "image": torch.rand(1, 20, 20),
        "boxes": torch.tensor([[2.0, 2.0, 8.0, 8.0], [12.0, 2.0, 24.0, 8.0], [25.0, 2, 30, 8]]),
        "labels": torch.tensor([0, 1, 2]),
    }
    # a translation-free crop keeps coordinates: the second box is 8/12 visible, the third gone
    keep = Compose([Rotate((0, 0)), FilterBoxes(min_area=1.0, min_visibility=0.7)])(s)
    assert keep["labels"].tolist() == [0]
    keep = Compose([Rotate((0, 0)), FilterBoxes(min_area=1.0, min_visibility=0.5)])(s)
    assert keep["labels"].tolist() == [0, 1]
    assert keep["boxes"][1].tolist() == [12.0, 2.0, 20.0, 8.0]


def test_shape_errors_name_the_target():
    img = torch.rand(3, 8, 8)
    boxes = torch.zeros(2, 4)
    with pytest.raises(ValueError, match="masks"):
        HorizontalFlip()({"image": img, "boxes": boxes, "masks": torch.zeros(3, 8, 8).bool()})
    with pytest.raises(ValueError, match="masks"):
        HorizontalFlip()({"image": img, "masks": torch.zeros(2, 8, 9).bool()})
    with pytest.raises(ValueError, match="masks"):
        HorizontalFlip()({"image": img, "masks": torch.zeros(2, 8, 8)})  # not bool
    with pytest.raises(ValueError, match="labels"):
        HorizontalFlip()({"image": img, "boxes": boxes, "labels": torch.zeros(3)})
    with pytest.raises(ValueError, match="boxes"):
        HorizontalFlip()({"image": img, "boxes": torch.zeros(2, 5)})
    with pytest.raises(ValueError, match="keypoints"):
        HorizontalFlip()({"image": img, "boxes": boxes, "keypoints": torch.zeros(1, 3, 2)})
    with pytest.raises(ValueError, match=r"boxes\[1\]"):
        HorizontalFlip()({"image": torch.rand(2, 3, 8, 8), "boxes": [boxes, torch.zeros(3)]})
    with pytest.raises(ValueError, match="boxes"):
        HorizontalFlip()({"image": torch.rand(2, 3, 8, 8), "boxes": [boxes]})
    with pytest.raises(TypeError, match="boxes"):
        HorizontalFlip()({"image": torch.rand(2, 3, 8, 8), "boxes": boxes})
    with pytest.raises(ValueError, match="image"):
        HorizontalFlip()({"image": torch.rand(8, 8)})
    with pytest.raises(ValueError, match="image"):
        HorizontalFlip()({"image": torch.full((1, 4, 4), float("nan"))})
    with pytest.raises(TypeError, match="image"):
        HorizontalFlip()({"image": torch.zeros(1, 4, 4, dtype=torch.uint8)})
    with pytest.raises(TypeError, match="sample"):
        HorizontalFlip()(torch.rand(1, 4, 4))


def test_pipeline_argument_errors():
    with pytest.raises(TypeError, match=r"transforms\[1\]"):
        Compose([HorizontalFlip(), "flip"])
    with pytest.raises(ValueError, match="weights"):
        OneOf([HorizontalFlip()], weights=[1, 2])
    with pytest.raises(ValueError, match="weights"):
        OneOf([HorizontalFlip(), VerticalFlip()], weights=[0, 0])
    with pytest.raises(ValueError, match="min_visibility"):
        FilterBoxes(min_visibility=1.5)
    with pytest.raises(ValueError, match="min_area"):
        FilterBoxes(min_area=-1.0)
    with pytest.raises(ValueError, match="p "):
        Compose([], p=-0.5)


def test_input_is_not_modified():
    s = _sample()
    copy = {k: (v.clone() if isinstance(v, torch.Tensor) else v) for k, v in s.items()}
    _pipeline()(s, generator=_gen(0))
    for k, v in copy.items():
        assert torch.equal(s[k], v) if isinstance(v, torch.Tensor) else s[k] == v


def test_batch_keeps_the_unbatched_form_in_and_out():
    b = to_batch(_sample())
    assert b.image.shape == (1, 3, 32, 32) and not b.batched and len(b.boxes) == 1
