"""ms_ssim: golden values, the msssim.m oracle (odd sizes included), piq/torchmetrics parity."""

from __future__ import annotations

import numpy as np
import pytest
import torch

import iqa
from iqa.metrics.fr.ms_ssim import WANG_WEIGHTS, ms_ssim
from iqa.transforms.color import rgb_to_y
from tests.helpers.distort import blurred, noisy
from tests.helpers.golden import golden_inputs, load_golden
from tests.oracles.matlab_rgb2gray import gray_levels
from tests.oracles.matlab_ssim import msssim, rgb2ycbcr_y


def test_golden() -> None:
    doc = load_golden("ms_ssim")
    m = iqa.create("ms_ssim")
    for key, (d, r) in golden_inputs().items():
        assert m(d, r).item() == pytest.approx(doc["values"][key], abs=doc["atol"]), key


@pytest.mark.parametrize("h,w", [(176, 176), (256, 256), (301, 333), (385, 517)])
def test_matches_msssim_m_oracle(h: int, w: int, photo) -> None:  # noqa: ANN001
    ref = photo[..., :h, :w]
    dist = blurred(noisy(ref, 0.04), 1)
    np_ = lambda t: t[0].permute(1, 2, 0).double().numpy()  # noqa: E731
    expected = msssim(rgb2ycbcr_y(np_(dist)), rgb2ycbcr_y(np_(ref)))
    assert ms_ssim(dist.double(), ref.double()).item() == pytest.approx(expected, abs=1e-10)
    assert ms_ssim(dist, ref).item() == pytest.approx(expected, abs=5e-6)


@pytest.mark.parametrize("h,w", [(176, 176), (301, 333)])
def test_wtd_sum_matches_msssim_m_oracle(h: int, w: int, photo) -> None:  # noqa: ANN001
    ref = photo[..., :h, :w]
    dist = blurred(noisy(ref, 0.04), 1)
    np_ = lambda t: t[0].permute(1, 2, 0).double().numpy()  # noqa: E731
    expected = msssim(rgb2ycbcr_y(np_(dist)), rgb2ycbcr_y(np_(ref)), method="wtd_sum")
    m = iqa.create("ms_ssim_wtd_sum")
    assert m(dist.double(), ref.double()).item() == pytest.approx(expected, abs=1e-10)
    assert m(dist, ref).item() == pytest.approx(expected, abs=5e-6)
    assert expected != pytest.approx(msssim(rgb2ycbcr_y(np_(dist)), rgb2ycbcr_y(np_(ref))), abs=1e-5)  # product


def test_wtd_sum_goes_negative_where_product_is_clamped() -> None:
    x = torch.rand(1, 1, 200, 200, dtype=torch.float64, generator=torch.Generator().manual_seed(0))
    assert iqa.create("ms_ssim_wtd_sum")(1 - x, x).item() < 0  # anti-correlated: its range is [-1, 1]


@pytest.mark.parametrize("gray", ["rgb2gray_uint8", "rgb2gray_rounded"])
def test_rgb2gray_protocol_matches_msssim_m_on_grey(gray: str, photo) -> None:  # noqa: ANN001
    """The LIVE/TID protocol: msssim.m on rgb2gray grey levels instead of rgb2ycbcr Y."""
    ref = photo[..., :256, :256].double()
    dist = blurred(noisy(ref, 0.04), 1)
    dist = torch.round(dist * 255) / 255  # as if saved to an 8-bit file
    np_ = lambda t: t[0].permute(1, 2, 0).numpy()  # noqa: E731
    if gray == "rgb2gray_uint8":
        a, b = gray_levels(np_(dist)), gray_levels(np_(ref))
    else:
        a, b = (np_(t) @ np.array([0.2989, 0.5870, 0.1140]) * 255 for t in (dist, ref))
    assert iqa.create("ms_ssim", gray=gray)(dist, ref).item() == pytest.approx(msssim(a, b), abs=1e-10)


def test_matches_piq_on_y_for_sizes_divisible_by_16(photos) -> None:  # noqa: ANN001
    # piq agrees when every scale has even size (its top/left padding rule is not in play) and the
    # weights are normalised as piq does. Inputs: the Y channel, since piq works per RGB channel.
    piq = pytest.importorskip("piq")
    y_ref = rgb_to_y(photos)
    y_dist = rgb_to_y(blurred(noisy(photos, 0.05), 1))
    w = tuple(v / sum(WANG_WEIGHTS) for v in WANG_WEIGHTS)
    ours = ms_ssim(y_dist, y_ref, weights=w)
    assert torch.allclose(piq.multi_scale_ssim(y_dist, y_ref, data_range=1.0, reduction="none"), ours, atol=1e-5)


def test_torchmetrics_differs_only_by_its_border_windows(photos) -> None:  # noqa: ANN001
    # torchmetrics averages the last-scale SSIM over reflect-padded border windows (see
    # test_ssim.py::test_torchmetrics_convention_explained); the effect here is ~1e-4.
    tm = pytest.importorskip("torchmetrics.functional.image")
    y_ref = rgb_to_y(photos)
    y_dist = rgb_to_y(blurred(noisy(photos, 0.05), 1))
    w = tuple(v / sum(WANG_WEIGHTS) for v in WANG_WEIGHTS)
    ours = ms_ssim(y_dist, y_ref, weights=w)
    theirs = torch.stack(
        [
            tm.multiscale_structural_similarity_index_measure(
                y_dist[i : i + 1], y_ref[i : i + 1], data_range=1.0, betas=w, normalize=None
            )
            for i in range(len(photos))
        ]
    )
    gap = (theirs - ours).abs().max().item()
    assert 1e-6 < gap < 1e-3


def test_too_small_names_the_limit() -> None:
    x = torch.rand(1, 3, 175, 400)
    with pytest.raises(ValueError, match="176x176"):
        ms_ssim(x, x)


def test_negative_contrast_structure_is_clamped() -> None:
    x = torch.rand(1, 1, 200, 200, dtype=torch.float64)
    out = ms_ssim(1 - x, x)  # anti-correlated: MATLAB would return a complex number
    assert torch.isfinite(out).all() and 0 <= out.item() <= 1
    assert np.isfinite(out.item())
