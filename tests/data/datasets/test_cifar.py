import pickle

import numpy as np
import pytest
import torch

from pixlearn.data.datasets import CIFAR10, CIFAR100, load_dataset, read_cifar_batch


def _hwc(n, seed):
    return np.random.default_rng(seed).integers(0, 256, (n, 32, 32, 3), dtype=np.uint8)


def _cifar10(root, writers, n=3):
    folder = root / "cifar-10-batches-py"
    folder.mkdir(parents=True)
    batches = {}
    for i, name in enumerate([f"data_batch_{k}" for k in range(1, 6)] + ["test_batch"]):
        imgs = _hwc(n, i)
        labels = [(i + j) % 10 for j in range(n)]
        writers.write_cifar_batch(folder / name, imgs, labels)
        batches[name] = (imgs, labels)
    names = [f"c{k}".encode() for k in range(10)]
    (folder / "batches.meta").write_bytes(pickle.dumps({b"label_names": names}, protocol=2))
    return batches


def test_cifar10_reads_batches_in_order_with_pixels_as_rgb_planes(tmp_path, writers):
    batches = _cifar10(tmp_path, writers)
    ds = CIFAR10(tmp_path, "train")
    assert len(ds) == 15 and ds.classes == [f"c{k}" for k in range(10)]
    imgs, labels = batches["data_batch_2"]
    x, y = ds[3 + 1]  # second image of the second batch
    # the HWC image the test started from, as (C, H, W) in [0, 1]
    torch.testing.assert_close(x, torch.from_numpy(imgs[1]).permute(2, 0, 1).float() / 255)
    assert y == labels[1]
    test = load_dataset(f"cifar10:{tmp_path}", "test")
    assert len(test) == 3 and test.targets.tolist() == batches["test_batch"][1]


def test_cifar10_root_may_be_the_batch_folder_and_meta_is_optional(tmp_path, writers):
    _cifar10(tmp_path, writers)
    (tmp_path / "cifar-10-batches-py" / "batches.meta").unlink()
    ds = CIFAR10(tmp_path / "cifar-10-batches-py", "test")
    assert ds.classes[0] == "airplane" and ds.num_classes == 10


def test_cifar100_fine_and_coarse_labels(tmp_path, writers):
    folder = tmp_path / "cifar-100-python"
    folder.mkdir()
    for split in ("train", "test"):
        writers.write_cifar_batch(
            folder / split,
            _hwc(4, 0),
            [0, 99, 5, 42],
            key=b"fine_labels",
            extra={b"coarse_labels": [0, 19, 3, 7]},
        )
    meta = {
        b"fine_label_names": [f"f{k}".encode() for k in range(100)],
        b"coarse_label_names": [f"g{k}".encode() for k in range(20)],
    }
    (folder / "meta").write_bytes(pickle.dumps(meta))
    fine = load_dataset(f"cifar100:{tmp_path}", "train")
    assert fine.num_classes == 100 and fine.targets.tolist() == [0, 99, 5, 42]
    assert fine.classes[99] == "f99"
    coarse = CIFAR100(tmp_path, "test", label="coarse")
    assert coarse.num_classes == 20 and coarse.targets.tolist() == [0, 19, 3, 7]


def test_corrupt_truncated_and_missing_batches_name_the_file(tmp_path, writers):
    f = tmp_path / "data_batch_1"
    writers.write_cifar_batch(f, _hwc(2, 0), [1, 2])
    f.write_bytes(f.read_bytes()[:500])
    with pytest.raises(ValueError, match="data_batch_1"):
        read_cifar_batch(f)
    f.write_bytes(b"not a pickle at all")
    with pytest.raises(ValueError, match="data_batch_1"):
        read_cifar_batch(f)
    with pytest.raises(FileNotFoundError, match="nope"):
        read_cifar_batch(tmp_path / "nope")
    with pytest.raises(FileNotFoundError, match="data_batch_1"):
        CIFAR10(tmp_path / "empty", "train")


def test_wrong_keys_shapes_and_counts(tmp_path, writers):
    f = tmp_path / "b"
    f.write_bytes(pickle.dumps({b"data": np.zeros((2, 3072), np.uint8)}))
    with pytest.raises(ValueError, match="labels"):
        read_cifar_batch(f)
    f.write_bytes(pickle.dumps({b"data": np.zeros((2, 100), np.uint8), b"labels": [0, 1]}))
    with pytest.raises(ValueError, match="3072"):
        read_cifar_batch(f)
    f.write_bytes(pickle.dumps({b"data": np.zeros((2, 3072), np.uint8), b"labels": [0]}))
    with pytest.raises(ValueError, match="2 images but 1 labels"):
        read_cifar_batch(f)


def test_a_pickle_that_would_run_code_is_refused(tmp_path):
    class Evil:
        def __reduce__(self):
            return (print, ("owned",))

    f = tmp_path / "test_batch"
    f.write_bytes(pickle.dumps({b"data": Evil(), b"labels": []}))
    with pytest.raises(ValueError, match=r"test_batch.*refusing"):
        read_cifar_batch(f)


def test_download_and_extract_from_a_local_archive(tmp_path, writers, monkeypatch):
    import hashlib
    import tarfile

    src = tmp_path / "src"
    _cifar10(src, writers, n=2)
    archive = tmp_path / "cifar-10-python.tar.gz"
    with tarfile.open(archive, "w:gz") as tar:
        tar.add(src / "cifar-10-batches-py", arcname="cifar-10-batches-py")
    monkeypatch.setattr(CIFAR10, "URL", archive.as_uri())
    monkeypatch.setattr(CIFAR10, "MD5", hashlib.md5(archive.read_bytes()).hexdigest())
    ds = CIFAR10(tmp_path / "root", "test", download=True, progress=False)
    assert len(ds) == 2
