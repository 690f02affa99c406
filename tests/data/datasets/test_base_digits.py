import hashlib

import numpy as np
import pytest
import torch
import torch.nn.functional as F
from sklearn.datasets import load_digits

from pixlearn.data.datasets import (
    DATASET_SPECS,
    DatasetSubset,
    ImageDataset,
    TensorDataset,
    digits,
    load_dataset,
    split_indices,
    stratified_split,
)
from pixlearn.data.datasets.digits import _raw, digits_split_indices


def _h(a: np.ndarray) -> str:
    return hashlib.sha1(np.ascontiguousarray(a).tobytes()).hexdigest()


def test_digits_items_shapes_ranges_and_classes():
    ds = load_dataset("digits", "train")
    assert isinstance(ds, ImageDataset)
    image, label = ds[0]
    assert image.shape == (1, 32, 32) and image.dtype == torch.float32
    assert isinstance(label, int)
    assert ds.classes == [str(d) for d in range(10)] and ds.num_classes == 10
    assert ds.targets.dtype == torch.int64 and ds.targets.shape == (len(ds),)
    assert float(ds.images.min()) >= 0.0 and float(ds.images.max()) <= 1.0
    assert ds.paths is None


def test_digits_split_sizes_stratified_and_cover_everything():
    sizes = {s: len(digits(s)) for s in ("train", "val", "test")}
    assert sizes == {"train": 1258, "val": 180, "test": 359}
    assert sum(sizes.values()) == len(digits("all")) == 1797
    for s, frac in (("train", 0.7), ("val", 0.1), ("test", 0.2)):
        counts = digits(s).targets.bincount(minlength=10).double()
        full = digits("all").targets.bincount(minlength=10).double()
        assert torch.all((counts - frac * full).abs() <= 1.0), s  # each class keeps its share


def test_digit_splits_are_disjoint_by_hash_of_the_original_pixels():
    raw = load_digits().images.astype(np.uint8)  # the original 8x8 arrays
    idx = digits_split_indices()
    images, _ = _raw()
    hashes = {s: {_h(images[i]) for i in idx[s].tolist()} for s in ("train", "val", "test")}
    assert not hashes["train"] & hashes["val"]
    assert not hashes["train"] & hashes["test"]
    assert not hashes["val"] & hashes["test"]
    # every distinct original image is in exactly one split
    assert set().union(*hashes.values()) == {_h(a) for a in raw}


def test_duplicates_are_removed_before_splitting(monkeypatch):
    import importlib

    import sklearn.datasets

    digits_module = importlib.import_module("pixlearn.data.datasets.digits")

    real = load_digits()
    images = np.concatenate([real.images, real.images[:5]])  # 5 exact duplicates
    target = np.concatenate([real.target, real.target[:5]])

    class Bunch:
        pass

    fake = Bunch()
    fake.images, fake.target = images, target
    monkeypatch.setattr(sklearn.datasets, "load_digits", lambda: fake)
    digits_module._raw.cache_clear()
    try:
        kept, _ = digits_module._raw()
        assert kept.shape[0] == 1797
    finally:
        digits_module._raw.cache_clear()


def test_digits_are_the_scaled_sklearn_images_upsampled_bilinearly():
    bunch = load_digits()
    images, labels = _raw()
    np.testing.assert_array_equal(images, bunch.images.astype(np.uint8))
    np.testing.assert_array_equal(labels, bunch.target)
    ds = digits("all")
    x = torch.from_numpy(bunch.images.astype(np.float32) / 16.0)[:, None]
    # upsampling by 4: pixlearn's linear resize equals half-pixel bilinear interpolation
    ref = F.interpolate(x, size=(32, 32), mode="bilinear", align_corners=False)
    torch.testing.assert_close(ds.images, ref, atol=1e-6, rtol=0)
    assert torch.equal(digits("all", size=8).images, x)


def test_digits_split_is_deterministic():
    a, b = digits("test"), digits("test")
    assert torch.equal(a.images, b.images) and torch.equal(a.targets, b.targets)
    again = split_indices(torch.from_numpy(_raw()[1].copy()), (0.7, 0.1, 0.2), seed=0)
    assert torch.equal(again[2], digits_split_indices()["test"])


