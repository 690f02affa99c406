"""Fisher vectors: an image described by the gradient of a Gaussian-mixture log-likelihood of its
local descriptors with respect to the mixture's means and variances."""

from __future__ import annotations

from collections.abc import Callable, Sequence

import torch
from torch import Tensor

from pixlearn._core.check import (
    check_choice,
    check_finite,
    check_image,
    check_int,
    check_positive,
    check_tensor,
    describe,
)
from pixlearn._core.errors import ShapeError, ValueRangeError
from pixlearn.features._clustering import NotFittedError, diag_gmm, gmm_log_responsibilities
from pixlearn.features.bovw import _training_set
from pixlearn.features.dense import _describe_images

__all__ = ["FisherVector", "fisher_vector"]


def fisher_vector(
    descriptors: Tensor,
    weights: Tensor,
    means: Tensor,
    variances: Tensor,
    *,
    power_norm: bool = True,
    l2_norm: bool = True,
) -> Tensor:
    r"""The (improved) Fisher vector of one or more descriptor sets under a diagonal GMM.

    Args:
        descriptors: ``(..., T, D)``, ``T >= 1``, float, finite.
        weights: mixture weights ``(K,)``, positive, summing to 1.
        means: ``(K, D)``.
        variances: diagonal variances ``(K, D)``, positive.
        power_norm: apply the signed square root :math:`\operatorname{sign}(z)\sqrt{|z|}`.
        l2_norm: divide by the L2 norm (a zero vector stays zero).

    Returns:
        ``(..., 2 K D)``: the ``K`` mean gradients (each ``D`` long, component by component),
        then the ``K`` variance gradients.

    Shape:
        ``(..., T, D), (K,), (K, D), (K, D) -> (..., 2KD)``.

    Raises:
        ShapeError: mismatched ``K`` or ``D``, ``T == 0``.
        ValueRangeError: NaN/Inf, non-positive weights or variances.

    Notes:
        With posteriors :math:`\gamma_t(k)` of descriptor :math:`x_t` (:math:`T` of them) and
        :math:`\sigma_k^2` the diagonal variances, the gradients normalised by the closed-form
        diagonal Fisher information are (Perronnin et al. 2010, eqs. 7-8)

        .. math::
            \mathcal G^X_{\mu,k} = \frac{1}{T\sqrt{w_k}} \sum_t \gamma_t(k)
            \frac{x_t - \mu_k}{\sigma_k}, \qquad
            \mathcal G^X_{\sigma,k} = \frac{1}{T\sqrt{2 w_k}} \sum_t \gamma_t(k)
            \left[\frac{(x_t - \mu_k)^2}{\sigma_k^2} - 1\right].

        They are computed from the zeroth, first and second order statistics
        :math:`S_0 = \sum_t \gamma_t(k)`, :math:`S_1 = \sum_t \gamma_t(k) x_t`,
        :math:`S_2 = \sum_t \gamma_t(k) x_t^2` (two matrix products, no ``(T, K, D)`` tensor).
        The "improved" Fisher vector then applies the power and L2 normalisations.

    Example:
        >>> w, mu, var = torch.tensor([0.5, 0.5]), torch.tensor([[0.0], [2.0]]), torch.ones(2, 1)
        >>> fisher_vector(torch.tensor([[0.0], [2.0]]), w, mu, var).shape
        torch.Size([4])

    References:
        Perronnin, F., Sanchez, J. and Mensink, T. "Improving the Fisher kernel for large-scale
        image classification." ECCV 2010. Jaakkola, T. and Haussler, D. "Exploiting generative
        models in discriminative classifiers." NIPS 1998.
    """
    check_image(descriptors, "descriptors", floating=True)
    check_image(means, "means", max_dims=2, floating=True)
    for name, t in (("weights", weights), ("variances", variances)):
        check_finite(check_tensor(t, name), name)
    K, D = means.shape
    if weights.shape != (K,) or variances.shape != (K, D):
        raise ShapeError(
            f"weights and variances must have shapes ({K},) and ({K}, {D}) like means, got "
            f"{describe(weights)} and {describe(variances)}"
        )
    if descriptors.shape[-1] != D:
        raise ShapeError(f"descriptors must have D = {D} like means, got {describe(descriptors)}")
    if bool((weights <= 0).any()) or bool((variances <= 0).any()):
        raise ValueRangeError("weights and variances must be > 0")
    lead, T = descriptors.shape[:-2], descriptors.shape[-2]
    x = descriptors.reshape(-1, T, D)  # (B, T, D)
    w, mu, var = (t.to(x.dtype) for t in (weights, means, variances))
    fv = _fisher(x, w, mu, var)  # (B, 2KD)
    if power_norm:
        # signed square root: z <- sign(z) |z|^(1/2), undoes the burstiness of repeated patterns
        fv = fv.sign() * fv.abs().sqrt()
    if l2_norm:
        n = fv.norm(dim=-1, keepdim=True)
        fv = fv / torch.where(n > 0, n, torch.ones_like(n))
    return fv.reshape(*lead, -1)


