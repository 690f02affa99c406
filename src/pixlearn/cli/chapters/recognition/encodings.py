"""Step of the "Classical recognition" demo: bag of visual words vs Fisher vectors + linear SVM."""

from __future__ import annotations

import time

import torch
from sklearn.svm import LinearSVC
from torch import Tensor

import pixlearn.cli.chapters.recognition.hog_view  # noqa: F401  (its step comes first)
from pixlearn.cli.chapters.base import DemoSettings
from pixlearn.cli.chapters.recognition.chapter import RECOGNITION
from pixlearn.data import load_dataset
from pixlearn.features import BagOfVisualWords, FisherVector
from pixlearn.viz.report import Section

__all__ = ["svm_accuracy"]

PCA_DIM = 32  # descriptors are projected to 32-D before the diagonal GMM of the Fisher vectors
SVM_C = (0.1, 1.0, 10.0)
MAX_DESCRIPTORS = 10_000  # a random subset of the training descriptors builds the vocabulary


Split = tuple[Tensor, Tensor]  # images (N, 1, H, W) and int64 labels (N,)


def svm_accuracy(
    encoder: BagOfVisualWords | FisherVector, train: Split, val: Split, test: Split
) -> tuple[float, float]:
    """Fit ``encoder`` on the training images, then a linear SVM on its codes.

    The SVM's C is the best of :data:`SVM_C` on ``val``. Returns the test accuracy and the
    seconds spent encoding (fit + transform of the three splits).
    """
    t0 = time.perf_counter()
    ftr = encoder.fit_transform(train[0]).numpy()
    fva, fte = encoder.transform(val[0]).numpy(), encoder.transform(test[0]).numpy()
    seconds = time.perf_counter() - t0
    ytr, yva, yte = train[1].numpy(), val[1].numpy(), test[1].numpy()

    def fit(c: float) -> LinearSVC:  # the generic classifier step, not the method shown
        return LinearSVC(C=c, dual="auto", max_iter=5000).fit(ftr, ytr)

    best = max(SVM_C, key=lambda c: fit(c).score(fva, yva))
    return float(fit(best).score(fte, yte)), seconds


def _split(name: str, split: str, n: int, gen: torch.Generator) -> Split:
    """Images and labels of a built-in split, a random ``n``-image subset if it is larger."""
    ds = load_dataset(name, split)
    images, targets = ds.images, ds.targets  # (N, 1, 32, 32), (N,)
    if n < len(targets):
        keep = torch.randperm(len(targets), generator=gen)[:n].sort().values
        images, targets = images[keep], targets[keep]
    return images, targets


@RECOGNITION.step("bag of visual words vs Fisher vectors")
def _encodings(sec: Section, cfg: DemoSettings) -> None:
    gen = cfg.generator()
    datasets = ("textures",) if cfg.quick else ("textures", "digits")
    sizes = (16,) if cfg.quick else (16, 32)
    n_train = 300 if cfg.quick else 10**9
    rows = []
    for name in datasets:
        train = _split(name, "train", n_train, gen)
        val, test = _split(name, "val", 10**9, gen), _split(name, "test", 10**9, gen)
        for k in sizes:
            seed = int(torch.randint(2**31 - 1, (1,), generator=gen))
            bovw = BagOfVisualWords(
                k, max_descriptors=MAX_DESCRIPTORS, generator=torch.Generator().manual_seed(seed)
            )
            fisher = FisherVector(k, pca_dim=PCA_DIM, max_descriptors=MAX_DESCRIPTORS,
                                  generator=torch.Generator().manual_seed(seed))  # fmt: skip
            acc_b, t_b = svm_accuracy(bovw, train, val, test)
            acc_f, t_f = svm_accuracy(fisher, train, val, test)
            rows.append([name, len(train[1]), k, k, round(acc_b, 3), 2 * k * PCA_DIM,
                         round(acc_f, 3), round(t_b, 1), round(t_f, 1)])  # fmt: skip
            sec.metric(f"{name}, K = {k}: Fisher >= BoVW test accuracy",
                       f"{acc_f:.3f} vs {acc_b:.3f}", expected="Fisher >= BoVW",
                       ok=acc_f >= acc_b)  # fmt: skip
    header = ["data", "train images", "K", "BoVW dim", "BoVW acc", "Fisher dim", "Fisher acc",
              "BoVW s", "Fisher s"]  # fmt: skip
    sec.table(header, rows, caption="Test accuracy of a linear SVM (C chosen on the validation "
              "split) on dense SIFT-like descriptors (8x8 patches every 4 px) encoded at equal "
              "vocabulary size K: a k-means word histogram (BoVW) or the Fisher vector of a "
              "K-Gaussian diagonal GMM (gradients w.r.t. means and variances, power and L2 "
              "normalised); a random 10 000 of the training descriptors build the vocabulary. "
              "Fisher vectors keep how descriptors differ from their words, not "
              "only which word they fall in.")  # fmt: skip
