import socket
from importlib import resources
from pathlib import Path

import numpy as np
import pytest
import skimage
import torch
from skimage import data as skdata

from pixlearn.data import list_samples, sample
from pixlearn.data import samples as samples_module

SKIMAGE_DIR = Path(skdata.__file__).parent

# the gray and colour samples, by channel count; logo keeps its alpha
CHANNELS = {name: 3 for name in list_samples()}
GRAY = ["brick", "camera", "cell", "checkerboard", "clock", "coins", "grass", "gravel"]
GRAY += ["horse", "microaneurysms", "moon", "page", "shepp_logan_phantom", "text"]
CHANNELS.update(dict.fromkeys(GRAY, 1))
CHANNELS["logo"] = 4


def _skimage_reference(name):
    """The same image from scikit-image's own loader, scaled as pixlearn promises."""
    if name.startswith("motorcycle"):
        left, right, _ = skdata.stereo_motorcycle()
        arr = left if name.endswith("left") else right
    else:
        arr = getattr(skdata, name)()
    arr = arr.astype(np.float64) if arr.dtype.kind in "bf" else arr / 255.0
    return torch.from_numpy(arr[None] if arr.ndim == 2 else np.moveaxis(arr, -1, 0))


def test_list_is_sorted_and_has_the_classics():
    names = list_samples()
    assert names == sorted(names) and len(names) == len(set(names)) == 25
    assert {"camera", "astronaut", "coins", "moon", "chelsea", "horse"} <= set(names)
    # the ones scikit-image downloads with pooch are not listed
    assert not {"eagle", "cells3d", "brain", "kidney", "lily", "skin"} & set(names)


@pytest.mark.parametrize("name", list_samples())
def test_every_sample_equals_scikit_image(name):
    img = sample(name)
    assert img.dtype == torch.float32 and img.shape[0] == CHANNELS[name] and img.is_contiguous()
    assert float(img.min()) >= 0.0 and float(img.max()) <= 1.0
    ref = _skimage_reference(name)  # float64
    # exact: both are x / 255 rounded once to float32 (the phantom passes through luma)
    assert torch.equal(img, ref.float())
    assert (sample(name, dtype=torch.float64) - ref).abs().max() <= 1e-15


def test_camera_is_exactly_uint8_over_255():
    cam = skdata.camera()
    assert torch.equal(sample("camera"), torch.from_numpy(cam / 255).float()[None])
    assert torch.equal(sample("camera", dtype=torch.float64), torch.from_numpy(cam / 255)[None])
    assert sample("camera", dtype=torch.float16).dtype == torch.float16


def test_horse_is_a_binary_mask():
    horse = sample("horse")
    assert set(horse.unique().tolist()) == {0.0, 1.0}


def test_every_sample_loads_without_network(monkeypatch):
    def refuse(*args, **kwargs):
        raise OSError("network is off in this test")

    monkeypatch.setattr(socket.socket, "connect", refuse)
    monkeypatch.setattr(socket, "create_connection", refuse)
    monkeypatch.setattr(socket, "getaddrinfo", refuse)
    samples_module._load.cache_clear()
    for name in list_samples():
        file = resources.files("skimage.data") / samples_module._SAMPLES[name][0]
        # the file ships inside the installed scikit-image, not in a download cache
        assert Path(str(file)).is_file() and Path(str(file)).parent == SKIMAGE_DIR
        assert sample(name).numel() > 0
    assert Path(skimage.__file__).parent in SKIMAGE_DIR.parents


def test_each_call_returns_a_fresh_tensor_from_the_cache():
    samples_module._load.cache_clear()
    a = sample("coins")
    a.zero_()
    b = sample("coins")
    assert float(b.max()) > 0
    assert samples_module._load.cache_info().hits >= 1
    c = sample("coins")
    assert c.data_ptr() != b.data_ptr() and torch.equal(b, c)


@pytest.mark.parametrize("bad, hint", [("camra", "camera"), ("Astronaut", "astronaut")])
def test_unknown_name_lists_valid_names_and_suggests(bad, hint):
    with pytest.raises(ValueError, match="name") as info:
        sample(bad)
    message = str(info.value)
    assert all(n in message for n in list_samples())
    assert f"Did you mean {hint!r}" in message


def test_unknown_name_without_a_close_match_and_bad_dtype():
    with pytest.raises(ValueError, match="camera") as info:
        sample("zzzzzzzz")
    assert "Did you mean" not in str(info.value)
    with pytest.raises(ValueError, match="name"):
        sample(3)
    with pytest.raises(TypeError, match="dtype"):
        sample("camera", dtype=torch.int64)
