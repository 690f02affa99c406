import gzip

import numpy as np
import pytest
import torch

from pixlearn.data.datasets import MNIST, FashionMNIST, load_dataset, read_idx


def _data(n=5, seed=0):
    rng = np.random.default_rng(seed)
    return rng.integers(0, 256, (n, 28, 28), dtype=np.uint8), rng.integers(0, 10, n).astype(
        np.uint8
    )


@pytest.mark.parametrize("gz", [False, True])
def test_mnist_reads_raw_and_gzip_files(tmp_path, writers, gz):
    images, labels = _data()
    writers.write_mnist(tmp_path, "train", images, labels, gz=gz)
    ds = MNIST(tmp_path, "train")
    assert len(ds) == 5 and ds.classes == [str(d) for d in range(10)]
    for i in range(5):
        x, y = ds[i]
        assert x.shape == (1, 28, 28) and x.dtype == torch.float32
        torch.testing.assert_close(x[0], torch.from_numpy(images[i]).float() / 255.0)
        assert y == int(labels[i])
    assert ds.targets.dtype == torch.int64


def test_files_under_raw_and_the_spec(tmp_path, writers):
    (tmp_path / "raw").mkdir()
    images, labels = _data(3)
    writers.write_mnist(tmp_path / "raw", "test", images, labels, gz=True)
    ds = load_dataset(f"mnist:{tmp_path}", "test")
    assert len(ds) == 3
    fashion = load_dataset(f"fashion-mnist:{tmp_path}", "test")
    assert fashion.classes[0] == "T-shirt/top" and fashion.classes[-1] == "Ankle boot"
    assert isinstance(fashion, FashionMNIST)


def test_read_idx_magic_numbers_and_other_types(tmp_path):
    # int16, 2-D, big-endian: the reader returns native-order values
    a = np.arange(-3, 3, dtype=">i2").reshape(2, 3)
    f = tmp_path / "x-idx2-short"
    f.write_bytes(bytes([0, 0, 0x0B, 2, 0, 0, 0, 2, 0, 0, 0, 3]) + a.tobytes())
    out = read_idx(f)
    np.testing.assert_array_equal(out, a.astype(np.int16))
    assert out.dtype == np.int16 and out.dtype.isnative
    g = tmp_path / "y-idx1-float"
    g.write_bytes(bytes([0, 0, 0x0D, 1, 0, 0, 0, 2]) + np.array([0.5, -2.0], ">f4").tobytes())
    np.testing.assert_array_equal(read_idx(g), np.array([0.5, -2.0], np.float32))


def test_truncated_file_names_its_path(tmp_path, writers):
    images, _ = _data()
    data = writers.idx_bytes(images)
    f = tmp_path / "train-images-idx3-ubyte"
    f.write_bytes(data[:-10])
    with pytest.raises(ValueError, match=r"train-images-idx3-ubyte.*truncated"):
        read_idx(f)
    f.write_bytes(data + b"\x00")
    with pytest.raises(ValueError, match="train-images-idx3-ubyte"):
        read_idx(f)


def test_bad_magic_and_type_and_broken_gzip(tmp_path):
    f = tmp_path / "bad-idx"
    f.write_bytes(b"\x01\x02\x08\x01\x00\x00\x00\x01\x05")
    with pytest.raises(ValueError, match=r"bad-idx.*not an IDX file"):
        read_idx(f)
    f.write_bytes(bytes([0, 0, 0x07, 1, 0, 0, 0, 1, 5]))
    with pytest.raises(ValueError, match=r"bad-idx.*element type 0x07"):
        read_idx(f)
    f.write_bytes(gzip.compress(b"\x00" * 100)[:-12])
    with pytest.raises(ValueError, match="bad-idx"):
        read_idx(f)
    f.write_bytes(b"")
    with pytest.raises(ValueError, match="bad-idx"):
        read_idx(f)


def test_missing_files_name_where_they_were_looked_for(tmp_path, writers):
    with pytest.raises(FileNotFoundError, match=r"train-images-idx3-ubyte.*download=True"):
        MNIST(tmp_path, "train")
    with pytest.raises(FileNotFoundError, match="missing-idx"):
        read_idx(tmp_path / "missing-idx")


def test_mismatched_counts_and_labels_out_of_range(tmp_path, writers):
    images, labels = _data(4)
    writers.write_mnist(tmp_path, "train", images, labels[:3], gz=False)
    with pytest.raises(ValueError, match="train-labels-idx1-ubyte"):
        MNIST(tmp_path, "train")
    writers.write_mnist(tmp_path, "train", images, np.array([0, 1, 2, 10], np.uint8), gz=False)
    with pytest.raises(ValueError, match="labels outside"):
        MNIST(tmp_path, "train")


def test_mnist_has_no_val_split(tmp_path):
    with pytest.raises(ValueError, match="split"):
        MNIST(tmp_path, "val")


def test_download_from_a_local_mirror(tmp_path, writers, monkeypatch):
    import hashlib

    mirror = tmp_path / "mirror"
    mirror.mkdir()
    images, labels = _data(2)
    writers.write_mnist(mirror, "train", images, labels, gz=True)
    writers.write_mnist(mirror, "test", images, labels, gz=True)
    files = {p.name: hashlib.md5(p.read_bytes()).hexdigest() for p in mirror.iterdir()}
    monkeypatch.setattr(MNIST, "MIRRORS", ("file:///nonexistent/", mirror.as_uri() + "/"))
    monkeypatch.setattr(MNIST, "FILES", files)
    root = tmp_path / "data"
    ds = MNIST(root, "test", download=True, progress=False)
    assert len(ds) == 2 and sorted(p.name for p in root.iterdir()) == sorted(files)
