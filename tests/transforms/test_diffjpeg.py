"""diff_jpeg: tables equal libjpeg's (read back from Pillow's files), decode tracks Pillow's codec, gradients flow."""

from __future__ import annotations

import io

import numpy as np
import pytest
import torch
from PIL import Image, JpegImagePlugin

from iqa.errors import InputError
from iqa.transforms.diffjpeg import (
    cubic_round,
    deadzone_round,
    diff_jpeg,
    noise_round,
    quant_tables,
    ste_round,
    threshold_round,
)

QUALITIES = (10, 30, 50, 75, 90, 95)


def _pillow(a: np.ndarray, q: int) -> tuple[np.ndarray, Image.Image]:
    buf = io.BytesIO()
    Image.fromarray(a).save(buf, "JPEG", quality=q)
    im = Image.open(io.BytesIO(buf.getvalue()))
    return np.asarray(im.convert("RGB")), im


def _psnr(a: np.ndarray, b: np.ndarray) -> float:
    return float(10 * np.log10(255.0**2 / np.mean((a.astype(np.float64) - b.astype(np.float64)) ** 2)))


@pytest.mark.parametrize("q", QUALITIES)
def test_tables_are_the_ones_pillow_writes(q: int) -> None:
    a = (np.random.default_rng(q).random((32, 32, 3)) * 255).astype(np.uint8)
    _, im = _pillow(a, q)
    luma, chroma = quant_tables(q)
    assert np.array_equal(np.array(im.quantization[0]), luma.flatten().numpy())
    assert np.array_equal(np.array(im.quantization[1]), chroma.flatten().numpy())
    assert JpegImagePlugin.get_sampling(im) == 2  # Pillow's default is 4:2:0, as the proxy assumes


def test_hand_computed_scaling() -> None:
    # libjpeg: q = 75 -> 50 %, q = 10 -> 500 %; (16 * s + 50) // 100 for the DC luma entry.
    assert quant_tables(75)[0][0, 0].item() == 8 and quant_tables(10)[0][0, 0].item() == 80
    assert quant_tables(100)[0].max().item() == 1 and quant_tables(1)[0].max().item() == 255
    with pytest.raises(InputError, match="1..100"):
        quant_tables(0)


def test_decode_tracks_pillow(photos) -> None:  # noqa: ANN001
    """Measured (3 photos, 250x301, odd sizes): proxy vs Pillow 37-47 dB, always >= 9 dB above JPEG's own error."""
    for i in range(3):
        a = (photos[i, :, :250, :245].permute(1, 2, 0).numpy() * 255).round().astype(np.uint8)
        x = torch.from_numpy(a).permute(2, 0, 1)[None].double() / 255
        for q in QUALITIES:
            real, _ = _pillow(a, q)
            proxy = (diff_jpeg(x, q)[0].permute(1, 2, 0).numpy() * 255).round().astype(np.uint8)
            gap, loss = _psnr(proxy, real), _psnr(real, a)
            assert gap > 35 and gap > loss + 5, (q, gap, loss)


def test_gradients_and_rounding() -> None:
    x = torch.rand(2, 3, 24, 40, dtype=torch.float64, requires_grad=True)
    for rounding in ("ste", "cubic", "noise", "deadzone", "threshold"):
        y = diff_jpeg(x, 50, rounding=rounding, generator=torch.Generator().manual_seed(0))
        assert y.shape == x.shape and ((y >= 0) & (y <= 1)).all()
        (y * torch.randn_like(y)).sum().backward()
        assert x.grad is not None and torch.isfinite(x.grad).all() and x.grad.abs().sum() > 0
        x.grad = None
    v = torch.tensor([0.2, 0.7, -1.4], requires_grad=True)
    assert ste_round(v).tolist() == [0.0, 1.0, -1.0] and cubic_round(v).tolist() == pytest.approx(
        [0.008, 0.973, -1.064]
    )
    with pytest.raises(InputError, match="RGB"):
        diff_jpeg(torch.rand(1, 1, 8, 8), 50)


def test_noise_and_deadzone_surrogates() -> None:
    v = torch.tensor([0.2, 0.7, -1.4, 3.0], requires_grad=True)
    # dead zone: exact forward, zero gradient where the value rounds to 0, identity elsewhere
    d = deadzone_round(v)
    assert d.tolist() == [0.0, 1.0, -1.0, 3.0]
    (g,) = torch.autograd.grad(d.sum(), v)
    assert g.tolist() == [0.0, 1.0, 1.0, 1.0]
    # threshold: exact forward, the cubic surrogate's slope 3 (x - round(x))^2 backward
    t = threshold_round(v)
    (g,) = torch.autograd.grad(t.sum(), v)
    assert t.tolist() == [0.0, 1.0, -1.0, 3.0] and g.tolist() == pytest.approx([0.12, 0.27, 0.48, 0.0])
    # noise: x + U(-1/2, 1/2), reproducible from the generator, identity gradient
    a = noise_round(v, torch.Generator().manual_seed(3))
    b = noise_round(v, torch.Generator().manual_seed(3))
    assert torch.equal(a, b) and ((a - v).abs() <= 0.5).all() and not torch.equal(a, v)
    (g,) = torch.autograd.grad(a.sum(), v)
    assert g.tolist() == [1.0] * 4
    x = torch.rand(1, 3, 16, 16, dtype=torch.float64)
    same = [diff_jpeg(x, 30, rounding="noise", generator=torch.Generator().manual_seed(1)) for _ in range(2)]
    assert torch.equal(*same)
    # the exact-forward surrogates give the same decode as STE
    assert torch.equal(diff_jpeg(x, 30, rounding="deadzone"), diff_jpeg(x, 30, rounding="ste"))
