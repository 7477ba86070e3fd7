"""dss: equal to a float64 transcription of dss_index.m; piq where its conventions agree; properties."""

from __future__ import annotations

import numpy as np
import pytest
import torch
import torch.nn.functional as F

import iqa
from iqa.augment import distort
from iqa.errors import InputError
from iqa.metrics.fr.dss import dct_subbands, dss
from tests.conftest import shared_path
from tests.oracles.dss_official import dct_decomp, dss_index
from tests.oracles.matlab_rgb2gray import gray_levels


def _grey(t: torch.Tensor) -> np.ndarray:
    """double(rgb2gray(imread(f))) of a (3, H, W) tensor in [0, 1] from an 8-bit file, on 0..255."""
    return gray_levels(t.permute(1, 2, 0).numpy())


def _sized(photos: torch.Tensor, size: tuple[int, int]) -> torch.Tensor:
    if size[0] > 256 or size[1] > 256:  # resized, then on 8-bit levels as if read from a file
        big = F.interpolate(photos[:2].double(), size=size, mode="bilinear", align_corners=False).clamp(0, 1)
        return torch.round(big * 255) / 255
    return photos[:, :, : size[0], : size[1]].double()


def test_subbands_are_the_scripts_decomposition(photos) -> None:  # noqa: ANN001
    y = photos[:1, :1, :64, :96].double() * 255
    ours = dct_subbands(y, 8)[0]
    decomp = dct_decomp(y[0, 0].numpy())
    for m in range(8):
        for n in range(8):
            assert np.abs(ours[m * 8 + n].numpy() - decomp[m::8, n::8]).max() < 1e-10


# 96x128; odd sides (cropped to 96x128); 300x401: 0.05 * 37 * 50 = 92.5, MATLAB pools 93 values.
@pytest.mark.parametrize("size", [(96, 128), (97, 135), (256, 256), (300, 401)])
def test_equals_dss_index_m(photos, size) -> None:  # noqa: ANN001
    x = _sized(photos, size)
    y = distort(x, "jpeg", level=3, seed=0)
    ours = iqa.create("dss")(y, x)
    ours32 = iqa.create("dss")(y.float(), x.float())
    for i in range(len(x)):
        expected = dss_index(_grey(y[i]), _grey(x[i]))
        # JPEG leaves flat blocks (zero AC variances), where sqrt(v1 v2) has an infinite slope: the rounding of
        # E[x^2] - mu^2 (the script's form; iqa centres first) then shows. Measured: up to 1.3e-8 after JPEG on
        # integer grey levels (more exactly flat blocks than unrounded grey), below 1e-12 after noise or blur.
        assert ours[i].item() == pytest.approx(expected, abs=3e-8)
        assert ours32[i].item() == pytest.approx(expected, abs=1e-6)  # computed in float64, rounded on return


def test_equals_dss_index_m_on_shared_photos_and_grey() -> None:
    from PIL import Image

    files = sorted(shared_path("data", "images", "TID-refs").glob("*.bmp"))[:2]
    x = torch.from_numpy(np.stack([np.asarray(Image.open(f).convert("RGB")) for f in files]))
    x = x.permute(0, 3, 1, 2).double() / 255
    y = distort(x, "white_noise", level=2, seed=1)
    ours, grey = dss(y, x), dss(y[:, :1], x[:, :1])
    for i in range(len(x)):
        assert ours[i].item() == pytest.approx(dss_index(_grey(y[i]), _grey(x[i])), abs=1e-9)
        assert grey[i].item() == pytest.approx(dss_index(y[i, 0].numpy() * 255, x[i, 0].numpy() * 255), abs=1e-9)


@pytest.mark.parametrize("size", [(96, 128), (256, 256), (97, 135)])  # piq's round() agrees with MATLAB's here
def test_piq_agrees_with_yiq_grey(photos, size) -> None:  # noqa: ANN001
    piq = pytest.importorskip("piq")
    x = _sized(photos, size)
    y = distort(x, "jpeg", level=3, seed=0)
    ours, theirs = dss(y, x, gray="yiq"), piq.dss(y, x, reduction="none")
    # piq sums the subband scores in a float32 buffer (and adds eps to each weight): measured 1.1e-8.
    assert torch.allclose(ours, theirs, rtol=0, atol=1e-7), (ours - theirs).abs().max()
    assert (dss(y, x) - theirs).abs().max() > 1e-7  # rgb2gray's weights, the default, differ from YIQ's


def test_piq_differs_by_its_rounding(photos) -> None:  # noqa: ANN001
    piq = pytest.importorskip("piq")
    x = photos[:, :, :40, :80].double()  # 5 x 10 coefficients per subband: round(2.5) is 3 in MATLAB, 2 in Python
    y = distort(x, "jpeg", level=3, seed=0)
    ours, theirs = dss(y, x, gray="yiq"), piq.dss(y, x, reduction="none")
    assert (ours - theirs).abs().max() > 1e-4
    yiq = np.array([0.299, 0.587, 0.114])
    for i in range(len(x)):  # the script on the same YIQ grey: only piq's round() differs
        a, b = (t[i].permute(1, 2, 0).numpy() @ yiq * 255 for t in (y, x))
        assert ours[i].item() == pytest.approx(dss_index(a, b), abs=1e-9)


def test_properties(photos) -> None:  # noqa: ANN001
    m = iqa.create("dss")
    x = photos[:, :, :96, :96]
    y = distort(x, "jpeg", level=3, seed=0)
    assert torch.allclose(m(x, x), torch.ones(len(x)), atol=1e-6)
    assert torch.allclose(m(y, x), m(x, y), atol=1e-7)  # symmetric
    scores = torch.stack([m(distort(x, "gaussian_blur", level=k), x) for k in (1, 3, 5)])
    assert (scores[1:] < scores[:-1]).all()
    g, gy = x[:, 1:2], y[:, 1:2]  # grey input equals the same grey level on three channels
    assert torch.allclose(m(gy, g), m(gy.expand(-1, 3, -1, -1), g.expand(-1, 3, -1, -1)), atol=1e-6)


def test_anti_correlated_dc_gives_negative_scores() -> None:
    g = torch.Generator().manual_seed(0)
    blocks = (
        torch.rand(1, 1, 16, 16, generator=g, dtype=torch.float64).repeat_interleave(8, -1).repeat_interleave(8, -2)
    )
    ref = 0.5 * blocks + 0.5 * torch.rand(1, 1, 128, 128, generator=g, dtype=torch.float64)
    img = 1 - blocks  # block means inverted, no texture
    score = dss(img, ref).item()
    assert -1 < score < 0
    assert score == pytest.approx(dss_index(img[0, 0].numpy() * 255, ref[0, 0].numpy() * 255), abs=1e-9)


def test_options_and_sizes(photos) -> None:  # noqa: ANN001
    x = photos[:1, :, :64, :64]
    y = distort(x, "jpeg", level=3, seed=0)
    assert dss(y, x, sigma_weight=3.0).item() != pytest.approx(dss(y, x).item(), abs=1e-6)
    with pytest.raises(InputError, match="allowed values"):
        iqa.create("dss", gray="lab")
    with pytest.raises(InputError, match="percentile"):
        iqa.create("dss", percentile=0)
    with pytest.raises(InputError, match="pooled value"):
        dss(y[..., :32, :32], x[..., :32, :32], percentile=0.02)  # 16 coefficients: round(0.32) = 0
    with pytest.raises(InputError, match="sigma_weight"):
        dss(y, x, sigma_weight=0.1)
