"""FID sensitivity heatmaps: where in an image the Frechet distance looks.

Paper: Kynkaanniemi et al., "The Role of ImageNet Classes in Frechet Inception Distance", ICLR
2023; reference implementation kynkaat/role-of-imagenet-classes-in-fid (``fid_heatmaps/``).

Set-up ("N - 1 + 1"): the image's features ``f`` are added to the generated statistics of n
images with the exact online update, FD to the reference statistics is differentiated with
respect to the extractor's last spatial map A (C, h, w), channels are weighted by the mean of the
*squared* gradient (``weighting="grad_sq"``, the paper's variant; ``"grad"`` is standard
Grad-CAM's mean gradient) and summed over channels, with no ReLU.

Two routes give the same map: ``"autograd"`` back-propagates through the extractor's pooling;
``"closed_form"`` uses dFD/df in closed form (:func:`feature_gradient`) and that the pooled
feature is the spatial mean of A, so dFD/dA_k(i, j) = dFD/df_k / (h w) is constant over space.

``leave_one_out=True`` explains images that are members of the generated set: their own features
are first removed from the statistics (exactly), so the map says how the set's FID depends on them.
"""

from __future__ import annotations

from dataclasses import dataclass

import torch

from iqa.errors import InputError
from iqa.features.base import FeatureExtractor
from iqa.stats import FrechetReference, GaussianStats, add_one, feature_gradient, float64_device, remove_one

WEIGHTINGS = ("grad_sq", "grad")
ROUTES = ("closed_form", "autograd")


@dataclass
class Sensitivity:
    """Per explained image: raw maps (N, h, w), FID with the image added, the FID it adds, features."""

    maps: torch.Tensor
    fid_with: torch.Tensor
    contribution: torch.Tensor
    features: torch.Tensor
    fid_without: torch.Tensor


def check_options(weighting: str, route: str) -> None:
    """Refuse an unknown weighting or route."""
    if weighting not in WEIGHTINGS:
        raise InputError(f"weighting must be one of {WEIGHTINGS}, got {weighting!r}")
    if route not in ROUTES:
        raise InputError(f"route must be one of {ROUTES}, got {route!r}")


def _base_stats(
    generated: GaussianStats, f: torch.Tensor, leave_one_out: bool
) -> tuple[torch.Tensor, torch.Tensor, int]:
    if leave_one_out:
        mean, cov = remove_one(generated.mean, generated.cov, generated.n, f.detach())
        return mean, cov, generated.n - 1
    return generated.mean, generated.cov, generated.n


def absolute_ridge(reference: GaussianStats, ridge: float) -> float:
    """A ridge given relative to the mean variance of the reference features, made absolute."""
    if ridge < 0:
        raise InputError(f"ridge must be >= 0, got {ridge}")
    return float(ridge * torch.trace(reference.cov) / reference.dim) if ridge else 0.0


def channel_weights(grad_f: torch.Tensor, hw: int, weighting: str) -> torch.Tensor:
    """Channel weights from dFD/df when dFD/dA is spatially constant (= dFD/df / hw)."""
    g = grad_f / hw
    return g.square() if weighting == "grad_sq" else g


def weighted_map(a: torch.Tensor, alpha: torch.Tensor) -> torch.Tensor:
    """sum_k alpha_k A_k, no ReLU: (C, h, w), (C,) -> (h, w), float64."""
    return torch.einsum("chw,c->hw", a.to(torch.float64), alpha.to(torch.float64))


_Step = tuple[torch.Tensor, torch.Tensor, "torch.Tensor | None"]  # (map, FD with, FD without when left out)


def _closed_form(
    ref: FrechetReference, generated: GaussianStats, a: torch.Tensor, f: torch.Tensor, weighting: str, loo: bool
) -> _Step:
    mean, cov, n = _base_stats(generated, f, loo)
    fd_with, grad_f = feature_gradient(ref, mean, cov, n, f)
    alpha = channel_weights(grad_f, a.shape[-1] * a.shape[-2], weighting)
    return weighted_map(a, alpha), fd_with, ref.distance(mean, cov) if loo else None


