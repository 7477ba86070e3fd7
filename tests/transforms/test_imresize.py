"""MATLAB imresize: analytic values on ramps, constants, sizes, and pyiqa's (BasicSR's) port."""

from __future__ import annotations

import math

import pytest
import torch

from iqa.errors import InputError
from iqa.transforms.imresize import imresize, resize_matrix


def test_rows_sum_to_one_and_sizes_follow_matlab() -> None:
    for n, s in [(97, 0.5), (40, 0.37), (20, 2.0), (17, 1.7)]:
        m = resize_matrix(n, math.ceil(n * s), s)
        assert torch.allclose(m.sum(1), torch.ones(len(m), dtype=torch.float64), atol=1e-12)
    assert imresize(torch.rand(1, 1, 97, 131), 0.5).shape[-2:] == (49, 66)  # ceil, as MATLAB
    assert imresize(torch.rand(1, 1, 10, 10), size=(7, 13)).shape[-2:] == (7, 13)


def test_known_values_on_a_ramp() -> None:
    """Cubic weights reproduce linear functions: away from the borders the output is the ramp
    sampled at MATLAB's source coordinate u = i/s + 0.5 (1 - 1/s) (1-based)."""
    ramp = torch.arange(1, 65, dtype=torch.float64).view(1, 64).expand(8, 64)
    half = imresize(ramp, 0.5)[0]  # u = 2i - 0.5
    assert torch.allclose(half[4:-4], 2 * torch.arange(5, 29, dtype=torch.float64) - 0.5, atol=1e-12)
    double = imresize(ramp, 2.0)[0]  # u = i/2 + 0.25
    assert torch.allclose(double[4:-4], torch.arange(5, 125, dtype=torch.float64) / 2 + 0.25, atol=1e-12)
    const = imresize(torch.full((1, 1, 15, 9), 0.3, dtype=torch.float64), 0.37)
    assert torch.allclose(const, torch.full_like(const, 0.3), atol=1e-12)


def test_matches_basicsr_port_in_pyiqa() -> None:
    mu = pytest.importorskip("pyiqa.matlab_utils")
    g = torch.Generator().manual_seed(0)
    for shape, s in [((1, 1, 97, 131), 0.5), ((2, 3, 40, 33), 0.37), ((1, 1, 21, 17), 1.7)]:
        x = torch.rand(shape, generator=g, dtype=torch.float64)
        assert torch.allclose(imresize(x, s), mu.imresize(x, scale=s), atol=2e-6)  # pyiqa computes in float32


def test_errors() -> None:
    with pytest.raises(InputError, match="exactly one"):
        imresize(torch.rand(1, 1, 4, 4))
    with pytest.raises(InputError, match="> 0"):
        imresize(torch.rand(1, 1, 4, 4), -1)


def test_bilinear_hand_computed_values() -> None:
    # Worked by hand from MATLAB's contributions(): shrinking [1 2 3 4] to 2 samples puts the
    # source coordinates at 1.5 and 3.5 with the triangle widened to 4 taps, weights
    # (.25 .75 .75 .25)/2 and the left tap mirrored onto sample 1 -> 1.625, 3.375.
    # Enlarging to 8 samples (no antialiasing) samples u = i/2 + 1/4, clamped by mirroring.
    row = torch.tensor([[1.0, 2.0, 3.0, 4.0]], dtype=torch.float64)
    assert imresize(row, size=(1, 2), method="bilinear").tolist() == [[1.625, 3.375]]
    assert imresize(row, size=(1, 8), method="bilinear").tolist() == [[1.0, 1.25, 1.75, 2.25, 2.75, 3.25, 3.75, 4.0]]


def test_bilinear_matches_pillow_away_from_the_borders() -> None:
    # Pillow's BILINEAR is the same widened triangle filter with pixel-centre sampling; it clips
    # the window at the border where MATLAB mirrors, so only interior samples are comparable
    # when shrinking (enlarging, the two-tap window meets the border identically).
    np = pytest.importorskip("numpy")
    from PIL import Image

    g = torch.Generator().manual_seed(0)
    x = torch.rand(60, 75, generator=g, dtype=torch.float64)
    for size in ((25, 31), (130, 160)):
        ours = imresize(x, size=size, method="bilinear").numpy()
        pil = np.asarray(Image.fromarray(x.numpy().astype(np.float32), mode="F").resize(size[::-1], Image.BILINEAR))
        m = 3
        assert np.abs(ours[m:-m, m:-m] - pil[m:-m, m:-m]).max() < 1e-5  # Pillow works in float32
        if size[0] < x.shape[0]:  # shrinking: the widened window reaches past the border, where they differ
            assert np.abs(ours - pil).max() > 1e-4


def test_long_sides_use_taps_with_the_same_result(monkeypatch: pytest.MonkeyPatch) -> None:
    import iqa.transforms.imresize as mod

    x = torch.rand(2, 1, 40, 57, dtype=torch.float64, generator=torch.Generator().manual_seed(1))
    for method in ("bicubic", "bilinear"):
        dense = imresize(x, size=(23, 90), method=method)
        monkeypatch.setattr(mod, "DENSE_MAX", 10)
        assert torch.allclose(imresize(x, size=(23, 90), method=method), dense, atol=1e-13)
        monkeypatch.setattr(mod, "DENSE_MAX", 2048)