def test_split_indices_partition_and_seed():
    targets = torch.randint(0, 4, (103,), generator=torch.Generator().manual_seed(0))
    parts = split_indices(targets, (0.5, 0.25, 0.25), seed=3)
    joined = torch.cat(parts)
    assert torch.equal(joined.sort().values, torch.arange(103))
    assert all(torch.equal(p, p.sort().values) for p in parts)
    other = split_indices(targets, (0.5, 0.25, 0.25), seed=4)
    assert not torch.equal(parts[0], other[0])
    assert [p.numel() for p in split_indices(torch.zeros(0, dtype=torch.int64), (0.5, 0.5))] == [
        0,
        0,
    ]


@pytest.mark.parametrize("bad", [(0.5, 0.6), (1.5, -0.5), ()])
def test_split_indices_refuses_bad_fractions(bad):
    with pytest.raises(ValueError, match="fractions"):
        split_indices(torch.zeros(4, dtype=torch.int64), bad)


def test_split_indices_refuses_float_targets():
    with pytest.raises(TypeError, match="targets"):
        split_indices(torch.zeros(4), (1.0,))


def test_tensor_dataset_checks_and_uint8_scaling():
    ds = TensorDataset(
        torch.full((2, 3, 2, 2), 51, dtype=torch.uint8), torch.tensor([1, 0]), ["a", "b"]
    )
    assert torch.allclose(ds[0][0], torch.full((3, 2, 2), 0.2))
    assert ds[-1][1] == 0
    with pytest.raises(IndexError, match="index"):
        ds[2]
    with pytest.raises(ValueError, match="targets"):
        TensorDataset(torch.rand(2, 1, 2, 2), torch.tensor([0, 2]), ["a", "b"])
    with pytest.raises(ValueError, match="targets"):
        TensorDataset(torch.rand(2, 1, 2, 2), torch.tensor([0]), ["a"])
    with pytest.raises(ValueError, match="images"):
        TensorDataset(torch.rand(2, 2, 2), torch.tensor([0, 0]), ["a"])
    with pytest.raises(TypeError, match="images"):
        TensorDataset(torch.zeros(1, 1, 2, 2, dtype=torch.int32), torch.tensor([0]), ["a"])


def test_subset_keeps_classes_targets_and_applies_transform():
    ds = TensorDataset(torch.rand(6, 1, 3, 3), torch.tensor([0, 1, 2, 0, 1, 2]), ["a", "b", "c"])
    sub = DatasetSubset(ds, [5, 0], transform=lambda t: t * 2)
    assert sub.targets.tolist() == [2, 0] and sub.classes == ds.classes and sub.num_classes == 3
    assert torch.equal(sub[0][0], ds[5][0] * 2)
    with pytest.raises(ValueError, match="indices"):
        DatasetSubset(ds, [6])
    parts = stratified_split(ds, (0.5, 0.5), seed=0)
    assert sorted(torch.cat([p.indices for p in parts]).tolist()) == list(range(6))


def test_transform_is_applied_and_the_stored_images_are_not_modified():
    ds = digits("val", transform=lambda t: t.mul_(0))
    before = ds.images.clone()
    image, _ = ds[0]
    assert float(image.abs().sum()) == 0.0
    assert torch.equal(ds.images, before)


def test_dataloader_batches_digits():
    loader = torch.utils.data.DataLoader(digits("val"), batch_size=16)
    x, y = next(iter(loader))
    assert x.shape == (16, 1, 32, 32) and y.dtype == torch.int64


def test_unknown_spec_lists_the_valid_ones():
    with pytest.raises(ValueError, match="data must be one of") as info:
        load_dataset("imagenet-21k")
    for spec in DATASET_SPECS:
        assert spec in str(info.value)
    with pytest.raises(ValueError, match="split"):
        load_dataset("digits", "holdout")
    with pytest.raises(TypeError, match="data"):
        load_dataset(3)


def test_builtin_specs_resolve():
    assert load_dataset("textures", "val").classes == ["brick", "grass", "gravel"]
    assert load_dataset("faces", "test").num_classes == 2
    assert load_dataset("DIGITS", "val").num_classes == 10
