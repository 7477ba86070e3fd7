"""The Vendi score: the effective number of distinct samples in a set, from a similarity kernel.

Paper: Friedman & Dieng, "The Vendi Score: A Diversity Evaluation Metric for Machine Learning",
TMLR 2023. Reference implementation: the ``vendi-score`` package (0.0.3, MIT),
``vendi_score.image_utils.embedding_vendi_score``: features are L2-normalised row by row (cosine
kernel ``K = X X^T``), the score is ``exp`` of the order-q Renyi entropy of the eigenvalues of
``K / n``, with q = 1 (Shannon) by default. It takes the eigenvalues of ``X X^T / n`` when
``n < dim`` and of ``X^T X / n`` otherwise (``score_dual``): both have the same non-zero
eigenvalues, so the cost is that of the smaller side, ``min(n, dim)``, whatever ``n``.

Differences: the reference's ``n < dim`` route (``score_X``) always uses q = 1 whatever q is given
(it calls ``score_K(K, q=1)``); here q is honoured on both routes. Eigenvalues are those of the
float64 Gram matrix (``torch.linalg.eigvalsh``; the reference uses ``scipy.linalg.eigvalsh``); as
in the reference, only positive eigenvalues enter the entropy (rounding makes some zero ones tiny
and negative). Agreement with ``vendi_score.vendi.score_dual`` / ``score_X`` on the same features:
1e-9 relative (tests/stats/test_vendi.py).
"""

from __future__ import annotations

import math

import torch

from iqa.errors import InputError

__all__ = ["vendi_score"]


def _entropy(p: torch.Tensor, q: float) -> float:
    p = p[p > 0]
    if q == 1:
        return float(-(p * p.log()).sum())
    if math.isinf(q):
        return float(-p.max().log())
    return float((p**q).sum().log() / (1 - q))


def vendi_score(x: torch.Tensor, *, q: float = 1.0, normalize: bool = True) -> float:
    """Vendi score of the samples (rows) of ``x`` (N, dim) with the cosine kernel.

    Args:
        x: features (N, dim), any float dtype (computed in float64; on the CPU for MPS).
        q: order of the Renyi entropy: 1 (Shannon, the paper's default), ``math.inf``, or any q >= 0.
        normalize: L2-normalise each row first (the cosine kernel of ``embedding_vendi_score``);
            False uses the plain dot product, which must then be 1 on the diagonal to be a similarity.

    Returns:
        A number in [1, min(N, dim)]: 1 when all samples are alike, N for N orthogonal ones.

    Raises:
        InputError: not (N, dim) with N >= 1, non-finite values, a zero row, or q < 0.
    """
    if not isinstance(x, torch.Tensor) or x.ndim != 2 or x.shape[0] == 0:
        raise InputError(f"features must be a tensor (N, dim) with N >= 1, got {getattr(x, 'shape', type(x))}")
    if q < 0 or math.isnan(q):
        raise InputError(f"q must be >= 0 (1: Shannon, inf: min-entropy), got {q}")
    dev = x.device if x.device.type != "mps" else torch.device("cpu")
    x = x.detach().to(dev, torch.float64)
    if not torch.isfinite(x).all():
        raise InputError("features have non-finite values")
    if normalize:
        norms = x.norm(dim=1, keepdim=True)
        if bool((norms == 0).any()):
            raise InputError("a feature vector is zero: the cosine kernel is undefined for it")
        x = x / norms
    n, d = x.shape
    gram = x @ x.T if n < d else x.T @ x  # same non-zero eigenvalues; the smaller side
    w = torch.linalg.eigvalsh(gram / n)
    return math.exp(_entropy(w, q))