def _fisher(x: Tensor, w: Tensor, mu: Tensor, var: Tensor) -> Tensor:
    """Unnormalised Fisher vectors ``(B, T, D) -> (B, 2KD)``."""
    B, T, _ = x.shape
    log_gamma, _ = gmm_log_responsibilities(x, w, mu, var)
    gamma = log_gamma.exp()  # (B, T, K)
    s0 = gamma.sum(dim=1)  # (B, K)
    s1 = gamma.transpose(1, 2) @ x  # (B, K, D)
    s2 = gamma.transpose(1, 2) @ (x * x)  # (B, K, D)
    sd = var.sqrt()  # (K, D)
    # sum_t gamma (x - mu) / sd = (S1 - mu S0) / sd
    g_mu = (s1 - mu * s0[..., None]) / sd
    # sum_t gamma [(x - mu)^2 / var - 1] = (S2 - 2 mu S1 + mu^2 S0) / var - S0
    g_var = (s2 - 2 * mu * s1 + mu * mu * s0[..., None]) / var - s0[..., None]
    g_mu = g_mu / (T * w.sqrt())[:, None]
    g_var = g_var / (T * (2 * w).sqrt())[:, None]
    return torch.cat([g_mu.reshape(B, -1), g_var.reshape(B, -1)], dim=1)


