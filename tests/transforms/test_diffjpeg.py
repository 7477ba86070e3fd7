"""diff_jpeg: tables equal libjpeg's (read back from Pillow's files), decode tracks Pillow's codec, gradients flow."""

from __future__ import annotations

import io

import numpy as np
import pytest
import torch
from PIL import Image, JpegImagePlugin

from iqa.errors import InputError
from iqa.transforms.diffjpeg import cubic_round, diff_jpeg, quant_tables, ste_round

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
    for rounding in ("ste", "cubic"):
        y = diff_jpeg(x, 50, rounding=rounding)
        assert y.shape == x.shape and ((y >= 0) & (y <= 1)).all()
        (y * torch.randn_like(y)).sum().backward()
        assert x.grad is not None and torch.isfinite(x.grad).all() and x.grad.abs().sum() > 0
        x.grad = None
    v = torch.tensor([0.2, 0.7, -1.4], requires_grad=True)
    assert ste_round(v).tolist() == [0.0, 1.0, -1.0] and cubic_round(v).tolist() == pytest.approx([0.008, 0.973, -1.064])
    with pytest.raises(InputError, match="RGB"):
        diff_jpeg(torch.rand(1, 1, 8, 8), 50)
