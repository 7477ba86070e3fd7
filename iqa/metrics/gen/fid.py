"""Frechet Inception Distance: ``fid`` (pytorch-fid input path) and ``fid_tf`` (TF-exact path).

Variants: ``fid`` (pytorch-fid path), ``fid_tf`` (TF-exact, torch-fidelity) and ``fid_clean``
(clean-fid's PIL-bicubic resize, Parmar et al., "On Aliased Resizing and Surprising Subtleties in
GAN Evaluation", CVPR 2022). Paper: Heusel et al., "GANs Trained by a Two Time-Scale Update Rule Converge to a Local Nash
Equilibrium", NeurIPS 2017. Reference implementations: pytorch-fid 0.3.0 (``fid``) and
torch-fidelity 0.4.0 (``fid_tf``: uint8 input, TF 1.x bilinear resize, (x - 128)/128).

Pipeline, each stage a pure function in ``_stats.py``: FID-Inception pool3 features ->
float64 mean and unbiased covariance (merged batch by batch, exactly) -> Frechet distance via a
symmetric eigenvalue route (``method="scipy"`` reproduces pytorch-fid's ``sqrtm`` path).
Reference statistics can be given once (``set_reference``, pytorch-fid ``.npz``) and reused.
"""

from __future__ import annotations

import math
from pathlib import Path

import torch

from iqa.errors import InputError
from iqa.features import FeatureExtractor
from iqa.metrics.gen._base import FeatureDistributionMetric
from iqa.metrics.gen._stats import GaussianStats, frechet_distance, warn_if_rank_deficient
from iqa.metrics.gen._sync import gather_stats
from iqa.registry import MetricSpec, register_metric

_PAPER = (
    "Heusel et al., 'GANs Trained by a Two Time-Scale Update Rule Converge to a Local Nash Equilibrium', NeurIPS 2017"
)


class _FIDBase(FeatureDistributionMetric):
    default_extractor = "inception_v3_fid"

    def __init__(
        self,
        *,
        extractor: str | FeatureExtractor | None = None,
        weights: str | Path | None = None,
        method: str = "eigh",
        data_range: float = 1.0,
    ) -> None:
        super().__init__(extractor=extractor or self.default_extractor, weights=weights, data_range=data_range)
        if method not in ("eigh", "scipy"):
            raise InputError(f"method must be 'eigh' or 'scipy', got {method!r}")
        self.method = method
        self.reset()

    def reset(self) -> None:
        dim = self.extractor.dim
        self.real, self.fake = GaussianStats(dim), GaussianStats(dim)
        self._fixed_real = False

    def update(self, x: torch.Tensor, *, real: bool) -> None:
        """Add a batch of images (N, 3, H, W) in [0, data_range] to the real or generated set."""
        if real and self._fixed_real:
            raise InputError(
                "reference statistics were set with set_reference(); call reset() to accumulate real images"
            )
        (self.real if real else self.fake).update(self.features(x))

    def update_features(self, features: torch.Tensor, *, real: bool) -> None:
        """Add precomputed features (N, dim), e.g. from a cache."""
        (self.real if real else self.fake).update(features)

    def set_reference(self, stats: GaussianStats | str | Path) -> None:
        """Use fixed reference statistics (a GaussianStats or a pytorch-fid ``.npz`` file)."""
        self.real = stats if isinstance(stats, GaussianStats) else GaussianStats.load_npz(stats)
        self._fixed_real = True

    def compute(self) -> torch.Tensor:
        """FID between the accumulated real and generated sets (float64 scalar); lower is better."""
        real = self.real if self._fixed_real else gather_stats(self.real)  # all ranks under torch.distributed
        fake = gather_stats(self.fake)
        for stats, what in ((real, "real set"), (fake, "generated set")):
            if stats.n < 2:
                raise InputError(f"{what} has {stats.n} images; FID needs at least 2 per set (ideally >= 10k)")
            warn_if_rank_deficient(stats.n, stats.dim, f"FID {what}")
        return frechet_distance(real.mean, real.cov, fake.mean, fake.cov, method=self.method)


_COMMON = dict(
    kind="dist",
    higher_is_better=False,
    value_range=(0.0, math.inf),
    differentiable=False,
    color="rgb",
    paper=_PAPER,
    weights=("fid_inception_v3_pt",),
)


@register_metric(
    MetricSpec(
        name="fid",
        reference_impl="pytorch-fid 0.3.0 (InceptionV3 pool3, bilinear 299, 2x-1, np.cov, sqrtm)",
        tolerance="features bit-identical to pytorch-fid on a shared random state dict; Frechet distance 1e-12 relative to the sqrtm route",
        summary="Frechet Inception Distance, pytorch-fid input path",
        **_COMMON,  # type: ignore[arg-type]
    )
)
class FID(_FIDBase):
    """FID with pytorch-fid's input path (see module docstring)."""


@register_metric(
    MetricSpec(
        name="fid_tf",
        reference_impl="torch-fidelity 0.4.0 (uint8, TF1 bilinear 299, (x-128)/128) = the TF FID graph",
        tolerance="features within 1e-4 of torch-fidelity's extractor on a shared random state dict (TF1 resize op order)",
        summary="Frechet Inception Distance, TF-exact input path (torch-fidelity)",
        **_COMMON,  # type: ignore[arg-type]
    )
)
class FIDTF(_FIDBase):
    """FID with the TF-exact input path (see module docstring)."""

    default_extractor = "inception_v3_fid_tf"


@register_metric(
    MetricSpec(
        name="fid_clean",
        reference_impl="clean-fid 0.1.35 mode='clean' (PIL bicubic float resize to 299, (x-128)/128, TF FID graph)",
        tolerance="resized pixels equal clean-fid's resizer to 1e-4 (same Pillow call); network as fid_tf",
        summary="Frechet Inception Distance, clean-fid's antialiased resize",
        **_COMMON,  # type: ignore[arg-type]
    )
)
class FIDClean(_FIDBase):
    """FID with clean-fid's resize (see module docstring)."""

    default_extractor = "inception_v3_fid_clean"
