"""Compression (KADID-10k types 09-10) with the real codecs: JPEG and JPEG 2000 (OpenJPEG) in Pillow."""

from __future__ import annotations

import io

import numpy as np
import torch
from PIL import Image, features

from iqa.augment._core import DistortionSpec, register
from iqa.errors import MissingDependencyError


def _to_pil(x: torch.Tensor) -> Image.Image:
    return Image.fromarray((x[0].permute(1, 2, 0).numpy() * 255).round().astype(np.uint8))


def _from_bytes(data: bytes) -> torch.Tensor:
    with Image.open(io.BytesIO(data)) as im:
        return torch.from_numpy(np.asarray(im.convert("RGB"), dtype=np.float64) / 255).permute(2, 0, 1)[None]


def jpeg(x: torch.Tensor, quality: float, g: torch.Generator) -> torch.Tensor:
    buf = io.BytesIO()
    _to_pil(x).save(buf, "JPEG", quality=max(1, min(100, round(quality))), subsampling="4:2:0")
    return _from_bytes(buf.getvalue())


def jpeg2000(x: torch.Tensor, ratio: float, g: torch.Generator) -> torch.Tensor:
    if not features.check("jpg_2000"):
        raise MissingDependencyError(
            "JPEG 2000 needs Pillow built with OpenJPEG (the PyPI wheels are); reinstall pillow"
        )
    buf = io.BytesIO()
    _to_pil(x).save(buf, "JPEG2000", quality_mode="rates", quality_layers=[max(1.0, ratio)], irreversible=True)
    return _from_bytes(buf.getvalue())


register(
    DistortionSpec(
        "jpeg2000",
        9,
        "compression",
        jpeg2000,
        "compression ratio",
        1.0,
        (16.0, 32.0, 45.0, 120.0, 170.0),
        "OpenJPEG via Pillow, irreversible 9/7 wavelet, one quality layer",
        log_interp=True,
    )
)
register(DistortionSpec("jpeg", 10, "compression", jpeg, "JPEG quality", 100.0, (43.0, 36.0, 24.0, 7.0, 4.0),
                        "libjpeg via Pillow, 4:2:0 chroma subsampling"))  # fmt: skip
