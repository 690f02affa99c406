import numpy as np
import pytest
import pywt
import torch

from pixlearn.wavelets import dwt, idwt, wavelet_filters, wavelist

ORDERS = [n[4:] for n in wavelist() if n.startswith("bior")]


def test_every_pywavelets_biorthogonal_family_member_is_listed():
    # the full bior and rbio families of PyWavelets: 15 orders each, bior5.5 included
    for family in ("bior", "rbio"):
        ours = [n for n in wavelist() if n.startswith(family)]
        assert ours == pywt.wavelist(family=family)
    assert len(ORDERS) == 15


@pytest.mark.parametrize("order", ORDERS)
def test_rbio_is_bior_with_analysis_and_synthesis_swapped(order):
    # checked on the filters themselves (independent of PyWavelets): rbio synthesises with
    # bior's analysis filter, whose decomposition form is its time reverse
    b, r = wavelet_filters(f"bior{order}"), wavelet_filters(f"rbio{order}")
    torch.testing.assert_close(r.rec_lo, b.dec_lo.flip(0), atol=1e-14, rtol=0)
    torch.testing.assert_close(r.dec_lo, b.rec_lo.flip(0), atol=1e-14, rtol=0)
    torch.testing.assert_close(r.rec_hi, b.dec_hi.flip(0), atol=1e-14, rtol=0)
    torch.testing.assert_close(r.dec_hi, b.rec_hi.flip(0), atol=1e-14, rtol=0)


@pytest.mark.parametrize("name", [f"{f}{o}" for f in ("bior", "rbio") for o in ORDERS])
def test_biorthogonality_of_the_low_pass_pair(name):
    # sum_n h[n] h~[n + 2k] = delta_k, with h = rec_lo and h~ = dec_lo reversed (the analysis
    # filter): the condition that makes the pair a perfect-reconstruction filter bank
    bank = wavelet_filters(name)
    h, ht = bank.rec_lo.numpy(), bank.dec_lo.numpy()[::-1]
    length = len(h)
    for k in range(-length // 2, length // 2 + 1):
        shifted = np.zeros(length)
        lo, hi = max(0, -2 * k), min(length, length - 2 * k)
        shifted[lo:hi] = ht[lo + 2 * k : hi + 2 * k]
        assert float(h @ shifted) == pytest.approx(1.0 if k == 0 else 0.0, abs=1e-12)


def _zeros_at_minus_one(f: np.ndarray) -> int:
    # the number of vanishing moments sum_n (-1)^n n^j f[n] = 0, j = 0, 1, ...
    n = np.arange(len(f), dtype=np.float64)
    scale = np.abs(f).sum()
    count = 0
    while (
        count < len(f) and abs(((-1.0) ** n * n**count * f).sum()) < 1e-9 * scale * len(f) ** count
    ):
        count += 1
    return count


@pytest.mark.parametrize(
    ("name", "rec_zeros", "dec_zeros", "rec_len", "dec_len"),
    [
        ("bior4.4", 4, 4, 7, 9),
        # bior5.5 is not named after its zeros: K = 5, split 6 / 4 with lengths 11 / 9
        ("bior5.5", 6, 4, 11, 9),
        ("rbio5.5", 4, 6, 9, 11),
        ("bior6.8", 6, 8, 11, 17),
        ("bior3.5", 3, 5, 4, 12),
    ],
)
def test_zeros_at_nyquist_and_lengths_of_the_cdf_construction(
    name, rec_zeros, dec_zeros, rec_len, dec_len
):
    bank = wavelet_filters(name)
    rec, dec = np.trim_zeros(bank.rec_lo.numpy()), np.trim_zeros(bank.dec_lo.numpy())
    assert (len(rec), len(dec)) == (rec_len, dec_len)
    assert _zeros_at_minus_one(rec) == rec_zeros
    assert _zeros_at_minus_one(dec) == dec_zeros
    # symmetric (linear phase) and normalised: H(1) = sqrt(2)
    np.testing.assert_allclose(rec, rec[::-1], atol=1e-14)
    assert float(rec.sum()) == pytest.approx(2**0.5, abs=1e-14)


@pytest.mark.parametrize("name", ["bior5.5", "rbio5.5", "rbio1.3", "rbio3.9", "rbio6.8"])
@pytest.mark.parametrize("mode", ["symmetric", "zero", "periodization"])
def test_new_members_reconstruct_and_equal_pywavelets_on_a_signal(name, mode):
    x = np.random.default_rng(3).random((3, 41))
    cA, cD = dwt(torch.tensor(x), name, mode=mode)
    rA, rD = pywt.dwt(x, name, mode=mode)
    np.testing.assert_allclose(cA.numpy(), rA, atol=1e-10)
    np.testing.assert_allclose(cD.numpy(), rD, atol=1e-10)
    y = idwt(cA, cD, name, mode=mode)[..., :41]
    np.testing.assert_allclose(y.numpy(), x, atol=1e-10)
