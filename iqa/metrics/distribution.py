"""Shared plumbing of feature-based distribution metrics (not metrics themselves).

Metric files under ``iqa/metrics/gen/`` subclass one of these and add their spec and options:

- :class:`FeatureDistributionMetric`: owns the feature extractor (a registered name or an
  instance) and turns validated images into features.
- :class:`FrechetMetric`: float64 Gaussian statistics of both sets, merged exactly, and the
  Frechet distance between them (FID and every ``fd_*``).
- :class:`FeatureSetMetric`: keeps every feature vector of both sets (kernel metrics such as KID).
- :class:`GeneratedSetMetric`: a one-sided metric of the generated set's features (IS, Vendi);
  the real side is taken and ignored (``uses_real = False``).
- :class:`RBFMMDMetric`: CMMD's RBF-kernel MMD^2 (sigma 10, times 1000) on unit-norm features.

The numbers come from :mod:`iqa.stats`. State follows the inputs' device: features are computed
where the extractor is (it is moved to the images' device on first use) and accumulated in float64
there (the CPU for MPS, which has no float64).
"""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, ClassVar, Literal

import numpy as np
import torch

from iqa.checks import check_image
from iqa.errors import InputError
from iqa.features import FeatureExtractor
from iqa.features.registry import lazy_extractor
from iqa.metrics.base import DataRange, DistributionMetric, DistributionResult
from iqa.options import Range
from iqa.stats import (
    FrechetMethod,
    GaussianStats,
    float64_device,
    frechet_distance,
    gather_features,
    gather_stats,
    mmd2_rbf,
    warn_if_rank_deficient,
)

#: The feature spaces the panel metrics (``precision_<x>``, ``recall_<x>``, ``density_<x>``,
#: ``coverage_<x>``, ``vendi_<x>``) are registered on: short name -> (extractor, what its features are).
PANEL_EXTRACTORS = {
    "efficientnet_lite0": ("efficientnet_lite0", "ImageNet EfficientNet-Lite0 pooled features (1280-d)"),
    "inception": ("inception_v3_fid", "FID Inception-v3 pool3 features, pytorch-fid input path (2048-d)"),
    "clip_vit_l14": ("clip_vit_l14", "OpenAI CLIP ViT-L/14 embeddings, OpenAI preprocessing (768-d)"),
    "dinov2": ("dinov2_vitl14", "DINOv2 ViT-L/14 CLS features, dgm-eval preprocessing (1024-d)"),
}
#: extractor -> the weights ids of the manifest it loads
PANEL_WEIGHTS = {
    "efficientnet_lite0": ("efficientnet_lite0",),
    "inception_v3_fid": ("fid_inception_v3_pt",),
    "clip_vit_l14": ("clip_vit_l14_openai",),
    "dinov2_vitl14": ("dinov2_vitl14",),
}

__all__ = [
    "PANEL_EXTRACTORS",
    "PANEL_WEIGHTS",
    "FeatureDistributionMetric",
    "FeatureSetMetric",
    "FrechetMetric",
    "GeneratedSetMetric",
    "MMDEstimator",
    "RBFMMDMetric",
]

MMDEstimator = Literal["biased", "unbiased"]


def _set_name(real: bool) -> str:
    return "real set" if real else "generated set"


class FeatureDistributionMetric(DistributionMetric):
    """A distribution metric on the features of one extractor.

    A named extractor is built on first use (:func:`~iqa.features.registry.lazy_extractor`): its
    features' key and dimension are known at once, so statistics and features are used without
    its network or weights, which are resolved only when images are given.

    Args:
        extractor: feature extractor, a registered name (``iqa.features.list_extractors()``) or a
            ``FeatureExtractor`` instance.
        weights: weights file of a named extractor (default: the weights manager's); not with an instance.
    """

    def __init__(
        self,
        *,
        extractor: str | FeatureExtractor,
        weights: str | Path | None = None,
        data_range: DataRange = 1.0,
    ) -> None:
        super().__init__(data_range=data_range)
        if isinstance(extractor, str):
            extractor = lazy_extractor(extractor, weights=weights)
        elif weights is not None:
            raise InputError("pass weights only with an extractor name; an extractor instance has its own")
        self.extractor = extractor.eval()
        self.weights = weights
        self._fixed_real = False

    def features(self, x: torch.Tensor) -> torch.Tensor:
        """Validated images (N, 3, H, W) in [0, data_range] -> features (N, dim), no autograd.

        The extractor follows the images: it is moved to their device when it is elsewhere.
        """
        check_image(x, "x", data_range=self.data_range, channels=(3,))
        here = self.extractor.weights_device()
        if here is not None and here != x.device:
            self.extractor.to(x.device)
        with torch.inference_mode():
            return self.extractor(x / self.data_range)

    def _check_features(self, features: torch.Tensor) -> torch.Tensor:
        if features.ndim != 2 or features.shape[1] != self.extractor.dim:
            raise InputError(
                f"features must have shape (N, {self.extractor.dim}) for {self.extractor.cache_key()}, "
                f"got {tuple(features.shape)}"
            )
        return features.detach()

    def _check_real_open(self, real: bool) -> None:
        if real and self._fixed_real:
            raise InputError("the reference was fixed with set_reference(); call reset() before adding real images")


