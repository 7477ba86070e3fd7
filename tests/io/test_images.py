"""Image decoding rules: formats, modes, bit depth, alpha, CMYK, EXIF, bombs, corrupt files."""

from __future__ import annotations

import io
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from iqa.errors import ImageReadError, ImageTooLargeError
from iqa.io.images import decode_image, read_image


@pytest.fixture
def rgb(rng) -> np.ndarray:  # noqa: ANN001
    return rng.integers(0, 256, (37, 53, 3), dtype=np.uint8)


@pytest.mark.parametrize("ext", ["png", "bmp", "tiff", "webp"])
def test_lossless_formats_roundtrip(tmp_path: Path, rgb: np.ndarray, ext: str) -> None:
    p = tmp_path / f"x.{ext}"
    Image.fromarray(rgb).save(p, **({"lossless": True} if ext == "webp" else {}))
    out = decode_image(p)
    assert out.dtype == np.uint8 and out.shape == rgb.shape
    np.testing.assert_array_equal(out, rgb)


def test_jpeg_decodes_to_rgb(tmp_path: Path, rgb: np.ndarray) -> None:
    p = tmp_path / "x.jpg"
    Image.fromarray(rgb).save(p, quality=95)
    assert decode_image(p).shape == rgb.shape


def test_read_image_is_float_chw(tmp_path: Path, rgb: np.ndarray) -> None:
    p = tmp_path / "x.png"
    Image.fromarray(rgb).save(p)
    t = read_image(p)
    assert t.shape == (3, 37, 53) and str(t.dtype) == "torch.float32"
    np.testing.assert_allclose(t.permute(1, 2, 0).numpy(), rgb / 255.0, atol=1e-7)


@pytest.mark.parametrize("mode", ["L", "1"])
def test_grey_is_replicated(tmp_path: Path, rgb: np.ndarray, mode: str) -> None:
    p = tmp_path / "g.png"
    Image.fromarray(rgb[..., 0]).convert(mode).save(p)
    out = decode_image(p)
    expected = np.asarray(Image.open(p).convert("L"))
    for c in range(3):
        np.testing.assert_array_equal(out[..., c], expected)


def test_palette_expanded(tmp_path: Path, rgb: np.ndarray) -> None:
    p = tmp_path / "p.png"
    im = Image.fromarray(rgb).quantize(16)
    im.save(p)
    np.testing.assert_array_equal(decode_image(p), np.asarray(im.convert("RGB")))


def test_alpha_rules(tmp_path: Path, rgb: np.ndarray) -> None:
    alpha = np.zeros(rgb.shape[:2], np.uint8)
    alpha[:, 20:] = 255
    p = tmp_path / "a.png"
    Image.fromarray(np.dstack([rgb, alpha]), "RGBA").save(p)
    np.testing.assert_array_equal(decode_image(p), rgb)  # default: drop, as PIL convert("RGB")
    white, black = decode_image(p, alpha="white"), decode_image(p, alpha="black")
    assert (white[:, :20] == 255).all() and (black[:, :20] == 0).all()
    np.testing.assert_array_equal(white[:, 20:], rgb[:, 20:])
    with pytest.raises(ValueError, match="alpha"):
        decode_image(p, alpha="grey")  # type: ignore[arg-type]


def test_16bit_grey_keeps_precision(tmp_path: Path, rng) -> None:  # noqa: ANN001
    a = rng.integers(0, 65536, (20, 30), dtype=np.uint16)
    p = tmp_path / "g16.png"
    Image.fromarray(a).save(p)
    out = decode_image(p)
    assert out.dtype == np.uint16
    np.testing.assert_array_equal(out[..., 1], a)
    assert float(read_image(p).max()) <= 1.0


def test_16bit_rgb_png_keeps_precision(tmp_path: Path, rng) -> None:  # noqa: ANN001
    import png

    a = rng.integers(0, 65536, (12, 9, 3), dtype=np.uint16)
    p = tmp_path / "c16.png"
    with open(p, "wb") as f:
        png.Writer(width=9, height=12, bitdepth=16, greyscale=False).write(f, a.reshape(12, -1).tolist())
    assert np.asarray(Image.open(p)).dtype == np.uint8  # what Pillow alone would give
    out = decode_image(p)
    assert out.dtype == np.uint16
    np.testing.assert_array_equal(out, a)


