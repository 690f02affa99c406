import hashlib

import numpy as np
import pytest
import skimage.data
import torch

from pixlearn.data.datasets import faces, load_dataset, textures


def _hashes(ds):
    return {hashlib.sha1(x.numpy().tobytes()).hexdigest() for x in ds.images}


def test_textures_are_tiles_of_the_skimage_photographs():
    ds = textures("all")
    assert ds.classes == ["brick", "grass", "gravel"] and len(ds) == 3 * 256
    brick = skimage.data.brick().astype(np.float32) / 255.0
    # tile (row 2, col 5) of brick is item 2 * 16 + 5
    ref = torch.from_numpy(brick[64:96, 160:192])
    torch.testing.assert_close(ds.images[2 * 16 + 5, 0], ref, atol=1e-6, rtol=0)
    gravel = skimage.data.gravel().astype(np.float32) / 255.0
    torch.testing.assert_close(
        ds.images[-1, 0], torch.from_numpy(gravel[-32:, -32:]), atol=1e-6, rtol=0
    )
    assert textures("all", patch_size=64).images.shape == (3 * 64, 1, 64, 64)


def test_texture_and_face_splits_are_fixed_disjoint_and_balanced():
    for make, sizes in ((textures, (537, 78, 153)), (faces, (140, 20, 40))):
        parts = [make(s) for s in ("train", "val", "test")]
        assert tuple(len(p) for p in parts) == sizes
        h = [_hashes(p) for p in parts]
        assert not (h[0] & h[1]) and not (h[0] & h[2]) and not (h[1] & h[2])
        counts = parts[2].targets.bincount()
        assert int(counts.max() - counts.min()) <= 1
        assert torch.equal(make("test").images, parts[2].images)


def test_faces_are_the_lfw_subset_with_faces_first():
    ref = skimage.data.lfw_subset()
    ds = faces("all")
    assert ds.classes == ["non_face", "face"] and ds.images.shape == (200, 1, 25, 25)
    torch.testing.assert_close(ds.images[:, 0], torch.from_numpy(ref).float(), atol=1e-7, rtol=0)
    assert ds.targets[:100].eq(1).all() and ds.targets[100:].eq(0).all()


@pytest.mark.parametrize("bad", [4, 300])
def test_texture_patch_size_is_checked(bad):
    with pytest.raises(ValueError, match="patch_size"):
        textures(patch_size=bad)


def test_split_names_are_checked():
    with pytest.raises(ValueError, match="split"):
        faces("training")


def test_builtin_sets_are_reachable_from_pixlearn_data():
    import pixlearn.data as data

    for name in ("digits", "faces", "textures"):
        ds = getattr(data, name)("val")
        ref = load_dataset(name, "val")
        assert torch.equal(ds.images, ref.images) and torch.equal(ds.targets, ref.targets)
