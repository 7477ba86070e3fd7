"""A small synthetic dataset in TAD66k's layout, for testing the aesthetics training pipeline offline.

NOT human aesthetic judgements. Each output image is a crop of a source photo with four random,
visible edits (Gaussian blur, saturation, exposure gamma, noise); its "score" is a fixed function of
those edit parameters on the 1-10 scale, so a network can learn it from pixels:

    score = 1 + 9 (0.35 sharp + 0.25 colour + 0.2 exposure + 0.2 clean)

with sharp = 1 - sigma/3, colour = 1 - |s - 1.2|/0.9, exposure = 1 - |log2 gamma|/0.7, clean =
1 - noise/0.08 (all in [0, 1]). Themes are the source sub-folders (e.g. CBSD68, Urban50), split
into train/test by source image so no photo is on both sides. ``SYNTHETIC.txt`` states all this.
"""

from __future__ import annotations

import csv
import io
import math
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch
import torch.nn.functional as F
from PIL import Image

from iqa.atomic import atomic_write_bytes, atomic_write_text
from iqa.errors import InputError
from iqa.io.folders import list_images
from iqa.io.images import read_image

SIZE = 256


@dataclass(frozen=True)
class SynthAestheticsResult:
    train: int
    test: int
    themes: tuple[str, ...]
    failed: dict[str, str]


def proxy_score(sigma: float, sat: float, gamma: float, noise: float) -> float:
    """The synthetic aesthetic score of the edit parameters (module docstring), 1-10."""
    sharp = 1 - sigma / 3
    colour = 1 - abs(sat - 1.2) / 0.9
    exposure = 1 - abs(math.log2(gamma)) / 0.7
    clean = 1 - noise / 0.08
    return 1 + 9 * (0.35 * sharp + 0.25 * colour + 0.2 * exposure + 0.2 * clean)


def _blur(x: torch.Tensor, sigma: float) -> torch.Tensor:
    if sigma < 0.1:
        return x
    r = int(3 * sigma) + 1
    k = torch.exp(-(torch.arange(-r, r + 1.0) ** 2) / (2 * sigma * sigma))
    k = k / k.sum()
    x = F.conv2d(F.pad(x[None], (r, r, 0, 0), mode="reflect"), k.view(1, 1, 1, -1).expand(3, 1, 1, -1), groups=3)
    return F.conv2d(F.pad(x, (0, 0, r, r), mode="reflect"), k.view(1, 1, -1, 1).expand(3, 1, -1, 1), groups=3)[0]


def edit(x: torch.Tensor, sigma: float, sat: float, gamma: float, noise: float, g: torch.Generator) -> torch.Tensor:
    """The four edits on a (3, H, W) image in [0, 1]."""
    x = _blur(x, sigma)
    grey = (0.299 * x[0] + 0.587 * x[1] + 0.114 * x[2])[None]
    x = (grey + sat * (x - grey)).clamp(0, 1) ** gamma
    return (x + noise * torch.randn(x.shape, generator=g)).clamp(0, 1)


def _crop(x: torch.Tensor, rng: np.random.Generator) -> torch.Tensor:
    h, w = x.shape[-2:]
    side = min(h, w)
    top, left = int(rng.integers(0, h - side + 1)), int(rng.integers(0, w - side + 1))
    sq = x[:, top : top + side, left : left + side][None]
    return F.interpolate(sq, size=(SIZE, SIZE), mode="bilinear", align_corners=False, antialias=True)[0]


def synthesize_aesthetics(src: str | Path, out: str | Path, *, per_image: int = 4, test_fraction: float = 0.25, seed: int = 0,
                          progress: Callable[[int, int], None] | None = None) -> SynthAestheticsResult:  # fmt: skip
    """Write the dataset under ``out`` (images/, dataset/merge, dataset/unmerge, SYNTHETIC.txt)."""
    src, out = Path(src), Path(out)
    themes = sorted(d.name for d in src.iterdir() if d.is_dir() and not d.name.startswith(".") and list_images(d))
    if not themes:
        raise InputError(
            f"{src}: no sub-folders with images; each sub-folder is one theme (e.g. {src}/landscapes/*.jpg)"
        )
    (out / "images").mkdir(parents=True, exist_ok=True)
    rng, g = np.random.default_rng(seed), torch.Generator().manual_seed(seed)
    rows: dict[str, list[tuple[str, str, float]]] = {"train": [], "test": []}
    failed: dict[str, str] = {}
    sources = [(t, f) for t in themes for f in list_images(src / t)]
    for i, (theme, f) in enumerate(sources, 1):
        part = "test" if rng.random() < test_fraction else "train"
        try:
            x = read_image(src / theme / f)
        except Exception as e:  # noqa: BLE001 - recorded per file
            failed[f"{theme}/{f}"] = str(e)
            continue
        for k in range(per_image):
            sigma, sat, gamma, noise = (
                rng.uniform(0, 3),
                rng.uniform(0.3, 2.1),
                2 ** rng.uniform(-0.7, 0.7),
                rng.uniform(0, 0.08),
            )
            y = edit(_crop(x, rng), sigma, sat, gamma, noise, g)
            name = f"{theme}_{Path(f).stem}_{k}.jpg"
            buf = io.BytesIO()
            Image.fromarray((y.permute(1, 2, 0).numpy() * 255).round().astype(np.uint8)).save(buf, "JPEG", quality=95)
            atomic_write_bytes(out / "images" / name, buf.getvalue())
            rows[part].append((name, theme, round(proxy_score(sigma, sat, gamma, noise), 2)))
        if progress:
            progress(i, len(sources))
    _write_labels(out / "dataset", rows, themes)
    atomic_write_text(out / "SYNTHETIC.txt", __doc__ or "")
    return SynthAestheticsResult(len(rows["train"]), len(rows["test"]), tuple(themes), failed)


def _write_labels(root: Path, rows: dict[str, list[tuple[str, str, float]]], themes: list[str]) -> None:
    for part, items in rows.items():
        (root / "merge").mkdir(parents=True, exist_ok=True)
        _csv(root / "merge" / f"{part}.csv", [(n, s) for n, _, s in items])
        (root / "unmerge" / part).mkdir(parents=True, exist_ok=True)
        for t in themes:
            _csv(root / "unmerge" / part / f"{t}.csv", [(n, s) for n, th, s in items if th == t])


def _csv(path: Path, items: list[tuple[str, float]]) -> None:
    buf = io.StringIO()
    w = csv.writer(buf)
    w.writerow(["image", "score"])
    w.writerows((n, f"{s:.2f}") for n, s in items)
    atomic_write_text(path, buf.getvalue())
