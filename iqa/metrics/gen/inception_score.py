"""Inception Score (``is``): exp of the mean KL divergence between p(y|x) and p(y), over splits.

Paper: Salimans, Goodfellow, Zaremba, Cheung, Radford, Chen, "Improved Techniques for Training
GANs", NeurIPS 2016. Reference implementation: torch-fidelity 0.4.0 (``metric_isc.py``,
``isc_features_to_metric``; Apache-2.0), reproduced draw for draw:

- logits: ``pool3 @ fc.weight.T`` of the FID Inception *without* the fc bias (torch-fidelity's
  ``'logits_unbiased'``; also the original code's and the ADM evaluator's ``softmax/logits/MatMul``),
  from the TF-exact input path (uint8 levels, TF1 bilinear to 299, ``(x - 128) / 128``), so the
  default extractor is ``inception_v3_fid_tf``;
- the samples are shuffled with ``numpy.random.RandomState(2020).permutation(N)``, then cut into
  10 splits ``[i * N // 10, (i + 1) * N // 10)`` (unequal when 10 does not divide N);
- per split: ``exp(mean_i sum_c p_ic (log p_ic - log q_c))`` with ``q`` the split's mean of ``p``,
  in float64;
- value = mean over splits, ``extras["std"]`` = their population std (``np.std``, ddof 0).

Only the generated set is used (a one-sided metric, :class:`~iqa.metrics.distribution.GeneratedSetMetric`):
the real side is accepted and ignored and ``n_real`` is None. The stored features are pool3's (so
IS shares the FID/KID feature pass of ``inception_v3_fid_tf``); the logits are computed in
``compute()``, in float64 (torch-fidelity multiplies in float32: ~1e-7 relative apart), so
``compute()`` needs the Inception's weights (its fc layer) even when only features were given.

Peers differ: the ADM evaluator (openai/guided-diffusion) does not shuffle and uses splits of 5000
images (``splits`` equal to N / 5000 and ``shuffle=False`` reproduce it on N divisible by 5000);
the original code uses 10 splits without shuffling.
"""

from __future__ import annotations

import math
from pathlib import Path
from typing import Annotated

import numpy as np
import torch

from iqa.errors import InputError
from iqa.features import FeatureExtractor
from iqa.features.registry import LazyExtractor
from iqa.metrics.base import DataRange, DistributionResult
from iqa.metrics.distribution import GeneratedSetMetric
from iqa.options import Range
from iqa.registry import MetricSpec, register_metric
from iqa.stats import float64_device


def inception_score(
    logits: torch.Tensor, *, splits: int = 10, shuffle: bool = True, seed: int = 2020
) -> tuple[float, float]:
    """Inception Score of logits (N, classes): (mean, std) over splits, torch-fidelity's convention.

    Args:
        logits: classifier logits (N, classes) of the generated images (softmax gives p(y|x)).
        splits: number of splits, ``[i * N // splits, (i + 1) * N // splits)``.
        shuffle: permute the samples first with ``numpy.random.RandomState(seed).permutation(N)``.
        seed: seed of that permutation (torch-fidelity's 2020).

    Returns:
        (mean, std) of the per-split scores; std is the population std (ddof 0).
    """
    if logits.ndim != 2:
        raise InputError(f"logits must have shape (N, classes), got {tuple(logits.shape)}")
    n = logits.shape[0]
    if n < splits:
        raise InputError(f"the Inception Score needs at least splits={splits} generated images, got {n}")
    if shuffle:
        order = torch.from_numpy(np.random.RandomState(seed).permutation(n)).to(logits.device)
        logits = logits[order]
    x = logits.detach().to(float64_device(logits.device), torch.float64)
    p, log_p = x.softmax(dim=1), x.log_softmax(dim=1)
    scores = []
    for i in range(splits):
        lo, hi = i * n // splits, (i + 1) * n // splits
        q = p[lo:hi].mean(dim=0, keepdim=True)
        kl = (p[lo:hi] * (log_p[lo:hi] - q.log())).sum(dim=1).mean()
        scores.append(float(kl.exp()))
    return float(np.mean(scores)), float(np.std(scores))


@register_metric(
    MetricSpec(
        name="is",
        kind="dist",
        higher_is_better=True,
        value_range=(1.0, math.inf),
        differentiable=False,
        color="rgb",
        paper="Salimans et al., 'Improved Techniques for Training GANs', NeurIPS 2016",
        reference_impl="torch-fidelity 0.4.0 isc_features_to_metric on 'logits_unbiased' (10 splits, RandomState(2020) shuffle)",
        tolerance=(
            "1e-12 relative to torch-fidelity's isc_features_to_metric on the same logits; end to end "
            "(shared random Inception weights) 1e-5 relative (float32 network and float64 vs float32 logits)"
        ),
        weights=("fid_inception_v3_pt",),
        summary="Inception Score of the generated set (mean over 10 splits; std in extras); real set unused",
    )
)
class InceptionScore(GeneratedSetMetric):
    """IS of the generated set on the FID Inception's bias-free logits (TF-exact path, as torch-fidelity).

    Registered as ``is``. An extractor with a ``logits_unbiased`` tap (the FID Inception) gives
    torch-fidelity's logits; any other extractor's ``logits()`` (its classifier head) are used as they are.

    Args:
        extractor: feature extractor name or instance (default: FID Inception, TF-exact input path).
        splits: number of splits the score is averaged over (torch-fidelity's 10).
        shuffle: permute the generated set before splitting (torch-fidelity's default).
        seed: seed of that permutation (torch-fidelity's 2020 gives its values).
    """

    def __init__(
        self,
        *,
        extractor: str | FeatureExtractor = "inception_v3_fid_tf",
        weights: str | Path | None = None,
        splits: Annotated[int, Range(1)] = 10,
        shuffle: bool = True,
        seed: int = 2020,
        data_range: DataRange = 1.0,
    ) -> None:
        super().__init__(extractor=extractor, weights=weights, data_range=data_range)
        self.splits, self.shuffle, self.seed = splits, shuffle, seed
        self.reset()

    def logits(self, features: torch.Tensor) -> torch.Tensor:
        """Logits of features (N, dim): the bias-free tap where the extractor has one, else its ``logits()``."""
        ext = self.extractor.load() if isinstance(self.extractor, LazyExtractor) else self.extractor
        with torch.inference_mode():
            tap = getattr(ext, "logits_unbiased", None)
            if tap is not None:
                return tap(features)
            return ext.logits(ext.follow(features.to(torch.float32))).to(features.device, torch.float64)

    def compute(self) -> DistributionResult:
        """IS (mean over splits) with ``extras["std"]``; higher is better; ``n_real`` is None (unused)."""
        fake = self.gathered(real=False)
        mean, std = inception_score(self.logits(fake), splits=self.splits, shuffle=self.shuffle, seed=self.seed)
        return DistributionResult(mean, {"std": std}, n_real=None, n_fake=len(fake))
