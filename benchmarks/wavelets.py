"""Wavelets: pixlearn's wavedec2/waverec2 against PyWavelets, and scattering2d on a batch."""

from __future__ import annotations

import numpy as np
import pywt
import torch

from common import markdown_table, median_time
from pixlearn.wavelets import scattering2d, wavedec2, waverec2


def main() -> None:
    rng = np.random.default_rng(0)
    img = rng.random((2048, 2048), dtype=np.float32)
    x = torch.from_numpy(img)
    rows = []
    for name in ("db2", "db4"):
        ours = wavedec2(x, name, level=4)
        ref = pywt.wavedec2(img, name, level=4)
        assert np.allclose(ours[0].numpy(), ref[0], atol=1e-3)
        t_ours = median_time(lambda n=name: wavedec2(x, n, level=4), repeats=5)
        t_ref = median_time(lambda n=name: pywt.wavedec2(img, n, level=4), repeats=5)
        rows.append(
            [
                f"wavedec2 {name} L4 2048^2 f32",
                f"{t_ours * 1e3:.1f}",
                f"{t_ref * 1e3:.1f}",
                f"{t_ref / t_ours:.2f}",
            ]
        )
        assert np.allclose(waverec2(ours, name).numpy(), pywt.waverec2(ref, name), atol=1e-4)
        t_ours = median_time(lambda o=ours, n=name: waverec2(o, n), repeats=5)
        t_ref = median_time(lambda r=ref, n=name: pywt.waverec2(r, n), repeats=5)
        rows.append(
            [
                f"waverec2 {name} L4 2048^2 f32",
                f"{t_ours * 1e3:.1f}",
                f"{t_ref * 1e3:.1f}",
                f"{t_ref / t_ours:.2f}",
            ]
        )
    batch = torch.rand(8, 128, 128)
    t = median_time(lambda: scattering2d(batch, 3, 8), warmup=1, repeats=3)
    rows.append(["scattering2d J=3 L=8, 8x128^2 f32", f"{t * 1e3:.1f}", "-", "-"])
    print(markdown_table(["op", "pixlearn ms", "PyWavelets ms", "ratio peer/pixlearn"], rows))


if __name__ == "__main__":
    torch.set_num_threads(1)
    main()