class FisherVector:
    r"""Fisher-vector encoder: dense descriptors, optional PCA, a diagonal GMM, Fisher vectors.

    Args:
        n_components: number of Gaussians ``K`` (the vocabulary size).
        pca_dim: project the descriptors on their first ``pca_dim`` principal components before
            the GMM (decorrelates them, as the diagonal model assumes); ``None`` keeps them.
        power_norm: signed square root (:func:`fisher_vector`).
        l2_norm: L2 normalisation.
        descriptor: a :func:`~pixlearn.features.dense_descriptors` kind or a callable
            ``(n, C, H, W) -> (n, L, D)``.
        patch: patch side of the dense grid.
        step: grid spacing.
        max_descriptors: at most this many training descriptors (a random subset) feed PCA/EM.
        max_iter: most EM iterations.
        reg_covar: added to every variance in EM.
        generator: randomness of the subset and of the k-means start of EM.

    Attributes:
        weights_, means_, variances_: the GMM after :meth:`fit` (``(K,)``, ``(K, D')``,
            ``(K, D')`` with ``D'`` the descriptor length after PCA).
        pca_mean_, pca_components_: the PCA (``(D,)``, ``(D', D)``), or ``None``.

    Notes:
        The GMM is pixlearn's own EM (diagonal covariances, vectorised in torch, started from
        its own k-means; ``pixlearn.features._clustering``), not scikit-learn's. PCA is an SVD of
        the centred training descriptors. The output has ``2 K D'`` entries.

    Example:
        >>> g = torch.Generator().manual_seed(0)
        >>> images = torch.rand(6, 1, 16, 16, generator=g)
        >>> fv = FisherVector(2, pca_dim=8, generator=g).fit(images).transform(images)
        >>> fv.shape, torch.allclose(fv.norm(dim=1), torch.ones(6))
        (torch.Size([6, 32]), True)

    References:
        Perronnin, F., Sanchez, J. and Mensink, T. "Improving the Fisher kernel for large-scale
        image classification." ECCV 2010.
    """

    def __init__(
        self,
        n_components: int,
        *,
        pca_dim: int | None = None,
        power_norm: bool = True,
        l2_norm: bool = True,
        descriptor: str | Callable[[Tensor], Tensor] = "sift",
        patch: int = 8,
        step: int = 4,
        max_descriptors: int = 50_000,
        max_iter: int = 100,
        reg_covar: float = 1e-6,
        generator: torch.Generator | None = None,
    ) -> None:
        self.n_components = check_int(n_components, "n_components", min_value=1)
        self.pca_dim = None if pca_dim is None else check_int(pca_dim, "pca_dim", min_value=1)
        self.power_norm, self.l2_norm = bool(power_norm), bool(l2_norm)
        if not callable(descriptor):
            check_choice(descriptor, "descriptor", ("sift", "raw"))
        self.descriptor = descriptor
        self.patch = check_int(patch, "patch", min_value=1)
        self.step = check_int(step, "step", min_value=1)
        self.max_descriptors = check_int(max_descriptors, "max_descriptors", min_value=1)
        self.max_iter = check_int(max_iter, "max_iter", min_value=1)
        self.reg_covar = check_positive(reg_covar, "reg_covar")
        self.generator = generator
        self.weights_: Tensor | None = None
        self.means_: Tensor | None = None
        self.variances_: Tensor | None = None
        self.pca_mean_: Tensor | None = None
        self.pca_components_: Tensor | None = None

    def _descriptors(self, images: Tensor | Sequence[Tensor], name: str) -> list[Tensor]:
        return _describe_images(images, name, self.descriptor, patch=self.patch, step=self.step)

    def _project(self, x: Tensor) -> Tensor:
        if self.pca_components_ is None or self.pca_mean_ is None:
            return x
        # y = (x - mean) P^T: coordinates on the principal axes, (..., D')
        return (x - self.pca_mean_) @ self.pca_components_.T

    def fit(self, images: Tensor | Sequence[Tensor]) -> FisherVector:
        """Fit the PCA (if asked) and the diagonal GMM on the descriptors of ``images``.

        Args:
            images: ``(N, C, H, W)`` float or a sequence of ``(C, H, W)`` (sizes may differ).

        Returns:
            ``self``, fitted.

        Raises:
            ValueRangeError: no image, fewer descriptors than ``n_components``, ``pca_dim``
                larger than the descriptor length.
        """
        x = _training_set(self._descriptors(images, "images"), self.max_descriptors, self.generator)
        self.pca_mean_ = self.pca_components_ = None
        if self.pca_dim is not None:
            if self.pca_dim > min(x.shape):
                raise ValueRangeError(
                    f"pca_dim must be <= min(descriptor length, number of descriptors) = "
                    f"{min(x.shape)}, got {self.pca_dim}"
                )
            mean = x.mean(dim=0)  # (D,)
            # right singular vectors of the centred data are the principal axes
            _, _, vh = torch.linalg.svd(x - mean, full_matrices=False)  # vh: (min(T, D), D)
            self.pca_mean_, self.pca_components_ = mean, vh[: self.pca_dim]
            x = self._project(x)
        if x.shape[0] < self.n_components:
            raise ValueRangeError(
                f"n_components must be <= the number of training descriptors ({x.shape[0]}), "
                f"got {self.n_components}"
            )
        self.weights_, self.means_, self.variances_ = diag_gmm(
            x,
            self.n_components,
            max_iter=self.max_iter,
            reg_covar=self.reg_covar,
            generator=self.generator,
        )
        return self

    @property
    def dim(self) -> int:
        """Length of the Fisher vector, ``2 K D'`` (known after :meth:`fit`)."""
        if self.means_ is None:
            raise NotFittedError("FisherVector is not fitted: call fit(images) first")
        return 2 * self.means_.numel()

    def transform(self, images: Tensor | Sequence[Tensor]) -> Tensor:
        """Fisher vectors of ``images``, shape ``(N, 2 K D')``.

        Raises:
            NotFittedError: called before :meth:`fit` (a ``ValueError``).
        """
        if self.weights_ is None or self.means_ is None or self.variances_ is None:
            raise NotFittedError("FisherVector is not fitted: call fit(images) first")
        out = [
            fisher_vector(
                self._project(d),
                self.weights_,
                self.means_,
                self.variances_,
                power_norm=self.power_norm,
                l2_norm=self.l2_norm,
            )
            for d in self._descriptors(images, "images")
        ]
        if not out:
            return self.means_.new_zeros(0, self.dim)
        return torch.cat(out)

    def fit_transform(self, images: Tensor | Sequence[Tensor]) -> Tensor:
        """:meth:`fit` then :meth:`transform` on the same images."""
        return self.fit(images).transform(images)
