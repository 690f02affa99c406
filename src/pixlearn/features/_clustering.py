"""The vocabularies of bag of words and Fisher vectors: k-means (k-means++ seeding, Lloyd
iterations) and a diagonal Gaussian mixture fitted by EM, both vectorised in torch.

Private helpers of :mod:`pixlearn.features.bovw` and :mod:`pixlearn.features.fisher`; the
descriptors come in as one ``(T, D)`` tensor.
"""

from __future__ import annotations

import math

import torch
from torch import Tensor

from pixlearn._core.errors import NotFittedError

__all__ = ["NotFittedError", "diag_gmm", "gmm_log_responsibilities", "kmeans", "sq_distances"]


def sq_distances(x: Tensor, centres: Tensor) -> Tensor:
    """Squared Euclidean distances ``(T, D), (K, D) -> (T, K)``, never negative."""
    # ||x - c||^2 = ||x||^2 - 2 x.c + ||c||^2, one matrix product instead of (T, K, D)
    d2 = x.pow(2).sum(-1, keepdim=True) - 2 * x @ centres.T + centres.pow(2).sum(-1)
    return d2.clamp_(min=0)


def _kmeans_pp(x: Tensor, k: int, generator: torch.Generator | None) -> Tensor:
    """k-means++ seeding: each new centre drawn with probability proportional to D(x)^2."""
    T = x.shape[0]
    first = int(torch.randint(T, (1,), generator=generator, device="cpu"))
    centres = [x[first]]
    d2 = sq_distances(x, x[first : first + 1])[:, 0]  # (T,) distance to the nearest centre
    for _ in range(1, k):
        total = float(d2.sum())
        if total > 0:
            p = (d2 / total).to(torch.float64).cpu()
            nxt = int(torch.multinomial(p, 1, generator=generator))
        else:  # every point already sits on a centre: any choice is as good
            nxt = int(torch.randint(T, (1,), generator=generator, device="cpu"))
        centres.append(x[nxt])
        d2 = torch.minimum(d2, sq_distances(x, x[nxt : nxt + 1])[:, 0])
    return torch.stack(centres)  # (k, D)


def kmeans(
    x: Tensor,
    k: int,
    *,
    max_iter: int = 100,
    tol: float = 1e-4,
    generator: torch.Generator | None = None,
) -> tuple[Tensor, Tensor]:
    r"""Lloyd's k-means from a k-means++ start.

    Args:
        x: points ``(T, D)``, ``T >= k``.
        k: number of centres.
        max_iter: most Lloyd iterations.
        tol: stop when the squared centre shift summed over centres is at most
            ``tol`` times the mean per-dimension variance of ``x`` (scikit-learn's rule).
        generator: randomness of the seeding.

    Returns:
        ``(centres (k, D), labels (T,) int64)``.

    Notes:
        Minimises the inertia :math:`\sum_t \min_k \lVert x_t - c_k \rVert^2` by alternating
        assignment :math:`a_t = \arg\min_k \lVert x_t - c_k\rVert^2` and update
        :math:`c_k = \operatorname{mean}\{x_t : a_t = k\}`. An emptied cluster is moved to the
        point farthest from its centre.
    """
    T = x.shape[0]
    centres = _kmeans_pp(x, k, generator)
    threshold = tol * float(x.var(dim=0, unbiased=False).mean()) if T > 1 else 0.0
    labels = torch.zeros(T, dtype=torch.int64, device=x.device)
    for _ in range(max_iter):
        d2 = sq_distances(x, centres)  # (T, k)
        best, labels = d2.min(dim=1)
        onehot = torch.nn.functional.one_hot(labels, k).to(x.dtype)  # (T, k)
        counts = onehot.sum(0)  # (k,)
        sums = onehot.T @ x  # (k, D), one matrix product instead of a scatter
        new = sums / counts.clamp(min=1)[:, None]
        empty = (counts == 0).nonzero().flatten().tolist()
        if empty:
            far = best.argsort(descending=True)[: len(empty)]
            new[empty] = x[far]
        shift = float((new - centres).pow(2).sum())
        centres = new
        if shift <= threshold:
            break
    labels = sq_distances(x, centres).argmin(dim=1)
    return centres, labels


