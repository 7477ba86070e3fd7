"""vif (wavelet): pyramid = pyrtools' buildSpyr; score = a float64 transcription of vifvec.m fed MATLAB
rgb2gray output; pyiqa compared."""

from __future__ import annotations

import numpy as np
import pytest
import torch

import iqa
from iqa.augment import distort
from iqa.transforms.pyramids import spatial_pyramid
from tests.oracles.matlab_rgb2gray import gray_levels
from tests.oracles.vifvec_official import vifvec

ROUNDED = torch.tensor([0.2989, 0.5870, 0.1140], dtype=torch.float64).view(1, 3, 1, 1)  # iqa 0.1's conversion


def matlab_grey(x: torch.Tensor) -> np.ndarray:
    """double(rgb2gray(imread(file))) for one (3, H, W) image in [0, 1]: the script's input."""
    return gray_levels(x.permute(1, 2, 0).numpy())


def test_pyramid_equals_pyrtools_buildspyr() -> None:
    pt = pytest.importorskip("pyrtools")
    im = np.random.default_rng(0).random((96, 130)) * 255
    theirs = pt.pyramids.SteerablePyramidSpace(im, height=4, order=5, edge_type="reflect1").pyr_coeffs
    ours = spatial_pyramid(torch.from_numpy(im)[None, None], 4, tuple(range(6)))
    for level in range(4):
        for b in range(6):
            assert np.abs(ours[level][0, b].numpy() - theirs[(level, b)]).max() < 1e-9


@pytest.mark.parametrize("size", [(128, 160), (97, 131)])
@pytest.mark.parametrize("kind", ["jpeg", "gaussian_blur"])
def test_equals_vifvec_m_on_matlab_rgb2gray(photos, size, kind) -> None:  # noqa: ANN001
    # Default protocol: RGB in, the oracle fed MATLAB's uint8 rgb2gray levels. 1e-10: float64 on both
    # sides, the pyramids differ only in summation order (measured: at most 2e-14 here).
    pytest.importorskip("pyrtools")
    x = photos[:2, :, : size[0], : size[1]].double()
    y = distort(x, kind, level=3, seed=0)
    ours = iqa.create("vif")(y, x)
    for i in range(2):
        assert ours[i].item() == pytest.approx(vifvec(matlab_grey(x[i]), matlab_grey(y[i])), abs=1e-10)


def test_rounded_option_keeps_the_unrounded_conversion(photos) -> None:  # noqa: ANN001
    # gray="rgb2gray_rounded" is iqa 0.1's conversion (0.2989/0.5870/0.1140 on float data, no rounding).
    pytest.importorskip("pyrtools")
    x = photos[:2, :, :128, :160].double()
    y = distort(x, "gaussian_blur", level=3, seed=0)
    ours = iqa.create("vif", gray="rgb2gray_rounded")(y, x)
    gx, gy = (x * ROUNDED).sum(1) * 255, (y * ROUNDED).sum(1) * 255
    for i in range(2):
        theirs = vifvec(gx[i].numpy(), gy[i].numpy())
        assert ours[i].item() == pytest.approx(theirs, abs=1e-10)
        # The protocols differ by far more than the tolerance here (1.7e-3 and 3.4e-3, measured).
        assert abs(theirs - vifvec(matlab_grey(x[i]), matlab_grey(y[i]))) > 1e-6


def test_pyiqa_port_on_the_same_grey_input(photos, monkeypatch) -> None:  # noqa: ANN001
    va = pytest.importorskip("pyiqa.archs.vif_arch")
    monkeypatch.setattr(va, "to_y_channel", lambda t, scale: t * scale)  # skip its YCbCr conversion
    x = photos[:, :1, :128, :128].double()
    y = distort(x.expand(-1, 3, -1, -1), "white_noise", level=2, seed=0)[:, :1]
    theirs = va.VIF()(y.float(), x.float()).double()  # pyiqa keeps its filters in float32
    ours = iqa.create("vif")(y, x)
    assert torch.allclose(ours, theirs.flatten(), rtol=1e-4), (ours, theirs)


def test_properties(photos) -> None:  # noqa: ANN001
    m = iqa.create("vif")
    x = photos[:, :, :128, :128]
    assert torch.allclose(m(x, x), torch.ones(len(x)), atol=1e-6)
    vals = torch.stack([m(distort(x, "white_noise", level=k, seed=0), x) for k in (1, 3, 5)])
    assert (vals[1:] < vals[:-1]).all()
    assert torch.allclose(m(x[:, :, :72, :72], x[:, :, :72, :72]), torch.ones(len(x)), atol=1e-6)  # the smallest size


def test_missing_pyrtools_names_the_install_command(monkeypatch) -> None:  # noqa: ANN001
    import sys

    import iqa.transforms.pyramids as st

    monkeypatch.setitem(sys.modules, "pyrtools.pyramids.filters", None)  # import fails
    st.sp5_filters.cache_clear()
    try:
        with pytest.raises(iqa.errors.MissingDependencyError, match="pip install"):
            iqa.create("vif")
    finally:
        st.sp5_filters.cache_clear()


def test_flat_regions_do_not_crash_and_a_constant_reference_is_nan() -> None:
    # A piecewise-constant image makes some subbands' 3x3-block covariances singular (inv fails);
    # the pseudo-inverse keeps the index defined there. A constant reference is 0/0, as in vifvec.m.
    m = iqa.create("vif")
    steps = torch.full((1, 3, 128, 128), 0.5)
    steps[..., :64, :] = 0.2
    assert m(steps, steps).item() == pytest.approx(1.0)
    flat = torch.full((1, 3, 128, 128), 0.5)
    assert torch.isnan(m(torch.rand(1, 3, 128, 128), flat)).all()
