"""niqe: the MATLAB algorithm against pyiqa's port, precision differences explained; properties."""

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

SET14 = ("baboon", "lenna", "monarch", "zebra")


@pytest.fixture(scope="module")
def grey() -> list[torch.Tensor]:
    root = shared_path("data", "images", "Set14")
    return [(read_image(root / f"{n}.bmp")[None, :1] * 255).round().double() / 255 for n in SET14]


def pristine() -> tuple[torch.Tensor, torch.Tensor]:
    z = np.load(shared_path("weights", "niqe_pris_params.npz"))
    return torch.from_numpy(z["mu_pris_param"]).double(), torch.from_numpy(z["cov_pris_param"]).double()


def make() -> iqa.metrics.base.NRMetric:  # type: ignore[name-defined]
    return iqa.create("niqe", weights=shared_path("weights", "niqe_pris_params.npz"))


def test_matches_pyiqa_with_its_float32_constants(grey, monkeypatch) -> None:  # noqa: ANN001
    """pyiqa builds the alpha grid and the Gaussian window in float32; given the same constants we agree to 1e-5."""
    na = pytest.importorskip("pyiqa.archs.niqe_arch")

    def grid32() -> tuple[torch.Tensor, torch.Tensor]:
        gam = torch.arange(0.2, 10 + 0.001, 0.001).double()  # float32 arange, as pyiqa
        return gam, (2 * torch.lgamma(2 / gam) - torch.lgamma(1 / gam) - torch.lgamma(3 / gam)).exp()

    window = nss.gaussian_window
    monkeypatch.setattr(niqe_mod, "gamma_grid", grid32)
    monkeypatch.setattr(nss, "gaussian_window", lambda: window().float().double())
    mu, cov = pristine()
    m = make()
    for g in grey:
        ref = na.niqe(g * 255, mu.view(1, -1), cov.unsqueeze(0)).item()
        assert m(g).item() == pytest.approx(ref, rel=1e-5)  # the rest: pyiqa's float32 imresize


def test_float64_default_stays_close_to_pyiqa(grey) -> None:  # noqa: ANN001
    """MATLAB computes in double; our default does too. A few alpha grid choices flip vs pyiqa."""
    na = pytest.importorskip("pyiqa.archs.niqe_arch")
    mu, cov = pristine()
    m = make()
    for g in grey:
        assert m(g).item() == pytest.approx(na.niqe(g * 255, mu.view(1, -1), cov.unsqueeze(0)).item(), rel=1e-3)


def test_rgb_is_matlab_rgb2gray_on_uint8(photos) -> None:  # noqa: ANN001
    x = photos[:1]
    u8 = (x * 255).round()
    g = torch.floor((u8 * torch.tensor([0.2989, 0.5870, 0.1140]).view(1, 3, 1, 1)).sum(1, keepdim=True) + 0.5) / 255
    m = make()
    assert m(x.double()).item() == pytest.approx(m(g.double()).item(), rel=1e-12)


def test_properties(grey) -> None:  # noqa: ANN001
    m = make()
    g = grey[1][:, :, :384, :384].float()  # lenna
    vals = [m(distort(g.expand(-1, 3, -1, -1), "gaussian_blur", level=k)).item() for k in (1, 3, 5)]
    assert vals[0] < vals[1] < vals[2]  # blur moves the statistics away from the pristine model
    assert m(g).dtype == torch.float32 and m(g.double()).dtype == torch.float64
    with pytest.raises(iqa.errors.InputError, match="at least 192"):
        m(g[:, :, :100, :100])