def _autograd(
    ref: FrechetReference,
    generated: GaussianStats,
    extractor: FeatureExtractor,
    a: torch.Tensor,
    weighting: str,
    loo: bool,
) -> _Step:
    a = a.detach().to(torch.float64).requires_grad_(True)
    f = extractor.pool(a[None])[0]
    mean, cov, n = _base_stats(generated, f, loo)
    new_mean, new_cov = add_one(mean, cov, n, f)
    fd_with = ref.distance(new_mean, new_cov)
    (grad,) = torch.autograd.grad(fd_with, a)
    alpha = grad.square().mean(dim=(1, 2)) if weighting == "grad_sq" else grad.mean(dim=(1, 2))
    return weighted_map(a.detach(), alpha), fd_with.detach(), ref.distance(mean, cov).detach() if loo else None


def sensitivity_maps(
    extractor: FeatureExtractor,
    images: torch.Tensor,
    reference: GaussianStats,
    generated: GaussianStats,
    *,
    weighting: str = "grad_sq",
    route: str = "closed_form",
    leave_one_out: bool = False,
    ridge: float = 0.0,
) -> Sensitivity:
    """FID sensitivity maps of ``images`` (N, 3, H, W) in [0, 1] (see the module docstring).

    Args:
        extractor: an extractor with a spatial map (``extractor.has_spatial_map``).
        images: the images to explain (N, 3, H, W) in [0, 1].
        reference: feature statistics of the reference set.
        generated: feature statistics of the generated set (same extractor).
        weighting: ``"grad_sq"`` (mean squared gradient per channel, the paper's) or ``"grad"``.
        route: ``"closed_form"`` (dFD/df in closed form) or ``"autograd"``; both give the same maps.
        leave_one_out: the images are members of the generated set: their own features are first
            removed from its statistics.
        ridge: fraction of the reference's mean feature variance added to both covariances'
            diagonals; needed when a set has no more images than feature dimensions (singular
            covariance), where FD has no gradient. 0 (default) is the exact FID.
    """
    check_options(weighting, route)
    for what, s in (("reference", reference), ("generated", generated)):
        if s.dim != extractor.dim:
            raise InputError(f"{what} statistics are {s.dim}-d, {extractor.name} gives {extractor.dim}-d features")
        if s.n <= s.dim and ridge == 0:
            raise InputError(
                f"{what} statistics come from {s.n} images for {s.dim}-d features: the covariance is singular "
                "and FID has no gradient; use more images (> dim) or pass ridge=1e-6 (--ridge)"
            )
    with torch.no_grad():
        spatial = extractor.spatial(images)
    dev = float64_device(spatial.device)  # the maps and statistics follow the extractor's device
    spatial, generated = spatial.to(dev, torch.float64), generated.to(dev)
    ref = FrechetReference.build(reference.mean.to(dev), reference.cov.to(dev), absolute_ridge(reference, ridge))
    feats = extractor.pool(spatial)
    maps: list[torch.Tensor] = []
    fd_with: list[torch.Tensor] = []
    fd_without: list[torch.Tensor] = []
    base: torch.Tensor | None = None  # FD of the set as it is: the same for every added image
    for a, f in zip(spatial, feats):
        if route == "closed_form":
            m, w, wo = _closed_form(ref, generated, a, f, weighting, leave_one_out)
        else:
            m, w, wo = _autograd(ref, generated, extractor, a, weighting, leave_one_out)
        maps.append(m)
        fd_with.append(w)
        if wo is None:
            base = base if base is not None else ref.distance(generated.mean, generated.cov)
            wo = base
        fd_without.append(wo)
    fw, fwo = torch.stack(fd_with), torch.stack(fd_without)
    return Sensitivity(torch.stack(maps), fw, fw - fwo, feats, fwo)
