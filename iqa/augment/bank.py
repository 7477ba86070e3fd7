"""The distortion bank: 25 KADID-10k-style types x 5 levels, or a continuous strength.

These are *KADID-style* re-implementations (same 25 types, 7 families and numbering as Lin et al.,
QoMEX 2019), not bit-exact ports of KADID's MATLAB generator: parameters are ours, chosen so that
levels 1-5 degrade monotonically (checked per type on real photos, ``tests/augment``). Each type
lives in its family module; ``describe()`` lists the parameter table.

``distort(x, "jpeg", level=3, seed=0)``: ``x`` is a (3, H, W) or (N, 3, H, W) tensor, float in
[0, 1] or uint8; the result has the same shape, dtype and range (float results are clipped to
[0, 1], uint8 results rounded). Image ``i`` of a batch uses the random stream ``(seed, i)``, so the
same seed gives the same output on every run and platform, and levels of one seed share their draws.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import torch
from PIL import Image

# The family modules register their types on import.
import iqa.augment.blur
import iqa.augment.brightness
import iqa.augment.color
import iqa.augment.compression
import iqa.augment.noise
import iqa.augment.sharpness
import iqa.augment.spatial  # noqa: F401
from iqa.augment._core import DISTORTIONS, DistortionSpec, image_generator
from iqa.errors import InputError
from iqa.io.images import read_image

FAMILIES = ("blur", "color", "compression", "noise", "brightness", "spatial", "sharpness_contrast")


def list_distortions(family: str | None = None) -> list[str]:
    """Names in KADID-10k order (type 01 first), optionally of one family."""
    specs = sorted((s for _, s in DISTORTIONS.items()), key=lambda s: s.kadid_id)
    return [s.name for s in specs if family is None or s.family == family]


def get_distortion(name: str | int) -> DistortionSpec:
    """A spec by name or KADID-10k type number (1-25); unknown names raise naming the closest."""
    if isinstance(name, int):
        for _, s in DISTORTIONS.items():
            if s.kadid_id == name:
                return s
        raise InputError(f"KADID-10k distortion types are numbered 1-25, got {name}")
    return DISTORTIONS.get(name)


def _strength(level: int | None, strength: float | None) -> float:
    if (level is None) == (strength is None):
        raise InputError("give exactly one of level (1-5) or strength (0-1)")
    if level is not None:
        if level not in (1, 2, 3, 4, 5):
            raise InputError(f"level must be 1, 2, 3, 4 or 5, got {level!r}")
        return level / 5
    if not 0.0 <= float(strength) <= 1.0:  # type: ignore[arg-type]
        raise InputError(f"strength must be in [0, 1], got {strength}")
    return float(strength)  # type: ignore[arg-type]


def distort(
    x: torch.Tensor, name: str | int, *, level: int | None = None, strength: float | None = None, seed: int = 0
) -> torch.Tensor:
    """Apply one distortion type at a level or strength (see module docstring)."""
    spec = get_distortion(name)
    s = _strength(level, strength)
    if not isinstance(x, torch.Tensor) or x.ndim not in (3, 4) or x.shape[-3] != 3:
        raise InputError(f"x must be an RGB tensor (3, H, W) or (N, 3, H, W), got {getattr(x, 'shape', type(x))}")
    single, is_u8 = x.ndim == 3, x.dtype == torch.uint8
    if not is_u8 and not x.is_floating_point():
        raise InputError(f"x must be float in [0, 1] or uint8, got {x.dtype}")
    batch = (x[None] if single else x).detach().cpu().to(torch.float64)
    if is_u8:
        batch = batch / 255
    if s == 0:
        out = batch.clone()
    else:
        p = spec.parameter(s)
        out = torch.cat([spec.fn(batch[i : i + 1], p, image_generator(seed, i)) for i in range(len(batch))])
    out = out.clamp(0, 1)
    out = (out * 255).round().to(torch.uint8) if is_u8 else out.to(x.dtype)
    return (out[0] if single else out).to(x.device)


def distort_file(src: str | Path, dst: str | Path, name: str | int, *, level: int | None = None,
                 strength: float | None = None, seed: int = 0) -> Path:  # fmt: skip
    """Read ``src`` (by the io rules), distort, write 8-bit ``dst`` (format from its suffix)."""
    img = (read_image(src) * 255).round().to(torch.uint8)
    out = distort(img, name, level=level, strength=strength, seed=seed)
    dst = Path(dst)
    Image.fromarray(np.ascontiguousarray(out.permute(1, 2, 0).numpy())).save(dst)
    return dst


def describe() -> list[dict]:
    """The parameter table: one row per type (name, KADID number, family, parameter, 5 levels)."""
    return [{"name": s.name, "kadid_id": s.kadid_id, "family": s.family, "parameter": s.param, "identity": s.identity,
             "levels": list(s.levels), "summary": s.summary} for s in map(get_distortion, list_distortions())]  # fmt: skip