class FrechetMetric(FeatureDistributionMetric):
    """Frechet distance between Gaussian fits of the two sets' features (FID's pipeline).

    Statistics are float64 means and scatters merged exactly batch by batch (:class:`~iqa.stats.GaussianStats`);
    ``real`` and ``fake`` hold them. ``update_stats`` merges precomputed statistics and
    ``set_reference`` fixes the real side (statistics, features, ``.npz`` or ``.npy``).

    Args:
        method: route for Tr (S1 S2)^(1/2): 'eigh' (symmetric eigenvalues, default) or 'scipy' (sqrtm, pytorch-fid's).
    """

    def __init__(
        self,
        *,
        extractor: str | FeatureExtractor,
        weights: str | Path | None = None,
        method: FrechetMethod = "eigh",
        data_range: DataRange = 1.0,
    ) -> None:
        super().__init__(extractor=extractor, weights=weights, data_range=data_range)
        self.method = method
        self.reset()

    def reset(self) -> None:
        """Forget both sets (a fixed reference included)."""
        dim = self.extractor.dim
        self.real, self.fake = GaussianStats(dim), GaussianStats(dim)
        self._fixed_real = False

    def update(self, x: torch.Tensor, *, real: bool) -> None:
        """Add a batch of images (N, 3, H, W) in [0, data_range] to the real or generated set."""
        self._check_real_open(real)
        (self.real if real else self.fake).update(self.features(x))

    def update_features(self, features: torch.Tensor, *, real: bool) -> None:
        """Add precomputed features (N, dim) of :attr:`extractor`, e.g. from a cache."""
        self._check_real_open(real)
        (self.real if real else self.fake).update(self._check_features(features))

    def update_stats(self, stats: GaussianStats, *, real: bool) -> None:
        """Merge statistics of more samples of one set (exact, as if their features had been given)."""
        self._check_real_open(real)
        if stats.dim != self.extractor.dim:
            raise InputError(f"statistics are {stats.dim}-d, {self.extractor.cache_key()} gives {self.extractor.dim}-d")
        (self.real if real else self.fake).merge(stats)

    def set_reference(self, reference: GaussianStats | torch.Tensor | str | Path) -> None:
        """Fix the real side: statistics, features (N, dim), a pytorch-fid ``.npz`` or an ``.npy`` of features."""
        if isinstance(reference, (str, Path)):
            path = Path(reference)
            if path.suffix.lower() == ".npy":
                reference = torch.from_numpy(np.load(path))
            else:
                reference = GaussianStats.load_npz(path)
        if isinstance(reference, torch.Tensor):
            reference = GaussianStats.from_features(self._check_features(reference))
        if reference.dim != self.extractor.dim:
            raise InputError(
                f"reference statistics are {reference.dim}-d, {self.extractor.cache_key()} gives {self.extractor.dim}-d"
            )
        self.real, self._fixed_real = reference.clone(), True

    def statistics(self, *, real: bool) -> GaussianStats:
        """The statistics of one set, gathered from every rank under torch.distributed (e.g. to save)."""
        if real:
            return self.real if self._fixed_real else gather_stats(self.real)
        return gather_stats(self.fake)

    def compute(self) -> DistributionResult:
        """Frechet distance between the accumulated real and generated sets; lower is better."""
        real, fake = self.statistics(real=True), self.statistics(real=False)
        for stats, real_side in ((real, True), (fake, False)):
            if stats.n < 2:
                raise InputError(
                    f"{_set_name(real_side)} has {stats.n} images; {self._name()} needs at least 2 per set "
                    "(ideally >= 10k)"
                )
            if stats.n_known:  # a pytorch-fid file without n says nothing about its sample count
                warn_if_rank_deficient(stats.n, stats.dim, f"{self._name()} {_set_name(real_side)}")
        real = real.to(fake.device)  # a reference read from a file lives on the CPU
        value = frechet_distance(real.mean, real.cov, fake.mean, fake.cov, method=self.method)
        return DistributionResult(float(value), n_real=real.count, n_fake=fake.count)


