"""Small datasets in each official label format, with placeholder images the tests generate.

The KADID-format fixture distorts real photos (scikit-image's, a dependency) with two of KADID's
types, gaussian blur (type 01) and white noise (type 11), at 5 levels. Its "dmos" is a made-up
monotone function of the level (5 - 0.8 * (level - 1) plus seeded jitter): a label the tests
control, not a human score.
"""

from __future__ import annotations

import csv
from pathlib import Path

import numpy as np
from PIL import Image, ImageFilter


def photos(n: int, size: int = 96) -> list[np.ndarray]:
    import skimage.data

    srcs = [skimage.data.astronaut(), skimage.data.chelsea(), skimage.data.coffee(), skimage.data.rocket()]
    out = []
    for i in range(n):
        a = srcs[i % len(srcs)]
        y0, x0 = (i // len(srcs)) * 37 % (a.shape[0] - size), (i // len(srcs)) * 53 % (a.shape[1] - size)
        out.append(np.ascontiguousarray(a[y0 : y0 + size, x0 : x0 + size, :3]))
    return out


def _distort(a: np.ndarray, t: int, level: int, rng: np.random.Generator) -> np.ndarray:
    if t == 1:
        return np.asarray(Image.fromarray(a).filter(ImageFilter.GaussianBlur(radius=0.6 * level)))
    noise = rng.normal(0, 6.0 * level, a.shape)
    return np.clip(a.astype(np.float64) + noise, 0, 255).round().astype(np.uint8)


def make_kadid(root: Path, n_refs: int = 4, types: tuple[int, ...] = (1, 11), seed: int = 0) -> Path:
    """``root/dmos.csv`` + ``root/images/`` in KADID-10k's layout."""
    rng = np.random.default_rng(seed)
    (root / "images").mkdir(parents=True, exist_ok=True)
    rows = []
    for i, a in enumerate(photos(n_refs), start=1):
        ref = f"I{i:02d}.png"
        Image.fromarray(a).save(root / "images" / ref)
        for t in types:
            for level in range(1, 6):
                name = f"I{i:02d}_{t:02d}_{level:02d}.png"
                Image.fromarray(_distort(a, t, level, rng)).save(root / "images" / name)
                dmos = min(5.0, 5 - 0.8 * (level - 1) + rng.normal(0, 0.05))
                rows.append([name, ref, f"{dmos:.2f}", "0.25"])
    with open(root / "dmos.csv", "w", newline="") as f:
        w = csv.writer(f)
        w.writerow(["dist_img", "ref_img", "dmos", "var"])
        w.writerows(rows)
    return root
