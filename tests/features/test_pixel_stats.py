"""pixel_stats: the hand-crafted check space (defined here, no reference implementation), so its
tests are properties: shape, batch independence, flip invariance, and the statistics responding to
the changes they are meant to measure."""

from __future__ import annotations

import pytest
import torch

from iqa.errors import InputError
from iqa.features.registry import create_extractor


@pytest.fixture(scope="module")
def ext():
    return create_extractor("pixel_stats")


def _img(seed: int = 0) -> torch.Tensor:
    g = torch.Generator().manual_seed(seed)
    base = torch.nn.functional.interpolate(torch.rand(1, 3, 16, 16, generator=g), size=(128, 160), mode="bicubic")
    return base.clamp(0, 1)


def test_shape_batch_independence_and_flip_invariance(ext) -> None:
    a, b = _img(0), _img(1)
    both = ext(torch.cat([a, b]))
    assert both.shape == (2, ext.dim) and both.isfinite().all()
    torch.testing.assert_close(both[0], ext(a)[0], rtol=1e-5, atol=1e-5)
    torch.testing.assert_close(ext(a.flip(-1))[0], ext(a)[0], rtol=1e-4, atol=1e-4)
    histogram = both[:, 9:73]
    torch.testing.assert_close(histogram.sum(1), torch.ones(2))  # joint colour histogram fractions


def test_noise_raises_high_frequency_energy_and_blur_lowers_it(ext) -> None:
    x = _img(2)
    noisy = (x + 0.1 * torch.randn(x.shape, generator=torch.Generator().manual_seed(0))).clamp(0, 1)
    blurred = torch.nn.functional.avg_pool2d(x, 5, stride=1, padding=2, count_include_pad=False)
    hf = 73 + 8 + 7  # last spectrum band (highest frequencies)
    f = ext(torch.cat([x, noisy, blurred]))
    assert f[1, hf] > f[0, hf] > f[2, hf]


def test_bad_input(ext) -> None:
    with pytest.raises(InputError, match="RGB"):
        ext(torch.rand(1, 1, 32, 32))
    with pytest.raises(InputError, match="NaN"):
        ext(torch.full((1, 3, 32, 32), float("nan")))
