import numpy as np
import pytest
import torch
from skimage.restoration import denoise_wavelet

from pixlearn.data.samples import sample
from pixlearn.wavelets.denoise import estimate_sigma_mad, wavelet_denoise


@pytest.mark.parametrize("wavelet", ["db1", "db2", "sym4"])
@pytest.mark.parametrize("mode", ["soft", "hard"])
@pytest.mark.parametrize("method", ["BayesShrink", "VisuShrink"])
@pytest.mark.parametrize("sigma", [None, 0.1])
def test_matches_skimage_on_camera(wavelet, mode, method, sigma):
    img = sample("camera", dtype=torch.float64).squeeze()[::2, ::2]
    noisy = img + 0.1 * torch.randn(
        img.shape, generator=torch.Generator().manual_seed(0), dtype=torch.float64
    )
    kw = dict(wavelet=wavelet, mode=mode, method=method, sigma=sigma)
    ref = denoise_wavelet(noisy.numpy(), rescale_sigma=False, **kw)
    np.testing.assert_allclose(wavelet_denoise(noisy, **kw).numpy(), ref, atol=1e-10)
    out32 = wavelet_denoise(noisy.float(), **kw).numpy()
    np.testing.assert_allclose(out32, ref, atol=1e-5)  # measured 1.3e-6


def test_batched_per_channel_and_denoises():
    g = torch.Generator().manual_seed(3)
    clean = torch.zeros(2, 3, 64, 64, dtype=torch.float64)
    clean[..., 16:48, 16:48] = 1.0
    noisy = clean + 0.1 * torch.randn(clean.shape, generator=g, dtype=torch.float64)
    out = wavelet_denoise(noisy, wavelet="db2")
    torch.testing.assert_close(out[1, 2], wavelet_denoise(noisy[1, 2], wavelet="db2"))
    assert (out - clean).pow(2).mean() < 0.5 * (noisy - clean).pow(2).mean()


def test_mad_sigma_estimate_on_pure_noise():
    g = torch.Generator().manual_seed(0)
    d = 0.3 * torch.randn(256, 256, generator=g, dtype=torch.float64)
    assert float(estimate_sigma_mad(d)) == pytest.approx(0.3, rel=0.02)


def test_errors():
    with pytest.raises(ValueError, match="mode"):
        wavelet_denoise(torch.rand(32, 32), mode="garrote")
    with pytest.raises(ValueError, match="method"):
        wavelet_denoise(torch.rand(32, 32), method="SURE")
    with pytest.raises(ValueError, match="image must be finite"):
        wavelet_denoise(torch.full((32, 32), float("nan")))
    with pytest.raises(ValueError, match="wavelet must be one of"):
        wavelet_denoise(torch.rand(32, 32), wavelet="db99")
