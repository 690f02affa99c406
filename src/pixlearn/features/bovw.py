"""Bag of visual words: local descriptors quantised against a k-means vocabulary, an image
described by the normalised histogram of its words."""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence

import torch
from torch import Tensor

from pixlearn._core.check import (
    check_choice,
    check_image,
    check_int,
    check_positive,
    check_tensor,
    describe,
)
from pixlearn._core.errors import ShapeError, ValueRangeError
from pixlearn.features._clustering import NotFittedError, kmeans, sq_distances
from pixlearn.features.dense import _describe_images

__all__ = ["ASSIGNMENTS", "BagOfVisualWords", "bovw_histogram"]

#: the ways a descriptor votes for words
ASSIGNMENTS: tuple[str, ...] = ("hard", "soft")


def bovw_histogram(
    descriptors: Tensor,
    vocabulary: Tensor,
    *,
    assignment: str = "hard",
    sigma: float | None = None,
) -> Tensor:
    r"""The normalised histogram of visual words of one or more descriptor sets.

    Args:
        descriptors: local descriptors, shape ``(..., T, D)`` with ``T >= 1``, float, finite.
        vocabulary: the visual words, ``(K, D)``, same dtype.
        assignment: ``"hard"``: each descriptor votes 1 for its nearest word; ``"soft"``: it
            shares its vote between all words with Gaussian kernel weights.
        sigma: the kernel width of ``"soft"`` (required there), > 0.

    Returns:
        Histograms ``(..., K)`` summing to 1 (L1-normalised), in the descriptors' dtype.

    Shape:
        ``(..., T, D), (K, D) -> (..., K)``.

    Raises:
        ShapeError: ``D`` differs, ``T == 0``, a vocabulary that is not 2-D.
        ValueRangeError: NaN/Inf, an unknown ``assignment``, ``"soft"`` without a positive
            ``sigma``.

    Notes:
        Hard: :math:`h_k = \frac1T \sum_t [k = \arg\min_j \lVert x_t - c_j \rVert]`. Soft
        (the kernel codebook of van Gemert et al.):
        :math:`h_k = \frac1T \sum_t \frac{\exp(-\lVert x_t - c_k\rVert^2 / 2\sigma^2)}
        {\sum_j \exp(-\lVert x_t - c_j\rVert^2 / 2\sigma^2)}`, computed as a softmax (no
        underflow), so as :math:`\sigma \to 0` it becomes the hard histogram.

    Example:
        >>> words = torch.tensor([[0.0, 0.0], [1.0, 1.0]])
        >>> x = torch.tensor([[0.1, 0.0], [0.9, 1.0], [1.0, 0.8], [0.0, 0.2]])
        >>> bovw_histogram(x, words)
        tensor([0.5000, 0.5000])

    References:
        Csurka, G. et al. "Visual categorization with bags of keypoints." ECCV workshop on
        statistical learning in computer vision, 2004. van Gemert, J. C. et al. "Kernel
        codebooks for scene categorization." ECCV 2008.
    """
    check_image(descriptors, "descriptors", floating=True)
    check_image(vocabulary, "vocabulary", max_dims=2, floating=True)
    check_choice(assignment, "assignment", ASSIGNMENTS)
    if descriptors.shape[-1] != vocabulary.shape[-1]:
        raise ShapeError(
            f"descriptors must have D = {vocabulary.shape[-1]} like the vocabulary, "
            f"got {describe(descriptors)}"
        )
    if assignment == "soft":
        if sigma is None:
            raise ValueRangeError("sigma must be given (> 0) for assignment='soft', got None")
        sigma = check_positive(sigma, "sigma")
    lead, (T, D) = descriptors.shape[:-2], descriptors.shape[-2:]
    x = descriptors.reshape(-1, T, D)  # (B, T, D)
    h = _histograms(x, vocabulary.to(x.dtype), assignment, sigma)  # (B, K)
    return h.reshape(*lead, -1)


def _histograms(x: Tensor, words: Tensor, assignment: str, sigma: float | None) -> Tensor:
    """``(B, T, D), (K, D) -> (B, K)`` normalised histograms."""
    B, T, D = x.shape
    K = words.shape[0]
    d2 = sq_distances(x.reshape(-1, D), words).reshape(B, T, K)  # (B, T, K)
    if assignment == "hard":
        nearest = d2.argmin(dim=-1)  # (B, T)
        counts = torch.zeros(B, K, dtype=x.dtype, device=x.device)
        counts.scatter_add_(1, nearest, torch.ones_like(nearest, dtype=x.dtype))
    else:
        # each descriptor spreads a unit vote: softmax of -d^2 / (2 sigma^2) over the words
        assert sigma is not None
        counts = torch.softmax(-d2 / (2 * sigma * sigma), dim=-1).sum(dim=1)  # (B, K)
    return counts / T


