"""iqa.transforms.matlab: the MATLAB built-ins the reference scripts rely on."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from iqa.transforms.matlab import (
    RGB2GRAY,
    conv2_downsample,
    conv2_same,
    downsample_factor,
    fspecial_gaussian,
    imfilter_downsample,
    matlab_round,
    median,
    rgb2gray,
    to_gray,
)
from tests.oracles.matlab_rgb2gray import WEIGHTS, gray_levels


def test_rgb2gray_coefficients() -> None:
    x = torch.rand(2, 3, 5, 7, dtype=torch.float64)
    for name, w in RGB2GRAY.items():
        expected = x[:, 0:1] * w[0] + x[:, 1:2] * w[1] + x[:, 2:3] * w[2]
        assert torch.allclose(rgb2gray(x, coefficients=name), expected, atol=1e-15)
    # MATLAB's exact weights sum to 1 (to 1e-15); the quoted rounded ones sum to 0.9999.
    assert sum(RGB2GRAY["matlab"]) == pytest.approx(1.0, abs=1e-14)
    assert sum(RGB2GRAY["rounded"]) == pytest.approx(0.9999, abs=1e-12)


def test_rgb2gray_scales_and_passes_grey_through() -> None:
    x = torch.rand(1, 1, 4, 4, dtype=torch.float64) * 255
    assert torch.equal(rgb2gray(x, data_range=255), x)
    assert torch.allclose(rgb2gray(x, data_range=255, out_range=1.0), x / 255, atol=1e-15)


def test_quantize_is_matlab_uint8() -> None:
    u8 = torch.randint(0, 256, (2, 3, 6, 6)).double()
    grey = rgb2gray(u8 / 255, coefficients="rounded", quantize=True, out_range=255)
    w = torch.tensor(RGB2GRAY["rounded"], dtype=torch.float64).view(1, 3, 1, 1)
    assert torch.equal(grey, torch.floor((u8 * w).sum(1, keepdim=True) + 0.5))
    assert torch.equal(grey, grey.round())  # whole 8-bit levels


def test_quantize_passes_the_gradient_straight_through() -> None:
    x = torch.rand(1, 3, 4, 4, dtype=torch.float64, requires_grad=True)
    y = rgb2gray(x, coefficients="rounded", quantize=True, out_range=255)
    assert torch.equal(y.detach(), rgb2gray(x.detach(), coefficients="rounded", quantize=True, out_range=255))
    y.sum().backward()
    w = torch.tensor(RGB2GRAY["rounded"], dtype=torch.float64).view(1, 3, 1, 1) * 255
    assert torch.allclose(x.grad, w.expand_as(x))


def test_matlab_weights_are_rgb2gray_ms_inverse_ntsc_row() -> None:
    """The constants equal the first row of inv(rgb2ntsc's matrix), computed independently."""
    assert np.allclose(RGB2GRAY["matlab"], WEIGHTS, rtol=0, atol=1e-15)


@pytest.mark.parametrize("dtype", [torch.float32, torch.float64])
def test_to_gray_default_is_matlab_on_uint8_files(dtype) -> None:  # noqa: ANN001
    """The default protocol equals double(rgb2gray(imread(f))) for 8-bit data, in either dtype."""
    g = torch.Generator().manual_seed(0)
    u8 = torch.randint(0, 256, (2, 3, 9, 11), generator=g)
    # Include exact halves of the weighted sum's rounding neighbourhood: saturated and flat pixels.
    u8[:, :, 0, :] = 255
    u8[:, :, 1, :] = 0
    x = (u8.double() / 255).to(dtype)
    ours = to_gray(x, out_range=255).double()
    theirs = [gray_levels(x[i].double().permute(1, 2, 0).numpy()) for i in range(2)]
    assert np.array_equal(ours[:, 0].numpy(), np.stack(theirs))
    # data_range only rescales
    assert torch.equal(to_gray(x.double() * 255, data_range=255, out_range=255), ours)


def test_to_gray_named_protocols() -> None:
    x = torch.rand(1, 3, 5, 5, dtype=torch.float64)
    assert torch.equal(to_gray(x, gray="rgb2gray"), rgb2gray(x, coefficients="matlab"))
    assert torch.equal(to_gray(x, gray="rgb2gray_rounded"), rgb2gray(x, coefficients="rounded"))
    grey = torch.rand(1, 1, 5, 5, dtype=torch.float64)
    for g in ("rgb2gray_uint8", "rgb2gray", "rgb2gray_rounded"):
        assert torch.equal(to_gray(grey, gray=g), grey)  # grey input is never converted or rounded
    with pytest.raises(ValueError, match="rgb2gray_uint8"):
        to_gray(x, gray="yiq")  # type: ignore[arg-type]


def test_to_gray_rounding_keeps_the_gradient() -> None:
    x = torch.rand(1, 3, 4, 4, dtype=torch.float64, requires_grad=True)
    to_gray(x, out_range=255).sum().backward()
    w = torch.tensor(RGB2GRAY["matlab"], dtype=torch.float64).view(1, 3, 1, 1) * 255
    assert torch.allclose(x.grad, w.expand_as(x))


def test_matlab_round_and_factor() -> None:
    assert [matlab_round(v) for v in (0.5, 1.5, 2.5, -0.4)] == [1, 2, 3, 0]
    assert downsample_factor(640, 1000) == 3  # round(2.5) = 3 in MATLAB, 2 in Python
    assert downsample_factor(127, 900) == 1


def test_median_averages_the_middle_pair() -> None:
    v = torch.tensor([[4.0, 1.0, 3.0, 2.0], [5.0, 1.0, 9.0, 0.0]], dtype=torch.float64)
    assert median(v).tolist() == [2.5, 3.0]  # torch.median would give [2, 1]
    assert median(v[:, :3]).tolist() == [3.0, 5.0]
    assert median(torch.tensor([[1.0, 1.0, 1.0, 7.0]])).tolist() == [1.0]  # repeated middle value


def _conv2_same_numpy(x: torch.Tensor, k: torch.Tensor) -> torch.Tensor:
    """conv2 'full' by definition, then MATLAB's central part starting at floor(k/2)."""
    h, w = x.shape
    kh, kw = k.shape
    full = torch.zeros(h + kh - 1, w + kw - 1, dtype=x.dtype)
    for i in range(kh):
        for j in range(kw):
            full[i : i + h, j : j + w] += k[i, j] * x
    return full[kh // 2 : kh // 2 + h, kw // 2 : kw // 2 + w]


@pytest.mark.parametrize("shape", [(3, 3), (2, 2), (4, 3), (2, 5)])
def test_conv2_same_centres_as_matlab(shape) -> None:  # noqa: ANN001
    x = torch.rand(7, 9, dtype=torch.float64)
    k = torch.rand(*shape, dtype=torch.float64)
    assert torch.allclose(conv2_same(x[None, None], k)[0, 0], _conv2_same_numpy(x, k), atol=1e-14)


@pytest.mark.parametrize("f", [2, 3])
@pytest.mark.parametrize("size", [(8, 8), (9, 7)])
def test_conv2_downsample_is_conv2_then_stride(f, size) -> None:  # noqa: ANN001
    x = torch.rand(1, 2, *size, dtype=torch.float64)
    box = torch.full((f, f), 1.0 / f**2, dtype=torch.float64)
    expected = conv2_same(x, box)[..., ::f, ::f]
    assert torch.allclose(conv2_downsample(x, f), expected, atol=1e-14)


@pytest.mark.parametrize("f", [2, 3])
def test_imfilter_downsample_pads_symmetrically(f) -> None:  # noqa: ANN001
    x = torch.rand(1, 1, 7, 8, dtype=torch.float64)
    before = (f - 1) // 2
    xs = x[0, 0].numpy()
    padded = np.pad(xs, ((before, f - 1 - before), (before, f - 1 - before)), mode="symmetric")
    filt = np.zeros_like(xs)
    for i in range(f):
        for j in range(f):
            filt += padded[i : i + xs.shape[0], j : j + xs.shape[1]] / f**2
    assert np.allclose(imfilter_downsample(x, f)[0, 0].numpy(), filt[::f, ::f], atol=1e-14)


def test_fspecial_gaussian_sums_to_one() -> None:
    h = fspecial_gaussian(5, 7, 1.2, torch.float64)
    assert h.shape == (5, 7) and h.sum().item() == pytest.approx(1.0)
    assert torch.equal(h, h.flip(0)) and torch.equal(h, h.flip(1))
