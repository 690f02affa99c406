import math

import numpy as np
import pytest
import torch

from pixlearn.data import load_dataset
from pixlearn.features import BagOfVisualWords, FisherVector, fisher_vector
from pixlearn.features._clustering import NotFittedError, diag_gmm


def _gen(seed=0):
    return torch.Generator().manual_seed(seed)


def _gmm(K, D, seed):
    g = _gen(seed)
    w = torch.rand(K, generator=g, dtype=torch.float64) + 0.1
    return (
        w / w.sum(),
        torch.randn(K, D, generator=g, dtype=torch.float64),
        torch.rand(K, D, generator=g, dtype=torch.float64) + 0.2,
    )


def _slow_fisher(x, w, mu, var, power_norm, l2_norm):
    """Perronnin et al. 2010, eqs. 7-8, one descriptor and one Gaussian at a time."""
    x, w, mu, var = (t.numpy() for t in (x, w, mu, var))
    T, D = x.shape
    K = len(w)
    g_mu, g_sig = np.zeros((K, D)), np.zeros((K, D))
    for t in range(T):
        dens = np.array(
            [
                w[k]
                * np.prod(
                    np.exp(-((x[t] - mu[k]) ** 2) / (2 * var[k])) / np.sqrt(2 * np.pi * var[k])
                )
                for k in range(K)
            ]
        )
        gamma = dens / dens.sum()
        for k in range(K):
            u = (x[t] - mu[k]) / np.sqrt(var[k])
            g_mu[k] += gamma[k] * u / (T * math.sqrt(w[k]))
            g_sig[k] += gamma[k] * (u**2 - 1) / (T * math.sqrt(2 * w[k]))
    fv = np.concatenate([g_mu.ravel(), g_sig.ravel()])
    if power_norm:
        fv = np.sign(fv) * np.sqrt(np.abs(fv))
    if l2_norm:
        fv = fv / np.linalg.norm(fv)
    return torch.from_numpy(fv)


@pytest.mark.parametrize(("power_norm", "l2_norm"), [(False, False), (True, True), (True, False)])
def test_fisher_vector_equals_slow_loop_from_the_paper(power_norm, l2_norm):
    w, mu, var = _gmm(3, 4, 0)
    x = torch.randn(2, 25, 4, generator=_gen(1), dtype=torch.float64)
    got = fisher_vector(x, w, mu, var, power_norm=power_norm, l2_norm=l2_norm)
    assert got.shape == (2, 2 * 3 * 4)
    for b in range(2):
        ref = _slow_fisher(x[b], w, mu, var, power_norm, l2_norm)
        torch.testing.assert_close(got[b], ref, atol=1e-8, rtol=0)


def test_fisher_vector_properties():
    w, mu, var = _gmm(4, 3, 2)
    x = torch.randn(40, 3, generator=_gen(3), dtype=torch.float64)
    fv = fisher_vector(x, w, mu, var)
    assert fv.norm().item() == pytest.approx(1.0, abs=1e-12)
    # the order of the descriptors does not matter (an orderless "bag")
    torch.testing.assert_close(fisher_vector(x.flip(0), w, mu, var), fv, atol=1e-12, rtol=0)
    # the unnormalised FV of a sample of the model itself averages to ~0 (the score has mean 0)
    g = _gen(4)
    k = torch.multinomial(w, 20000, replacement=True, generator=g)
    y = mu[k] + var[k].sqrt() * torch.randn(20000, 3, generator=g, dtype=torch.float64)
    raw = fisher_vector(y, w, mu, var, power_norm=False, l2_norm=False)
    assert raw.abs().max().item() < 0.05
    # float32 close to float64
    f32 = fisher_vector(x.float(), w.float(), mu.float(), var.float())
    torch.testing.assert_close(f32.double(), fv, atol=1e-5, rtol=0)


def test_fisher_vector_errors():
    w, mu, var = _gmm(2, 3, 5)
    with pytest.raises(ValueError, match="descriptors must have D = 3"):
        fisher_vector(torch.rand(4, 2, dtype=torch.float64), w, mu, var)
    with pytest.raises(ValueError, match="weights and variances must have shapes"):
        fisher_vector(torch.rand(4, 3, dtype=torch.float64), w[:1], mu, var)
    with pytest.raises(ValueError, match="variances must be > 0"):
        fisher_vector(torch.rand(4, 3, dtype=torch.float64), w, mu, -var)
    with pytest.raises(ValueError, match="descriptors must be finite"):
        fisher_vector(torch.full((4, 3), float("inf"), dtype=torch.float64), w, mu, var)


