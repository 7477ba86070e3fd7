"""ssim / ssim_rgb: golden values, the ssim.m oracle, scikit-image and piq parity, conventions."""

from __future__ import annotations

import numpy as np
import pytest
import torch

import iqa
from iqa.metrics.fr.ssim import ssim, ssim_rgb
from iqa.transforms.matlab import downsample_factor
from tests.conftest import shared_path
from tests.helpers.distort import blurred, noisy
from tests.helpers.golden import golden_inputs, load_golden
from tests.oracles.matlab_rgb2gray import gray_levels
from tests.oracles.matlab_ssim import rgb2ycbcr_y, ssim_index


@pytest.mark.parametrize("metric", ["ssim", "ssim_rgb"])
def test_golden(metric: str) -> None:
    doc = load_golden(metric)
    m = iqa.create(metric)
    for key, (d, r) in golden_inputs().items():
        assert m(d, r).item() == pytest.approx(doc["values"][key], abs=doc["atol"]), key


def _np(x: torch.Tensor) -> np.ndarray:
    return x[0].permute(1, 2, 0).double().numpy()


@pytest.mark.parametrize(
    "h,w",
    [
        (120, 150),  # f = 1 (no downsampling)
        (384, 512),  # f = 2, even sizes
        (385, 511),  # f = 2, odd sizes (MATLAB pads at the end)
        (700, 777),  # f = 3, odd window centred by MATLAB's rule
        (1024, 1100),  # f = 4
        (640, 700),  # 640/256 = 2.5: MATLAB rounds to 3, Python's round() to 2
    ],
)
def test_matches_ssim_m_oracle(h: int, w: int) -> None:
    src = shared_path("data", "images", "Urban50")
    from PIL import Image

    im = Image.open(sorted(src.glob("*.png"))[3]).convert("RGB").resize((w, h), Image.BICUBIC)
    ref = torch.from_numpy(np.asarray(im).copy()).permute(2, 0, 1).unsqueeze(0).float() / 255
    dist = blurred(noisy(ref, 0.03), 1)
    expected = ssim_index(rgb2ycbcr_y(_np(dist)), rgb2ycbcr_y(_np(ref)))[0]
    assert ssim(dist, ref).item() == pytest.approx(expected, abs=5e-6)
    assert ssim(dist.double(), ref.double()).item() == pytest.approx(expected, abs=1e-10)


def test_matlab_rounding_of_the_factor() -> None:
    assert downsample_factor(640, 1000) == 3  # round(2.5) = 3 in MATLAB
    assert downsample_factor(384, 512) == 2  # round(1.5) = 2
    assert downsample_factor(127, 900) == 1
    assert downsample_factor(1152, 2000) == 5  # round(4.5) = 5; Python round gives 4


def test_quantize_y_matches_matlab_uint8_path() -> None:
    x = torch.rand(1, 3, 64, 64)
    y = noisy(x, 0.1)
    expected = ssim_index(rgb2ycbcr_y(_np(y), uint8=True), rgb2ycbcr_y(_np(x), uint8=True))[0]
    assert ssim(y.double(), x.double(), quantize_y=True).item() == pytest.approx(expected, abs=1e-10)


@pytest.mark.parametrize("downsample", [True, False])
def test_rgb2gray_protocol_matches_ssim_m_on_grey(downsample: bool, photos) -> None:  # noqa: ANN001
    """The LIVE/TID tables' protocol: ssim.m on double(rgb2gray(imread(f))), with or without downsampling."""
    x = photos[:2].double()
    y = torch.round(noisy(x, 0.05) * 255) / 255  # as if saved to an 8-bit file
    ours = iqa.create("ssim", gray="rgb2gray_uint8", downsample=downsample)(y, x)
    for i in range(2):
        a, b = (gray_levels(_np(t[i : i + 1])) for t in (y, x))
        assert ours[i].item() == pytest.approx(ssim_index(a, b, downsample=downsample)[0], abs=1e-10)
    assert (ours - iqa.create("ssim", downsample=downsample)(y, x)).abs().max() > 1e-5  # Y is another channel


def test_ssim_rgb_matches_skimage_without_downsampling(photos) -> None:  # noqa: ANN001
    from skimage.metrics import structural_similarity

    y = noisy(photos, 0.05)
    ours = ssim_rgb(y.double(), photos.double(), downsample=False)
    for i in range(len(photos)):
        ref = structural_similarity(
            _np(y[i : i + 1]),
            _np(photos[i : i + 1]),
            channel_axis=2,
            gaussian_weights=True,
            sigma=1.5,
            use_sample_covariance=False,
            data_range=1.0,
        )
        assert ours[i].item() == pytest.approx(ref, abs=1e-10)


def test_matches_piq_where_conventions_agree() -> None:
    # piq downsamples with avg_pool2d(f) and Python's round(); that is ssim.m exactly when f == 2
    # and both sides are even. float32 in both; 1e-5 covers summation-order differences.
    piq = pytest.importorskip("piq")
    x = torch.rand(3, 3, 384, 512)
    y = noisy(x, 0.05)
    assert torch.allclose(piq.ssim(y, x, data_range=1.0, reduction="none"), ssim_rgb(y, x), atol=1e-5)


def test_piq_differs_where_matlab_rounds_up() -> None:
    # Documented divergence: at 640 px piq uses f = 2, ssim.m f = 3.
    piq = pytest.importorskip("piq")
    x = torch.rand(1, 3, 640, 640)
    y = blurred(noisy(x, 0.05), 1)
    assert abs(piq.ssim(y, x, data_range=1.0).item() - ssim_rgb(y, x).item()) > 1e-3


def test_torchmetrics_convention_explained() -> None:
    # torchmetrics pads with reflection, filters, and averages the SSIM map over the *whole* image,
    # border windows included; ssim.m, scikit-image and piq average only windows inside the image.
    # The oracle on reflect-padded inputs reproduces torchmetrics, so the gap (up to 1.5e-2 on the
    # benchmark images) is that convention, not an error on either side.
    tm = pytest.importorskip("torchmetrics.functional.image")
    x = torch.rand(1, 1, 60, 70, dtype=torch.float64)
    y = noisy(x, 0.1)
    pad = lambda t: np.pad(t[0, 0].numpy() * 255, 5, mode="reflect")  # noqa: E731
    theirs = tm.structural_similarity_index_measure(
        y, x, data_range=1.0, gaussian_kernel=True, sigma=1.5, kernel_size=11
    )
    assert theirs.item() == pytest.approx(ssim_index(pad(y), pad(x), downsample=False)[0], abs=1e-9)
    assert abs(theirs.item() - ssim(y, x, downsample=False).item()) > 1e-3


def test_grey_input_is_used_as_luma() -> None:
    x = torch.rand(2, 1, 50, 50)
    y = noisy(x, 0.1)
    expected = [ssim_index(y[i, 0].double().numpy() * 255, x[i, 0].double().numpy() * 255)[0] for i in range(2)]
    assert ssim(y.double(), x.double()).tolist() == pytest.approx(expected, abs=1e-10)


def test_symmetric_in_its_arguments(photos) -> None:  # noqa: ANN001
    y = noisy(photos, 0.1)
    assert torch.allclose(ssim(y, photos), ssim(photos, y), atol=1e-6)


def test_options_validated() -> None:
    with pytest.raises(ValueError, match="kernel_size"):
        iqa.create("ssim", kernel_size=4)
    with pytest.raises(ValueError, match="data_range"):
        iqa.create("ssim", data_range=0)
