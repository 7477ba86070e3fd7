"""niqe: the MATLAB algorithm against pyiqa's port fed MATLAB rgb2gray output, precision differences explained;
flat areas; properties."""

from __future__ import annotations

import numpy as np
import pytest
import torch

import iqa
import iqa.metrics.nr.niqe as niqe_mod
from iqa.augment import distort
from iqa.io import read_image
from iqa.transforms import nss
from tests.conftest import shared_path
from tests.oracles.matlab_rgb2gray import gray_levels

SET14 = ("baboon", "lenna", "monarch", "zebra")


@pytest.fixture(scope="module")
def rgb() -> list[torch.Tensor]:
    root = shared_path("data", "images", "Set14")
    return [(read_image(root / f"{n}.bmp")[None] * 255).round().double() / 255 for n in SET14]


@pytest.fixture(scope="module")
def grey(rgb) -> list[torch.Tensor]:  # noqa: ANN001
    """double(rgb2gray(imread(file))) of each image (the float64 oracle), on 0-1."""
    return [torch.from_numpy(gray_levels(x[0].permute(1, 2, 0).numpy()))[None, None] / 255 for x in rgb]


def pristine() -> tuple[torch.Tensor, torch.Tensor]:
    z = np.load(shared_path("weights", "niqe_pris_params.npz"))
    return torch.from_numpy(z["mu_pris_param"]).double(), torch.from_numpy(z["cov_pris_param"]).double()


def make() -> iqa.metrics.base.NRMetric:  # type: ignore[name-defined]
    return iqa.create("niqe", weights=shared_path("weights", "niqe_pris_params.npz"))


def test_matches_pyiqa_with_its_float32_constants(rgb, grey, monkeypatch) -> None:  # noqa: ANN001
    """pyiqa (fed MATLAB rgb2gray levels) builds the alpha grid and the Gaussian window in float32;
    given the same constants, iqa on the RGB image agrees to 1e-5 where no 7x7 window is constant
    (monarch). The others have 0.005-0.03 % constant windows, where pyiqa keeps the convolution's
    rounding noise and we MATLAB's value: measured gaps up to 2e-4 relative (zebra)."""
    na = pytest.importorskip("pyiqa.archs.niqe_arch")

    def grid32() -> tuple[torch.Tensor, torch.Tensor]:
        gam = torch.arange(0.2, 10 + 0.001, 0.001).double()  # float32 arange, as pyiqa
        return gam, (2 * torch.lgamma(2 / gam) - torch.lgamma(1 / gam) - torch.lgamma(3 / gam)).exp()

    window = nss.gaussian_window
    monkeypatch.setattr(niqe_mod, "gamma_grid", grid32)
    monkeypatch.setattr(nss, "gaussian_window", lambda: window().float().double())
    mu, cov = pristine()
    m = make()
    for name, x, g in zip(SET14, rgb, grey):
        ref = na.niqe(g * 255, mu.view(1, -1), cov.unsqueeze(0)).item()
        # the rest: pyiqa's float32 imresize
        assert m(x).item() == pytest.approx(ref, rel=1e-5 if name == "monarch" else 5e-4)


def test_float64_default_stays_close_to_pyiqa(rgb, grey) -> None:  # noqa: ANN001
    """MATLAB computes in double; our default does too. A few alpha grid choices flip vs pyiqa."""
    na = pytest.importorskip("pyiqa.archs.niqe_arch")
    mu, cov = pristine()
    m = make()
    for x, g in zip(rgb, grey):
        assert m(x).item() == pytest.approx(na.niqe(g * 255, mu.view(1, -1), cov.unsqueeze(0)).item(), rel=1e-3)


def test_rgb_is_matlab_rgb2gray_on_uint8(photos) -> None:  # noqa: ANN001
    """RGB input scores exactly as the oracle's rgb2gray levels do; the float conversions are options."""
    x = photos[:1].double()
    g = torch.from_numpy(gray_levels(x[0].permute(1, 2, 0).numpy()))[None, None] / 255
    m = make()
    assert m(x).item() == m(g).item()
    opt = iqa.create("niqe", weights=shared_path("weights", "niqe_pris_params.npz"), gray="rgb2gray_rounded")
    assert opt.gray == "rgb2gray_rounded" and opt(x).item() != m(x).item()


def test_flat_blocks_are_dropped_and_batch_independent(grey) -> None:  # noqa: ANN001
    """A 96x96 block that is all one level has no AGGD fit (one side empty: NaN, as MATLAB's mean([]))
    and is left out, as computequality.m's nanmean/nancov do; flat areas never depend on the batch."""
    m = make()
    scenes = []
    for level in (255.0, 128.0, 0.0):  # saturated, posterised, black
        x = grey[1][..., :192, :288].clone() * 255  # lenna, 2 x 3 blocks
        x[..., :116, :] = level  # the top row of blocks and its windows, at both scales, one level
        feats = niqe_mod.niqe_features(x[0, 0])
        assert feats[:3].isnan().any(1).all() and not feats[3:].isnan().any()
        scenes.append(x / 255)
    batch = torch.cat([*scenes, grey[1][..., :192, :288]])
    assert torch.equal(m(batch), torch.cat([m(batch[:1]), m(batch[1:])]))
    assert torch.isfinite(m(batch)).all()


def test_properties(grey) -> None:  # noqa: ANN001
    m = make()
    g = grey[1][:, :, :384, :384].float()  # lenna
    vals = [m(distort(g.expand(-1, 3, -1, -1), "gaussian_blur", level=k)).item() for k in (1, 3, 5)]
    assert vals[0] < vals[1] < vals[2]  # blur moves the statistics away from the pristine model
    assert m(g).dtype == torch.float32 and m(g.double()).dtype == torch.float64
    with pytest.raises(iqa.errors.InputError, match="at least 192"):
        m(g[:, :, :100, :100])
