"""Compression benchmark: JPEG encode+decode 2048x2048 (gray, RGB) against Pillow (libjpeg, C)
in one process, and Huffman / LZW throughput in MB/s. Run: ``python benchmarks/compression.py``."""

from __future__ import annotations

import io

import numpy as np
import torch
import torch.nn.functional as F
from PIL import Image

from common import markdown_table, median_time
from pixlearn.compression import (
    huffman_decode,
    huffman_encode,
    jpeg_decode,
    jpeg_encode,
    lzw_decode,
    lzw_encode,
)
from pixlearn.data import sample
from pixlearn.metrics import psnr


def _pillow_round_trip(array: np.ndarray, quality: int) -> tuple[np.ndarray, int]:
    buf = io.BytesIO()
    Image.fromarray(array).save(buf, "JPEG", quality=quality)
    return np.asarray(Image.open(io.BytesIO(buf.getvalue()))), len(buf.getvalue())


def main() -> None:
    rows = []
    for name in ("camera", "astronaut"):
        img = F.interpolate(sample(name)[None], size=(2048, 2048), mode="bilinear")[0].clamp(0, 1)
        img = torch.round(img * 255) / 255
        arr = (img * 255).round().byte().permute(1, 2, 0).numpy().squeeze()
        ours = jpeg_decode(jpeg_encode(img, 75))
        pil, _nbytes = _pillow_round_trip(arr, 75)
        pil_t = torch.from_numpy(pil.astype(np.float32) / 255)
        pil_t = pil_t[None] if pil_t.dim() == 2 else pil_t.permute(2, 0, 1)
        # outputs agree: same quality, PSNR within 0.5 dB of Pillow's
        assert abs(float(psnr(ours, img)) - float(psnr(pil_t, img))) < 0.5
        t_ours = median_time(lambda img=img: jpeg_decode(jpeg_encode(img, 75)), warmup=1, repeats=3)
        t_pil = median_time(lambda arr=arr: _pillow_round_trip(arr, 75), warmup=1, repeats=3)
        kind = "gray" if img.shape[0] == 1 else "RGB"
        rows.append(
            [f"JPEG q75 enc+dec 2048x2048 {kind}", f"{t_ours * 1e3:.0f} ms",
             f"Pillow {t_pil * 1e3:.0f} ms", f"{t_pil / t_ours:.2f}"]
        )  # fmt: skip
    data = (sample("camera") * 255).round().byte().numpy().tobytes() * 4  # 1 MiB of pixels
    mb = len(data) / 1e6
    for label, enc, dec in (
        ("Huffman", huffman_encode, huffman_decode),
        ("LZW", lzw_encode, lzw_decode),
    ):
        s = enc(data)
        assert dec(s) == data
        te = median_time(lambda enc=enc: enc(data), warmup=1, repeats=3)
        td = median_time(lambda dec=dec, s=s: dec(s), warmup=1, repeats=3)
        rows.append([f"{label} encode 1 MiB camera bytes", f"{mb / te:.1f} MB/s", "-", "-"])
        rows.append([f"{label} decode 1 MiB camera bytes", f"{mb / td:.1f} MB/s", "-", "-"])
    print(markdown_table(["case", "pixlearn", "peer", "peer/pixlearn"], rows))


if __name__ == "__main__":
    main()
