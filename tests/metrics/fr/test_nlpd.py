"""nlpd: equal to a float64 transcription of NLP_dist.m; pyiqa's port compared; properties."""

from __future__ import annotations

import pytest
import torch

import iqa
import iqa.metrics.fr.nlpd as nlpd_mod
from iqa.augment import distort
from tests.oracles.matlab_rgb2gray import gray_levels
from tests.oracles.nlpd_official import nlp_dist


@pytest.mark.parametrize("size", [(96, 128), (97, 131), (200, 181)])
def test_equals_nlp_dist_m(photos, size) -> None:  # noqa: ANN001
    x = photos[:, :1, : size[0], : size[1]].double()
    y = distort(x.expand(-1, 3, -1, -1), "jpeg", level=3, seed=0)[:, :1]
    ours = iqa.create("nlpd")(y, x)
    for i in range(len(x)):
        assert ours[i].item() == pytest.approx(nlp_dist(x[i, 0].numpy(), y[i, 0].numpy()), abs=1e-10)


def test_rgb_is_matlab_rgb2gray_of_8bit_files(photos) -> None:  # noqa: ANN001
    """NLP_dist.m on double(rgb2gray(imread(f))) / 255 of the same files equals iqa on the RGB images."""
    x = photos[:2, :, :96, :96].double()
    y = distort(x, "jpeg", level=1, seed=0)  # near lossless: the rounding of the grey levels counts
    ours = iqa.create("nlpd")(y, x)
    for i in range(len(x)):
        a, b = (gray_levels(t[i].permute(1, 2, 0).numpy()) / 255 for t in (x, y))
        assert ours[i].item() == pytest.approx(nlp_dist(a, b), abs=1e-10)
    # The float conversions stay available by name (rgb2gray's quoted weights, no rounding).
    w = torch.tensor([0.2989, 0.5870, 0.1140], dtype=torch.float64).view(1, 3, 1, 1)
    g, gy = (x * w).sum(1, keepdim=True), (y * w).sum(1, keepdim=True)
    rounded = iqa.create("nlpd", gray="rgb2gray_rounded")(y, x)
    assert torch.allclose(rounded, iqa.create("nlpd")(gy, g), atol=1e-12)
    assert (rounded - ours).abs().max() > 1e-3 * ours.abs().max()


def test_pyiqa_port_drops_one_filter_tap(photos, monkeypatch) -> None:  # noqa: ANN001
    na = pytest.importorskip("pyiqa.archs.nlpd_arch")
    x = photos[:, :1, :128, :128].double()
    y = distort(x.expand(-1, 3, -1, -1), "white_noise", level=2, seed=0)[:, :1]
    net = na.NLPD(channels=1, test_y_channel=True).double()
    # Its pyramid on our grey input (its forward would first convert RGB to a YCbCr Y channel).
    theirs = torch.stack(
        [torch.sqrt(((a - b) ** 2).mean((1, 2, 3))) for a, b in zip(net.pyramid(y), net.pyramid(x))], 1
    ).mean(1)
    ours = iqa.create("nlpd")(y, x)
    assert not torch.allclose(ours, theirs, rtol=1e-3)
    # pyiqa keeps the first level's filter as 3x3 and so loses its 0.0072 tap at (3, 5), and
    # stores the filters in float32. Without that tap the two agree.
    taps = list(nlpd_mod.DN_TAPS)
    taps[0] = {k: v for k, v in taps[0].items() if k != (2, 4)}
    monkeypatch.setattr(nlpd_mod, "DN_TAPS", tuple(taps))
    assert torch.allclose(iqa.create("nlpd")(y, x), theirs, rtol=1e-6)


def test_properties(photos) -> None:  # noqa: ANN001
    m = iqa.create("nlpd")
    x = photos[:, :, :96, :96]
    assert torch.all(m(x, x) == 0)
    scores = torch.stack([m(distort(x, "white_noise", level=k, seed=1), x) for k in (1, 3, 5)])
    assert (scores[1:] > scores[:-1]).all()
