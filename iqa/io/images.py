"""Decode image files to RGB arrays by fixed rules.

Rules (also in docs/conventions.md):
- EXIF orientation is applied, so pixels are as a viewer shows them.
- Greyscale (1, L, I;16) is replicated to three channels; palette images are expanded.
- Alpha (RGBA, LA, palette transparency) follows ``alpha``: ``"drop"`` (default, as
  ``PIL.Image.convert("RGB")``, pyiqa and torchvision do), ``"white"`` or ``"black"`` (composite).
- CMYK is converted with its embedded ICC profile to sRGB when there is one, else by PIL's
  naive formula.
- 16-bit files keep 16 bits: 16-bit greyscale via Pillow, 16-bit RGB(A) PNG via pypng and TIFF
  via tifffile (Pillow would reduce them to 8 bits), EXIF orientation applied there too. Float
  TIFFs are refused.
- Images above ``max_pixels`` (default 89,478,485, Pillow's own bomb threshold) are refused
  before decoding; raise the limit with ``max_pixels=`` or ``IQA_MAX_PIXELS``.
Arrays are HxWx3 uint8 or uint16; :func:`array_to_tensor` makes float32 CHW in [0, 1].
An image held in memory (a webdataset tar member, a Parquet cell) is a :class:`Blob`: its bytes and
the name messages give it; it decodes by the same rules as a file.
"""

from __future__ import annotations

import io as _io
import os
import threading
import warnings
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Literal

import numpy as np
from PIL import Image, ImageCms, ImageOps, UnidentifiedImageError

from iqa.errors import ImageReadError, ImageTooLargeError, InputError

if TYPE_CHECKING:
    import torch

DEFAULT_MAX_PIXELS = 89_478_485
Alpha = Literal["drop", "white", "black"]
_PIL_LIMIT_LOCK = threading.Lock()


@dataclass(frozen=True)
class Blob:
    """An encoded image held in memory, and the name that errors give it (``shard-0.tar:x.jpg``)."""

    name: str
    data: bytes

    def __repr__(self) -> str:  # never print megabytes of bytes
        return f"Blob({self.name!r}, {len(self.data)} bytes)"


ImageInput = str | os.PathLike | Blob  # what decode_image and read_header take


def _source(src: ImageInput) -> tuple[Path, Path | _io.BytesIO]:
    """(the name messages use, what Pillow opens) of a file path or a :class:`Blob`."""
    if isinstance(src, Blob):
        return Path(src.name), _io.BytesIO(src.data)
    return Path(src), Path(src)


def max_pixels_limit(max_pixels: int | None = None) -> int:
    """The effective pixel limit: argument, else ``$IQA_MAX_PIXELS``, else the default."""
    if max_pixels is None:
        env = os.environ.get("IQA_MAX_PIXELS")
        if env:
            try:
                max_pixels = int(float(env))
            except ValueError:
                raise InputError(f"IQA_MAX_PIXELS must be an integer pixel count, got {env!r}") from None
        else:
            max_pixels = DEFAULT_MAX_PIXELS
    if max_pixels <= 0:
        raise InputError(f"max_pixels must be positive, got {max_pixels}")
    return int(max_pixels)


def _open(path: Path, limit: int, fp: Path | _io.BytesIO | None = None) -> Image.Image:
    fp = path if fp is None else fp
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", Image.DecompressionBombWarning)
            try:
                im = Image.open(fp)
            except Image.DecompressionBombError:
                # Pillow refuses above 2x its own limit; our limit may be higher by user choice.
                with _PIL_LIMIT_LOCK:
                    old = Image.MAX_IMAGE_PIXELS
                    Image.MAX_IMAGE_PIXELS = max(limit, old or 0)
                    try:
                        if isinstance(fp, _io.BytesIO):
                            fp.seek(0)
                        im = Image.open(fp)
                    finally:
                        Image.MAX_IMAGE_PIXELS = old
    except FileNotFoundError:
        raise ImageReadError(f"{path}: no such file") from None
    except IsADirectoryError:
        raise ImageReadError(f"{path}: is a directory, not an image file") from None
    except UnidentifiedImageError:
        raise ImageReadError(f"{path}: not an image, or a format Pillow cannot read") from None
    except Image.DecompressionBombError as e:
        raise ImageTooLargeError(f"{path}: {e}") from None
    except OSError as e:
        raise ImageReadError(f"{path}: cannot open ({e})") from None
    w, h = im.size
    if w * h > limit:
        im.close()
        raise ImageTooLargeError(
            f"{path}: {w}x{h} = {w * h / 1e6:.1f} megapixels exceeds the decompression-bomb limit of "
            f"{limit / 1e6:.1f} MP; if you trust the file, raise it with max_pixels=..., "
            f"--max-pixels or IQA_MAX_PIXELS={w * h}"
        )
    return im


