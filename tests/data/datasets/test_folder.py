import pytest
import torch

from pixlearn.data.datasets import ImageFolder, folder_split, load_dataset
from pixlearn.io import write_image


def _make(root, per_class=(3, 2), size=(4, 5)):
    imgs = {}
    for k, n in enumerate(per_class):
        d = root / f"class{k}"
        d.mkdir(parents=True, exist_ok=True)
        for i in range(n):
            img = torch.rand(3, *size, generator=torch.Generator().manual_seed(10 * k + i))
            write_image(d / f"{i}.png", img)
            imgs[d / f"{i}.png"] = img
    return imgs


def test_image_folder_labels_paths_and_pixels(tmp_path):
    imgs = _make(tmp_path)
    (tmp_path / "class1" / "notes.txt").write_text("ignored")
    (tmp_path / "class1" / ".hidden.png").write_bytes(b"ignored")
    (tmp_path / "class0" / "nested").mkdir()
    write_image(tmp_path / "class0" / "nested" / "deep.JPG", torch.rand(3, 4, 5))
    ds = ImageFolder(tmp_path)
    assert ds.classes == ["class0", "class1"]
    assert ds.targets.tolist() == [0, 0, 0, 0, 1, 1]
    assert [p.name for p in ds.paths][:4] == ["0.png", "1.png", "2.png", "deep.JPG"]
    x, y = ds[4]
    assert y == 1 and x.dtype == torch.float32
    # 8-bit PNG round trip: within half a grey level
    torch.testing.assert_close(x, imgs[ds.paths[4]], atol=0.5 / 255 + 1e-6, rtol=0)


def test_gray_mode_and_empty_class_keeps_its_label(tmp_path):
    _make(tmp_path)
    ds = ImageFolder(tmp_path, mode="gray", classes=["class0", "missing", "class1"])
    assert ds[0][0].shape[0] == 1
    assert ds.num_classes == 3 and ds.targets.bincount(minlength=3).tolist() == [3, 0, 2]


def test_corrupt_png_raises_naming_its_path_when_accessed(tmp_path):
    _make(tmp_path)
    bad = tmp_path / "class1" / "1.png"
    bad.write_bytes(bad.read_bytes()[:40])  # truncated
    ds = ImageFolder(tmp_path)  # building the set reads nothing
    assert ds[0][1] == 0
    with pytest.raises(ValueError, match=r"class1.1\.png"):
        ds[len(ds) - 1]


def test_missing_or_empty_root(tmp_path):
    with pytest.raises(FileNotFoundError, match="nowhere"):
        ImageFolder(tmp_path / "nowhere")
    with pytest.raises(ValueError, match="no class sub-folders"):
        ImageFolder(tmp_path)
    with pytest.raises(ValueError, match="mode"):
        ImageFolder(tmp_path, mode="cmyk")


def test_split_folders_share_one_class_list(tmp_path):
    _make(tmp_path / "train", per_class=(2, 2))
    (tmp_path / "val" / "class1").mkdir(parents=True)
    write_image(tmp_path / "val" / "class1" / "v.png", torch.rand(3, 4, 5))
    val = load_dataset(f"folder:{tmp_path}", "val")
    assert val.classes == ["class0", "class1"] and val.targets.tolist() == [1]
    assert len(load_dataset(str(tmp_path), "train")) == 4  # a bare existing path is a folder spec
    with pytest.raises(FileNotFoundError, match="'test'"):
        load_dataset(f"folder:{tmp_path}", "test")


def test_seeded_split_is_deterministic_disjoint_and_stratified(tmp_path):
    _make(tmp_path, per_class=(10, 10), size=(2, 2))
    parts = {s: folder_split(tmp_path, s) for s in ("train", "val", "test")}
    assert [len(p) for p in parts.values()] == [14, 2, 4]
    names = [set(map(str, p.paths)) for p in parts.values()]
    assert not (names[0] & names[1]) and not (names[0] & names[2]) and not (names[1] & names[2])
    assert parts["test"].targets.bincount().tolist() == [2, 2]
    again = folder_split(tmp_path, "test")
    assert again.paths == parts["test"].paths
    other = folder_split(tmp_path, "test", seed=1)
    assert other.paths != parts["test"].paths


def test_split_fractions_must_name_three_parts(tmp_path):
    _make(tmp_path)
    with pytest.raises(ValueError, match="fractions"):
        folder_split(tmp_path, "train", fractions=(0.5, 0.5))
