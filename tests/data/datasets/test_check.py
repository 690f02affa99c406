import pickle

import numpy as np
import torch

from pixlearn.data.datasets import check_dataset
from pixlearn.io import write_image


def _png(path, seed, shape=(3, 6, 6)):
    path.parent.mkdir(parents=True, exist_ok=True)
    write_image(path, torch.rand(*shape, generator=torch.Generator().manual_seed(seed)))


def test_clean_builtin_set_counts_and_mosaic(tmp_path):
    report = check_dataset("textures", out=tmp_path)
    assert report.ok, report.problems
    assert report.counts == {"train": [179] * 3, "val": [26] * 3, "test": [51] * 3}
    assert report.shapes == {(1, 32, 32): 768}
    assert report.mosaic == tmp_path / "mosaic.png"
    assert report.mosaic.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"


def test_problems_in_a_folder_are_all_found(tmp_path):
    root = tmp_path / "data"
    for split, seeds in (("train", (1, 2, 3)), ("test", (3, 4))):  # seed 3 leaks into test
        for s in seeds:
            _png(root / split / "cat" / f"{s}.png", s)
    _png(root / "train" / "dog" / "odd.png", 9, shape=(3, 8, 6))  # a different size
    (root / "train" / "bird").mkdir()  # an empty class
    bad = root / "test" / "cat" / "broken.png"
    bad.write_bytes(b"\x89PNG\r\n\x1a\n garbage")
    report = check_dataset(f"folder:{root}", out=tmp_path / "out")
    text = "\n".join(report.problems)
    assert not report.ok
    assert "broken.png" in text and "unreadable" in text
    assert "identical image in train and test" in text and "3.png" in text
    assert "empty classes" in text and "bird" in text
    assert "sizes/channels differ" in text and "odd.png" in text
    assert report.counts["train"] == [0, 3, 1] and report.counts["test"] == [0, 3, 0]
    assert "val" not in report.counts  # absent split skipped
    assert (tmp_path / "out" / "mosaic.png").is_file()


def test_mnist_like_set_without_val_and_no_mosaic(tmp_path):
    folder = tmp_path / "cifar-10-batches-py"
    folder.mkdir()
    rows = np.zeros((2, 3072), np.uint8)
    rows[1] = 7
    for name in [f"data_batch_{k}" for k in range(1, 6)] + ["test_batch"]:
        (folder / name).write_bytes(pickle.dumps({b"data": rows, b"labels": [0, 1]}))
    report = check_dataset(f"cifar10:{tmp_path}")
    assert set(report.counts) == {"train", "test"} and report.mosaic is None
    assert any("identical image in train and test" in p for p in report.problems)