def _rawmode(im: Image.Image) -> str:
    try:
        tile = getattr(im, "tile", [])  # decoder tiles of a file that is not decoded yet (ImageFile)
        args = tile[0].args if hasattr(tile[0], "args") else tile[0][3]
    except (IndexError, AttributeError, TypeError):
        return ""
    return args[0] if isinstance(args, tuple) else str(args)


def _composite(rgb: np.ndarray, alpha: np.ndarray, mode: Alpha, maxval: int) -> np.ndarray:
    if mode == "drop":
        return rgb
    bg = float(maxval) if mode == "white" else 0.0
    a = alpha.astype(np.float32)[..., None] / maxval
    out = rgb.astype(np.float32) * a + bg * (1.0 - a)
    return np.clip(np.rint(out), 0, maxval).astype(rgb.dtype)


def _decode_16bit_rgb(path: Path, data: bytes, fmt: str, alpha: Alpha) -> np.ndarray:
    if fmt == "PNG":
        import png  # pypng: Pillow cannot keep 16-bit RGB precision

        w, h, rows, info = png.Reader(bytes=data).asDirect()
        arr = np.vstack([np.asarray(r, dtype=np.uint16) for r in rows]).reshape(h, w, info["planes"])
    else:
        import tifffile

        arr = tifffile.imread(_io.BytesIO(data))
        if arr.ndim != 3 or arr.shape[-1] not in (3, 4):
            raise ImageReadError(f"{path}: unsupported 16-bit TIFF layout {arr.shape}")
    if arr.shape[-1] == 4:
        return _composite(arr[..., :3], arr[..., 3], alpha, 65535)
    if arr.shape[-1] == 3:
        return arr
    return np.repeat(arr[..., :1], 3, axis=2)


# EXIF orientation -> the array operation PIL's exif_transpose applies (ROTATE_90 is counter-clockwise).
_ORIENT = {
    2: lambda a: a[:, ::-1],
    3: lambda a: a[::-1, ::-1],
    4: lambda a: a[::-1],
    5: lambda a: a.transpose(1, 0, 2),
    6: lambda a: np.rot90(a, k=-1),
    7: lambda a: a[::-1, ::-1].transpose(1, 0, 2),
    8: lambda a: np.rot90(a, k=1),
}


def _orient(arr: np.ndarray, orientation: int | None) -> np.ndarray:
    """Apply an EXIF orientation to an HxWxC array (for decoders that bypass Pillow)."""
    op = _ORIENT.get(orientation or 1)
    return np.ascontiguousarray(op(arr)) if op else arr


def _to_rgb_array(im: Image.Image, path: Path, alpha: Alpha) -> np.ndarray:
    mode = im.mode
    if mode in ("I;16", "I;16L", "I;16B", "I;16N", "I"):
        arr = np.asarray(im)
        if mode == "I" and (arr.min() < 0 or arr.max() > 65535):
            raise ImageReadError(f"{path}: 32-bit integer image with values outside 0..65535 is not supported")
        return np.repeat(arr.astype(np.uint16)[..., None], 3, axis=2)
    if mode == "F":
        raise ImageReadError(f"{path}: floating-point images are not supported; save as 8- or 16-bit")
    if mode == "CMYK":
        return np.asarray(_cmyk_to_rgb(im))
    if mode == "P":
        im = im.convert("RGBA" if "transparency" in im.info else "RGB")
    elif mode in ("1", "L"):
        return np.repeat(np.asarray(im.convert("L"))[..., None], 3, axis=2)
    elif mode in ("LA", "La", "PA"):
        im = im.convert("RGBA")
    elif mode not in ("RGB", "RGBA"):
        im = im.convert("RGB")
    if im.mode == "RGBA":
        arr = np.asarray(im)
        return np.ascontiguousarray(_composite(arr[..., :3], arr[..., 3], alpha, 255))
    return np.asarray(im)