def test_16bit_rgb_tiff_keeps_precision(tmp_path: Path, rng) -> None:  # noqa: ANN001
    import tifffile

    a = rng.integers(0, 65536, (10, 11, 3), dtype=np.uint16)
    p = tmp_path / "c16.tif"
    tifffile.imwrite(p, a, photometric="rgb")
    np.testing.assert_array_equal(decode_image(p), a)


def test_cmyk_converted(tmp_path: Path, rgb: np.ndarray) -> None:
    p = tmp_path / "c.jpg"
    Image.fromarray(rgb).convert("CMYK").save(p, quality=100)
    out = decode_image(p)
    assert out.shape == rgb.shape
    assert np.abs(out.astype(int) - np.asarray(Image.open(p).convert("RGB")).astype(int)).max() == 0


def test_exif_orientation_applied(tmp_path: Path, rgb: np.ndarray) -> None:
    p = tmp_path / "o.jpg"
    exif = Image.Exif()
    exif[0x0112] = 6  # rotate 90 degrees clockwise for display
    Image.fromarray(rgb).save(p, exif=exif, quality=95)
    assert decode_image(p).shape == (53, 37, 3)


def test_decompression_bomb_refused_with_override_named(tmp_path: Path, monkeypatch) -> None:  # noqa: ANN001
    p = tmp_path / "huge.png"
    Image.new("L", (10000, 10000)).save(p)  # a real 100-megapixel file (compresses to ~100 kB)
    with pytest.raises(ImageTooLargeError, match="100.0 megapixels.*max_pixels.*IQA_MAX_PIXELS"):
        decode_image(p)
    out = decode_image(p, max_pixels=100_000_000)
    assert out.shape == (10000, 10000, 3)
    monkeypatch.setenv("IQA_MAX_PIXELS", "1000")
    small = tmp_path / "s.png"
    Image.new("RGB", (40, 40)).save(small)
    with pytest.raises(ImageTooLargeError):
        decode_image(small)


def test_truncated_file_names_the_file(tmp_path: Path, rgb: np.ndarray) -> None:
    buf = io.BytesIO()
    Image.fromarray(rgb).save(buf, "PNG")
    p = tmp_path / "cut.png"
    p.write_bytes(buf.getvalue()[: len(buf.getvalue()) // 2])
    with pytest.raises(ImageReadError, match="cut.png"):
        decode_image(p)


@pytest.mark.parametrize("content", [b"", b"hello, not an image", b"\x89PNG\r\n\x1a\n" + b"\x00" * 20])
def test_non_images_rejected(tmp_path: Path, content: bytes) -> None:
    p = tmp_path / "bad.png"
    p.write_bytes(content)
    with pytest.raises(ImageReadError, match="bad.png"):
        decode_image(p)


def test_missing_and_directory(tmp_path: Path) -> None:
    with pytest.raises(ImageReadError, match="no such file"):
        decode_image(tmp_path / "nope.png")
    with pytest.raises(ImageReadError, match="directory"):
        decode_image(tmp_path)
    with pytest.raises(OSError):  # ImageReadError is an OSError for callers that catch those
        decode_image(tmp_path / "nope.png")


@pytest.mark.parametrize("orientation", range(1, 9))
def test_exif_orientation_on_the_16bit_path_matches_pillow(tmp_path: Path, rng, orientation: int) -> None:  # noqa: ANN001
    import tifffile
    from PIL import ImageOps

    a = rng.integers(0, 65536, (6, 9, 3), dtype=np.uint16)
    p = tmp_path / "o.tif"
    tifffile.imwrite(p, a, photometric="rgb", extratags=[(274, "H", 1, orientation, False)])
    # Pillow's own transpose of the same (8-bit reduced) image is the reference for the geometry
    expected = np.asarray(ImageOps.exif_transpose(Image.open(p)))
    out = decode_image(p)
    assert out.dtype == np.uint16 and out.shape == expected.shape
    np.testing.assert_array_equal((out >> 8).astype(np.uint8), expected)
