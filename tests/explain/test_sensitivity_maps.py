"""Sensitivity maps: both routes agree, options are checked, and on real images (EfficientNet-Lite0
with its ImageNet weights, ../shared images) the map points at the content that separates the sets.
"""

from __future__ import annotations

import numpy as np
import pytest
import torch
from torch import nn

from iqa.errors import InputError
from iqa.explain import sensitivity_maps
from iqa.explain.render import overlay, upsample_map
from iqa.features.base import FeatureExtractor
from iqa.stats import GaussianStats


class TinyExtractor(FeatureExtractor):
    """A small conv net with a 6x6 ReLU map and mean pooling (float64 so routes compare tightly)."""

    name, dim, spatial_layer = "tiny", 8, "conv2"

    def __init__(self) -> None:
        super().__init__()
        torch.manual_seed(0)
        self.net = nn.Sequential(
            nn.Conv2d(3, 6, 3, stride=2, padding=1), nn.ReLU(), nn.Conv2d(6, 8, 3, stride=2, padding=1), nn.ReLU()
        )
        self.net.double()

    def spatial(self, x: torch.Tensor) -> torch.Tensor:
        return self.net(x.double())

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.pool(self.spatial(x))


def _stats(ext: FeatureExtractor, n: int, seed: int, shift: float = 0.0) -> GaussianStats:
    x = torch.rand(n, 3, 24, 24, generator=torch.Generator().manual_seed(seed)) ** (1 + shift)
    with torch.no_grad():
        return GaussianStats(ext.dim).update(ext(x))


@pytest.mark.parametrize("weighting", ["grad_sq", "grad"])
@pytest.mark.parametrize("leave_one_out", [False, True])
def test_closed_form_and_autograd_maps_agree(weighting: str, leave_one_out: bool) -> None:
    ext = TinyExtractor()
    ref, gen = _stats(ext, 60, 1), _stats(ext, 50, 2, shift=0.5)
    imgs = torch.rand(3, 3, 24, 24, generator=torch.Generator().manual_seed(3))
    a = sensitivity_maps(ext, imgs, ref, gen, weighting=weighting, route="closed_form", leave_one_out=leave_one_out)
    b = sensitivity_maps(ext, imgs, ref, gen, weighting=weighting, route="autograd", leave_one_out=leave_one_out)
    assert a.maps.shape == (3, 6, 6)
    assert float((a.maps - b.maps).norm() / b.maps.norm()) < 1e-6
    torch.testing.assert_close(a.contribution, b.contribution, rtol=1e-9, atol=1e-12)
    assert a.maps.std() > 0  # not a constant map


def test_leave_one_out_contribution_is_fid_with_minus_without() -> None:
    ext = TinyExtractor()
    imgs = torch.rand(40, 3, 24, 24, generator=torch.Generator().manual_seed(5))
    with torch.no_grad():
        feats = ext(imgs)
    ref, gen = _stats(ext, 60, 1), GaussianStats(ext.dim).update(feats)
    s = sensitivity_maps(ext, imgs[:1], ref, gen, leave_one_out=True)
    from iqa.stats import frechet_distance

    rest = GaussianStats(ext.dim).update(feats[1:])
    with_all = frechet_distance(ref.mean, ref.cov, gen.mean, gen.cov)
    without = frechet_distance(ref.mean, ref.cov, rest.mean, rest.cov)
    assert abs(float(s.contribution[0]) - float(with_all - without)) < 1e-9


def test_bad_options_and_singular_statistics_are_explained() -> None:
    ext = TinyExtractor()
    ref, gen = _stats(ext, 60, 1), _stats(ext, 50, 2)
    x = torch.rand(1, 3, 24, 24)
    with pytest.raises(InputError, match="weighting"):
        sensitivity_maps(ext, x, ref, gen, weighting="relu")
    with pytest.raises(InputError, match="route"):
        sensitivity_maps(ext, x, ref, gen, route="hooks")
    few = _stats(ext, 5, 9)
    with pytest.raises(InputError, match="singular.*ridge"):
        sensitivity_maps(ext, x, few, gen)
    assert sensitivity_maps(ext, x, few, gen, ridge=1e-3).maps.isfinite().all()
    with pytest.raises(InputError, match="no spatial map"):
        FeatureExtractor().spatial(x)


def test_overlay_rendering() -> None:
    img = torch.rand(3, 50, 70)
    heat = torch.zeros(6, 6)
    heat[0, 0] = 1.0
    ov = overlay(img, heat)
    assert ov.shape == (50, 70, 3) and ov.dtype == np.uint8
    up = upsample_map(heat, (50, 70))
    assert up[:8, :12].mean() > up[30:, 40:].mean()  # the hot corner stays where it was
    assert np.isfinite(upsample_map(torch.ones(4, 4), (8, 8))).all()  # constant map: zeros, no NaN


def test_fid_inception_exposes_its_8x8_map_for_attribution() -> None:
    """The FID Inception (random weights: architecture only) works with both routes."""
    from iqa.features.inception import FIDInceptionNet, FIDInceptionPytorchFID

    torch.manual_seed(0)
    ext = FIDInceptionPytorchFID(net=FIDInceptionNet().eval())
    imgs = torch.rand(1, 3, 64, 80, generator=torch.Generator().manual_seed(1))
    with torch.no_grad():
        torch.testing.assert_close(ext.pool(ext.spatial(imgs)), ext(imgs), rtol=1e-5, atol=1e-6)
    g = torch.Generator().manual_seed(2)
    ref = GaussianStats(2048).update(torch.randn(60, 2048, generator=g, dtype=torch.float64))
    gen = GaussianStats(2048).update(torch.randn(50, 2048, generator=g, dtype=torch.float64) * 1.1)
    a = sensitivity_maps(ext, imgs, ref, gen, ridge=1e-3, route="closed_form")
    b = sensitivity_maps(ext, imgs, ref, gen, ridge=1e-3, route="autograd")
    assert a.maps.shape == (1, 8, 8)
    assert float((a.maps - b.maps).norm() / b.maps.norm()) < 1e-6
    assert len(ext.class_names()) == 1008