class BagOfVisualWords:
    r"""Bag-of-visual-words encoder: dense descriptors, a k-means vocabulary, word histograms.

    Args:
        n_words: vocabulary size ``K``.
        assignment: ``"hard"`` or ``"soft"`` (:func:`bovw_histogram`).
        sigma: kernel width of ``"soft"``; ``None`` sets it in :meth:`fit` to the root mean
            squared distance of the training descriptors to their nearest word.
        descriptor: a :func:`~pixlearn.features.dense_descriptors` kind (``"sift"``, ``"raw"``)
            or a callable ``(n, C, H, W) -> (n, L, D)``.
        patch: patch side of the dense grid.
        step: grid spacing.
        max_descriptors: at most this many training descriptors (a random subset) feed k-means.
        max_iter: most Lloyd iterations.
        generator: randomness of the subset and of the k-means++ seeding.

    Attributes:
        vocabulary_: the words ``(K, D)`` after :meth:`fit`, else ``None``.
        sigma_: the soft-assignment width used by :meth:`transform`.

    Notes:
        k-means is pixlearn's own (k-means++ seeding, Lloyd iterations in torch;
        ``pixlearn.features._clustering``), not scikit-learn's.

    Example:
        >>> images = torch.rand(6, 1, 16, 16, generator=torch.Generator().manual_seed(0))
        >>> bovw = BagOfVisualWords(4, generator=torch.Generator().manual_seed(0)).fit(images)
        >>> h = bovw.transform(images)
        >>> h.shape, torch.allclose(h.sum(1), torch.ones(6))
        (torch.Size([6, 4]), True)

    References:
        Csurka, G. et al. "Visual categorization with bags of keypoints." 2004. Sivic, J. and
        Zisserman, A. "Video Google: a text retrieval approach to object matching in videos."
        ICCV 2003.
    """

    def __init__(
        self,
        n_words: int,
        *,
        assignment: str = "hard",
        sigma: float | None = None,
        descriptor: str | Callable[[Tensor], Tensor] = "sift",
        patch: int = 8,
        step: int = 4,
        max_descriptors: int = 50_000,
        max_iter: int = 100,
        generator: torch.Generator | None = None,
    ) -> None:
        self.n_words = check_int(n_words, "n_words", min_value=1)
        self.assignment = check_choice(assignment, "assignment", ASSIGNMENTS)
        self.sigma = None if sigma is None else check_positive(sigma, "sigma")
        if not callable(descriptor):
            check_choice(descriptor, "descriptor", ("sift", "raw"))
        self.descriptor = descriptor
        self.patch = check_int(patch, "patch", min_value=1)
        self.step = check_int(step, "step", min_value=1)
        self.max_descriptors = check_int(max_descriptors, "max_descriptors", min_value=1)
        self.max_iter = check_int(max_iter, "max_iter", min_value=1)
        self.generator = generator
        self.vocabulary_: Tensor | None = None
        self.sigma_: float | None = self.sigma

    def _descriptors(self, images: Tensor | Sequence[Tensor], name: str) -> list[Tensor]:
        return _describe_images(images, name, self.descriptor, patch=self.patch, step=self.step)

    def fit(self, images: Tensor | Sequence[Tensor]) -> BagOfVisualWords:
        """Learn the vocabulary from the descriptors of ``images``.

        Args:
            images: ``(N, C, H, W)`` float or a sequence of ``(C, H, W)`` (sizes may differ).

        Returns:
            ``self``, fitted.

        Raises:
            ValueRangeError: no image, fewer descriptors than ``n_words``.
        """
        x = _training_set(self._descriptors(images, "images"), self.max_descriptors, self.generator)
        if x.shape[0] < self.n_words:
            raise ValueRangeError(
                f"n_words must be <= the number of training descriptors ({x.shape[0]}), "
                f"got {self.n_words}"
            )
        words, labels = kmeans(x, self.n_words, max_iter=self.max_iter, generator=self.generator)
        self.vocabulary_ = words
        if self.sigma is None:
            # the typical distance of a descriptor to its word sets the kernel width
            d2 = (x - words[labels]).pow(2).sum(-1)
            self.sigma_ = max(math.sqrt(float(d2.mean())), 1e-12)
        return self

    def transform(self, images: Tensor | Sequence[Tensor]) -> Tensor:
        """Word histograms of ``images``, shape ``(N, n_words)``, each summing to 1.

        Raises:
            NotFittedError: called before :meth:`fit` (a ``ValueError``).
        """
        if self.vocabulary_ is None:
            raise NotFittedError("BagOfVisualWords is not fitted: call fit(images) first")
        chunks = self._descriptors(images, "images")
        out = [
            bovw_histogram(d, self.vocabulary_, assignment=self.assignment, sigma=self.sigma_)
            for d in chunks
        ]
        if not out:
            return self.vocabulary_.new_zeros(0, self.n_words)
        return torch.cat(out)

    def fit_transform(self, images: Tensor | Sequence[Tensor]) -> Tensor:
        """:meth:`fit` then :meth:`transform` on the same images."""
        return self.fit(images).transform(images)


def _training_set(
    chunks: list[Tensor], max_descriptors: int, generator: torch.Generator | None
) -> Tensor:
    """All descriptors of ``chunks`` as one ``(T, D)`` tensor, a random subset if too many."""
    if not chunks:
        raise ValueRangeError("images must hold at least one image to fit on, got none")
    x = torch.cat([check_tensor(c, "descriptors").reshape(-1, c.shape[-1]) for c in chunks])
    if x.shape[0] > max_descriptors:
        keep = torch.randperm(x.shape[0], generator=generator)[:max_descriptors]
        x = x[keep.to(x.device)]
    return x