def test_diag_gmm_matches_sklearn_log_likelihood():
    from sklearn.mixture import GaussianMixture

    w, mu, var = _gmm(3, 2, 6)
    mu = mu * 4
    g = _gen(7)
    k = torch.multinomial(w, 1500, replacement=True, generator=g)
    x = mu[k] + var[k].sqrt() * torch.randn(1500, 2, generator=g, dtype=torch.float64)
    ww, mm, vv = diag_gmm(x, 3, generator=_gen(0))
    ours = float(
        torch.logsumexp(
            ww.log() - 0.5 * (((x[:, None] - mm) ** 2 / vv) + (2 * math.pi * vv).log()).sum(-1), 1
        ).mean()
    )
    ref = GaussianMixture(3, covariance_type="diag", random_state=0).fit(x.numpy()).score(x.numpy())
    assert ours == pytest.approx(ref, abs=5e-3)
    torch.testing.assert_close(ww.sum(), torch.tensor(1.0, dtype=torch.float64))


def test_fisher_encoder_shapes_pca_and_different_sizes():
    g = _gen(8)
    images = torch.rand(8, 1, 20, 20, generator=g)
    fv = FisherVector(3, pca_dim=10, generator=_gen(0)).fit(images)
    out = fv.transform(images)
    assert out.shape == (8, 2 * 3 * 10) == (8, fv.dim) and out.dtype == torch.float32
    torch.testing.assert_close(out.norm(dim=1), torch.ones(8))
    assert fv.pca_components_.shape == (10, 128)
    assert fv.transform(torch.rand(0, 1, 20, 20)).shape == (0, 60)
    mixed = [images[0], torch.rand(1, 28, 24, generator=g)]
    both = fv.transform(mixed)
    torch.testing.assert_close(both[0], out[0])
    assert torch.equal(
        FisherVector(3, pca_dim=10, generator=_gen(0)).fit(images).transform(images), out
    )


def test_fisher_encoder_errors():
    with pytest.raises(NotFittedError, match="FisherVector is not fitted"):
        FisherVector(2).transform(torch.rand(1, 1, 16, 16))
    with pytest.raises(ValueError, match="images must hold at least one image"):
        FisherVector(2).fit(torch.rand(0, 1, 16, 16))
    with pytest.raises(ValueError, match="pca_dim must be <="):
        FisherVector(2, pca_dim=200).fit(torch.rand(30, 1, 16, 16))
    with pytest.raises(ValueError, match="n_components must be <="):
        FisherVector(20).fit(torch.rand(1, 1, 16, 16))
    with pytest.raises(ValueError, match="images must be at least patch"):
        FisherVector(2).fit([torch.rand(1, 4, 4)])
    with pytest.raises(ValueError, match="n_components"):
        FisherVector(0)


# Fisher vectors vs bag of words with a linear SVM at equal vocabulary size K (the syllabus claim).
# Measured with these seeds and settings (K = 16, half the training split, C = 10):
# textures BoVW 0.771, Fisher 0.967; digits BoVW 0.733, Fisher 0.978.
ACCURACY = {"textures": (0.75, 0.95), "digits": (0.70, 0.95)}  # (BoVW >=, Fisher >=)


@pytest.mark.parametrize("name", ["textures", "digits"])
def test_fisher_beats_bag_of_words_at_equal_vocabulary_size(name):
    from sklearn.svm import LinearSVC

    train, test = load_dataset(name, "train"), load_dataset(name, "test")
    xtr, ytr = train.images[::2], train.targets[::2].numpy()  # half the training set: fast
    opts = {"max_descriptors": 6000, "max_iter": 20, "generator": _gen(0)}
    K = 16
    acc = {}
    for enc in (BagOfVisualWords(K, **opts), FisherVector(K, pca_dim=32, **opts)):
        ftr = enc.fit_transform(xtr).numpy()
        fte = enc.transform(test.images).numpy()
        svm = LinearSVC(C=10.0).fit(ftr, ytr)
        acc[type(enc).__name__] = svm.score(fte, test.targets.numpy())
    bovw, fisher = acc["BagOfVisualWords"], acc["FisherVector"]
    assert bovw >= ACCURACY[name][0] and fisher >= ACCURACY[name][1], acc
    assert fisher >= bovw, acc