def _cmyk_to_rgb(im: Image.Image) -> Image.Image:
    icc = im.info.get("icc_profile")
    if icc:
        try:
            src = ImageCms.ImageCmsProfile(_io.BytesIO(icc))
            rgb = ImageCms.profileToProfile(im, src, ImageCms.createProfile("sRGB"), outputMode="RGB")
            if rgb is not None:  # None only for in-place conversions
                return rgb
        except (ImageCms.PyCMSError, OSError):
            pass  # a broken profile falls back to the naive conversion below
    return im.convert("RGB")


def decode_image(path: ImageInput, *, max_pixels: int | None = None, alpha: Alpha = "drop") -> np.ndarray:
    """Decode ``path`` (a file, or a :class:`Blob`) to an HxWx3 ``uint8`` or ``uint16`` array by the module rules.

    Raises:
        ImageReadError: missing, unreadable, truncated or non-image file (message names it).
        ImageTooLargeError: more pixels than the limit (message names the override).
    """
    if alpha not in ("drop", "white", "black"):
        raise InputError(f"alpha must be 'drop', 'white' or 'black', got {alpha!r}")
    blob = path if isinstance(path, Blob) else None
    path, fp = _source(path)
    limit = max_pixels_limit(max_pixels)
    im = _open(path, limit, fp)
    try:
        fmt = im.format or ""
        if ";16" in _rawmode(im) and im.mode in ("RGB", "RGBA") and fmt in ("PNG", "TIFF"):
            data = blob.data if blob is not None else path.read_bytes()
            arr = _decode_16bit_rgb(path, data, fmt, alpha)
            return _orient(arr, im.getexif().get(0x0112))
        im.load()
        im = ImageOps.exif_transpose(im)
        arr = _to_rgb_array(im, path, alpha)
    except ImageReadError:
        raise
    except (OSError, SyntaxError, ValueError, EOFError) as e:
        raise ImageReadError(f"{path}: corrupt or truncated image ({e})") from None
    finally:
        im.close()
    if arr.ndim != 3 or arr.shape[2] != 3:
        raise ImageReadError(f"{path}: decoded to unexpected shape {arr.shape}")
    return arr


# Decoded arrays are read-only and only read by array_to_tensor, so torch's "not writable" warning
# says nothing here. A narrow filter set once: ``warnings.catch_warnings`` in the decoding threads
# swapped the process-wide filters and lost other threads' warnings meanwhile.
warnings.filterwarnings("ignore", message="The given NumPy array is not writable", category=UserWarning)


def array_to_tensor(arr: np.ndarray) -> torch.Tensor:
    """HxWx3 uint8/uint16 array -> float32 (3, H, W) tensor in [0, 1], converted in one pass."""
    import torch  # imported here so that decoding alone (iqa.io.prefetch) does not load PyTorch

    scale = 65535.0 if arr.dtype == np.uint16 else 255.0
    src = torch.from_numpy(arr).permute(2, 0, 1)
    out = torch.empty(src.shape, dtype=torch.float32)
    out.copy_(src)  # dtype and HWC -> CHW together
    return out.mul_(1.0 / scale)


def read_image(path: ImageInput, *, max_pixels: int | None = None, alpha: Alpha = "drop") -> torch.Tensor:
    """Read an image file as a float32 (3, H, W) tensor in [0, 1] (see module rules).

    Example:
        >>> x = read_image("photo.png")  # doctest: +SKIP
        >>> x.shape, x.dtype
        (torch.Size([3, 384, 512]), torch.float32)
    """
    return array_to_tensor(decode_image(path, max_pixels=max_pixels, alpha=alpha))


def pil_to_array(im: Image.Image, *, alpha: Alpha = "drop") -> np.ndarray:
    """Convert an in-memory PIL image by the same rules (EXIF orientation included)."""
    im = ImageOps.exif_transpose(im)
    return _to_rgb_array(im, Path(getattr(im, "filename", "") or "<PIL image>"), alpha)