class FeatureSetMetric(FeatureDistributionMetric):
    """Keeps every feature vector of both sets (float64, on the features' device) for kernel metrics."""

    normalize_features: ClassVar[bool] = False  # L2-normalise features before storing them

    def reset(self) -> None:
        """Forget both sets (a fixed reference included)."""
        self._real: list[torch.Tensor] = []
        self._fake: list[torch.Tensor] = []
        self._fixed_real = False

    def update(self, x: torch.Tensor, *, real: bool) -> None:
        """Add a batch of images (N, 3, H, W) in [0, data_range] to the real or generated set."""
        self._check_real_open(real)
        self._add(self.features(x), real)

    def update_features(self, features: torch.Tensor, *, real: bool) -> None:
        """Add precomputed features (N, dim) of :attr:`extractor`, e.g. from a cache."""
        self._check_real_open(real)
        self._add(self._check_features(features), real)

    def _add(self, features: torch.Tensor, real: bool) -> None:
        f = features.detach().to(float64_device(features.device), torch.float64)
        if self.normalize_features:
            f = f / f.norm(dim=-1, keepdim=True).clamp_min(1e-12)
        (self._real if real else self._fake).append(f)

    def set_reference(self, reference: GaussianStats | torch.Tensor | str | Path) -> None:
        """Fix the real side to features (N, dim) of :attr:`extractor`: a tensor or an ``.npy`` file."""
        if isinstance(reference, (str, Path)) and Path(reference).suffix.lower() == ".npy":
            reference = torch.from_numpy(np.load(reference))
        if not isinstance(reference, torch.Tensor):
            raise InputError(self._stats_refusal())
        self._real = []
        self._add(self._check_features(reference), real=True)
        self._fixed_real = True

    def gathered(self, real: bool) -> torch.Tensor:
        """All features of one set (on the newest batch's device), from every rank under torch.distributed."""
        parts = self._real if real else self._fake
        if not parts:
            raise InputError(
                f"{self._name()} has no {'real' if real else 'generated'} images: "
                f"call update(x, real={real}) for both sets"
            )
        dev = parts[-1].device
        local = torch.cat([p.to(dev) for p in parts])
        return local if real and self._fixed_real else gather_features(local)


class GeneratedSetMetric(FeatureSetMetric):
    """A one-sided metric (``uses_real = False``): it scores the generated set alone (IS, Vendi).

    The real side is taken in every form and ignored, so the metric sits in a panel next to
    two-sided ones (``iqa compare`` gives every metric both sides): real images are validated but
    not passed through the extractor; real features, real statistics and ``set_reference`` change
    nothing. Only the generated set's features are kept; ``compute()`` reports ``n_real=None``.
    """

    uses_real = False

    def update(self, x: torch.Tensor, *, real: bool) -> None:
        """Add a batch of generated images (N, 3, H, W) in [0, data_range]; real images are checked, then ignored."""
        if real:
            check_image(x, "x", data_range=self.data_range, channels=(3,))
            return
        self._add(self.features(x), real=False)

    def update_features(self, features: torch.Tensor, *, real: bool) -> None:
        """Add precomputed features (N, dim) of :attr:`extractor` of generated images; real ones are checked, then ignored."""
        checked = self._check_features(features)
        if not real:
            self._add(checked, real=False)

    def update_stats(self, stats: GaussianStats, *, real: bool) -> None:
        """Real statistics are ignored; generated ones are refused (the metric needs the features)."""
        if not real:
            raise InputError(self._stats_refusal())

    def set_reference(self, reference: GaussianStats | torch.Tensor | str | Path) -> None:
        """Nothing to fix: the metric uses no reference (accepted, so a panel with a reference runs)."""

    def compute(self) -> DistributionResult:  # pragma: no cover - abstract
        raise NotImplementedError


class RBFMMDMetric(FeatureSetMetric):
    """CMMD's formula, ``1000 * MMD^2`` with a Gaussian RBF kernel (sigma 10) on unit-norm features.

    Args:
        estimator: 'biased' (V-statistic, the CMMD reference code's) or 'unbiased' (drops the i == j terms).
        reference_batch_size: use only whole batches of this size per set, as the reference's
            tf.data pipeline does (``drop_remainder=True``); None uses every image.
    """

    normalize_features = True
    sigma: ClassVar[float] = 10.0
    scale: ClassVar[float] = 1000.0

    def __init__(
        self,
        *,
        extractor: str | FeatureExtractor,
        weights: str | Path | None = None,
        estimator: MMDEstimator = "biased",
        reference_batch_size: Annotated[int | None, Range(1)] = None,
        data_range: DataRange = 1.0,
    ) -> None:
        super().__init__(extractor=extractor, weights=weights, data_range=data_range)
        self.estimator, self.reference_batch_size = estimator, reference_batch_size
        self.reset()

    def _set(self, real: bool) -> torch.Tensor:
        e = self.gathered(real)
        if self.reference_batch_size:
            e = e[: len(e) // self.reference_batch_size * self.reference_batch_size]
            if len(e) == 0:
                raise InputError(f"fewer images than reference_batch_size={self.reference_batch_size}")
        return e

    def compute(self) -> DistributionResult:
        """``scale * MMD^2`` between the accumulated real and generated features; lower is better."""
        fake = self._set(False)
        real = self._set(True).to(fake.device)
        value = self.scale * mmd2_rbf(real, fake, sigma=self.sigma, biased=self.estimator == "biased")
        return DistributionResult(float(value), n_real=len(real), n_fake=len(fake))
