"""HOG on 2048x2048 and the Harris response against scikit-image (and OpenCV's HOGDescriptor)."""

from __future__ import annotations

import numpy as np
import torch
from skimage.feature import corner_harris
from skimage.feature import hog as sk_hog

from common import markdown_table, median_time
from pixlearn.features import harris_response, hog


def main() -> None:
    rng = np.random.default_rng(0)
    img = rng.random((2048, 2048))
    t = torch.from_numpy(img)
    rows = []
    # outputs agree before timing
    assert np.abs(hog(t, 9, 8, 3).numpy() - sk_hog(img, 9, (8, 8), (3, 3))).max() < 1e-6
    p = median_time(lambda: hog(t, 9, 8, 3), warmup=1, repeats=3)
    s = median_time(lambda: sk_hog(img, 9, (8, 8), (3, 3)), warmup=1, repeats=3)
    rows.append(
        ["hog 2048x2048, 8x8 cells, 3x3 blocks", f"{p * 1e3:.0f}", f"{s * 1e3:.0f}", f"{s / p:.2f}"]
    )
    try:
        import cv2

        u8 = (img * 255).astype(np.uint8)
        # OpenCV: one 2048x2048 window, 16x16 blocks of 2x2 cells, stride 8, 9 bins (with
        # bilinear vote interpolation and Gaussian block weights: comparable in work, not output)
        desc = cv2.HOGDescriptor((2048, 2048), (16, 16), (8, 8), (8, 8), 9)
        c = median_time(lambda: desc.compute(u8), warmup=1, repeats=3)
        p2 = median_time(lambda: hog(t, 9, 8, 2), warmup=1, repeats=3)
        rows.append(
            [
                "hog 2048x2048, 2x2 blocks vs cv2.HOGDescriptor",
                f"{p2 * 1e3:.0f}",
                f"{c * 1e3:.0f} (cv2)",
                f"{c / p2:.2f}",
            ]
        )
    except (ImportError, AttributeError):  # no OpenCV, or a build without objdetect
        pass
    small = img[:1024, :1024]
    ts = torch.from_numpy(small)
    assert np.abs(harris_response(ts).numpy() - corner_harris(small)).max() < 1e-10
    p = median_time(lambda: harris_response(ts), warmup=1, repeats=5)
    s = median_time(lambda: corner_harris(small), warmup=1, repeats=5)
    rows.append(["harris response 1024x1024", f"{p * 1e3:.0f}", f"{s * 1e3:.0f}", f"{s / p:.2f}"])
    print(markdown_table(["op", "pixlearn ms", "peer ms", "peer/pixlearn"], rows))


if __name__ == "__main__":
    main()