def gmm_log_responsibilities(
    x: Tensor, weights: Tensor, means: Tensor, variances: Tensor, *, x2: Tensor | None = None
) -> tuple[Tensor, Tensor]:
    r"""Log posteriors :math:`\log \gamma_t(k)` ``(..., T, K)`` and log densities ``(..., T)``.

    :math:`\log w_k \mathcal N(x \mid \mu_k, \operatorname{diag}\sigma_k^2) = \log w_k
    - \tfrac12 \sum_d [\log 2\pi\sigma_{kd}^2 + (x_d - \mu_{kd})^2 / \sigma_{kd}^2]`;
    ``x2`` is ``x * x`` if the caller has it already.
    """
    x2 = x.pow(2) if x2 is None else x2
    inv = 1.0 / variances  # (K, D)
    # sum_d (x_d - mu_kd)^2 / var_kd as x^2 @ inv - 2 x @ (mu * inv) + sum mu^2 * inv
    maha = x2 @ inv.T - 2 * x @ (means * inv).T + (means.pow(2) * inv).sum(-1)  # (..., T, K)
    log_norm = -0.5 * (x.shape[-1] * math.log(2 * math.pi) + variances.log().sum(-1))  # (K,)
    joint = weights.log() + log_norm - 0.5 * maha.clamp(min=0)  # (..., T, K)
    log_px = torch.logsumexp(joint, dim=-1)  # (..., T)
    return joint - log_px[..., None], log_px


def diag_gmm(
    x: Tensor,
    k: int,
    *,
    max_iter: int = 100,
    tol: float = 1e-3,
    reg_covar: float = 1e-6,
    generator: torch.Generator | None = None,
) -> tuple[Tensor, Tensor, Tensor]:
    r"""A Gaussian mixture with diagonal covariances fitted by EM, started from k-means.

    Args:
        x: points ``(T, D)``, ``T >= k``.
        k: number of components.
        max_iter: most EM iterations.
        tol: stop when the mean log-likelihood per point rises by less than ``tol``.
        reg_covar: added to every variance (keeps a component on repeated points finite).
        generator: randomness of the k-means start.

    Returns:
        ``(weights (k,), means (k, D), variances (k, D))`` in the dtype of ``x``.

    Notes:
        E-step: :math:`\gamma_t(k) = w_k \mathcal N(x_t|\mu_k,\sigma_k^2) / \sum_j w_j
        \mathcal N(x_t|\mu_j,\sigma_j^2)`. M-step with :math:`N_k = \sum_t \gamma_t(k)`:
        :math:`w_k = N_k / T`, :math:`\mu_k = \sum_t \gamma_t(k) x_t / N_k`,
        :math:`\sigma_k^2 = \sum_t \gamma_t(k) x_t^2 / N_k - \mu_k^2 + \text{reg}`.
    """
    dtype = x.dtype
    xd = x.to(torch.float64)  # EM sums many small posteriors: accumulate in float64
    T = xd.shape[0]
    _, labels = kmeans(xd, k, max_iter=max_iter, generator=generator)
    resp = torch.zeros(T, k, dtype=xd.dtype, device=xd.device)
    resp[torch.arange(T, device=xd.device), labels] = 1.0  # hard start from k-means
    x2 = xd * xd  # (T, D), reused by every E- and M-step
    weights, means, variances = _m_step(xd, x2, resp, reg_covar)
    prev = -math.inf
    for _ in range(max_iter):
        log_resp, log_px = gmm_log_responsibilities(xd, weights, means, variances, x2=x2)
        ll = float(log_px.mean())
        weights, means, variances = _m_step(xd, x2, log_resp.exp(), reg_covar)
        if abs(ll - prev) < tol:
            break
        prev = ll
    return weights.to(dtype), means.to(dtype), variances.to(dtype)


def _m_step(x: Tensor, x2: Tensor, resp: Tensor, reg_covar: float) -> tuple[Tensor, Tensor, Tensor]:
    """Weights, means and diagonal variances from responsibilities ``(T, K)``."""
    eps = 10 * torch.finfo(x.dtype).eps
    nk = resp.sum(0) + eps  # (K,)
    means = resp.T @ x / nk[:, None]  # (K, D)
    # E[x^2] - mu^2, the diagonal of the weighted covariance
    variances = resp.T @ x2 / nk[:, None] - means.pow(2)
    variances = variances.clamp(min=0) + reg_covar
    return nk / nk.sum(), means, variances
