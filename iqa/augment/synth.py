"""Turn a folder of reference images into a KADID-10k-format benchmark (``iqa synth``).

Output layout (readable by ``load_kadid10k`` and ``iqa correlate kadid10k``):
``OUT/images/I01.png`` (the references, renamed in natural order), ``OUT/images/I01_TT_LL.png``
(type TT = KADID number, level LL), ``OUT/dmos.csv`` with KADID's columns plus ``synthetic_level``
and ``distortion``, ``OUT/sources.csv`` (I01 -> original file) and ``OUT/SYNTHETIC.txt``.

The ``dmos`` column is **synthetic**: 6 - level (level 1 -> 5, level 5 -> 1), a proxy ordering,
not a human opinion. ``var`` is 0. Images already written are kept (a re-run resumes); every file
is written to a temporary name and renamed; an unreadable reference is reported and skipped.
"""

from __future__ import annotations

import csv
import io
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import torch
from PIL import Image

from iqa.atomic import atomic_write, atomic_write_text
from iqa.augment.bank import distort, get_distortion
from iqa.errors import InputError, IQAError
from iqa.io.folders import list_images
from iqa.io.images import read_image

NOTE = """SYNTHETIC BENCHMARK written by `iqa synth`.
The dmos column of dmos.csv is 6 - distortion level (1-5): a proxy ordering, NOT human opinion scores.
Correlations against it measure how well a metric orders distortion strength within and across types.
"""


@dataclass
class SynthResult:
    out: Path
    written: int = 0
    kept: int = 0
    failed: dict[str, str] = field(default_factory=dict)
    rows: int = 0


def _save_png(arr: np.ndarray, path: Path) -> None:
    atomic_write(path, lambda f: Image.fromarray(arr).save(f, "PNG"))


def synthesize(
    ref_dir: str | Path,
    out_dir: str | Path,
    *,
    types: list[str | int] | None = None,
    levels: list[int] | None = None,
    seed: int = 0,
    recursive: bool = False,
    progress: Callable[[int, int], None] | None = None,
) -> SynthResult:
    """Write distorted copies of every image in ``ref_dir`` (see module docstring)."""
    specs = [get_distortion(t) for t in (types if types else list(range(1, 26)))]
    levels = sorted(set(levels or [1, 2, 3, 4, 5]))
    if any(lv not in (1, 2, 3, 4, 5) for lv in levels):
        raise InputError(f"levels must be among 1-5, got {levels}")
    refs = list_images(ref_dir, recursive=recursive)
    if not refs:
        raise InputError(f"{ref_dir}: no images found (extensions: png, jpg, bmp, tif, webp...)")
    out, width = Path(out_dir), max(2, len(str(len(refs))))
    (out / "images").mkdir(parents=True, exist_ok=True)
    res, rows, sources = SynthResult(out), [], []
    total, done = len(refs) * (1 + len(specs) * len(levels)), 0
    for i, rel in enumerate(refs, start=1):
        key = f"I{i:0{width}d}"
        sources.append((key, rel))
        try:
            ref = (read_image(Path(ref_dir) / rel) * 255).round().to(torch.uint8)
        except (IQAError, OSError, ValueError) as e:
            res.failed[rel] = str(e)
            done += 1 + len(specs) * len(levels)
            continue
        jobs = [(f"{key}.png", None, 0)] + [
            (f"{key}_{s.kadid_id:02d}_{lv:02d}.png", s, lv) for s in specs for lv in levels
        ]
        for name, spec, lv in jobs:
            path = out / "images" / name
            if path.exists():
                res.kept += 1
            else:
                img = ref if spec is None else distort(ref, spec.name, level=lv, seed=seed * 100_003 + i)
                _save_png(np.ascontiguousarray(img.permute(1, 2, 0).numpy()), path)
                res.written += 1
            if spec is not None:
                rows.append([name, f"{key}.png", f"{6 - lv}", "0", lv, spec.name])
            done += 1
            if progress:
                progress(done, total)
    buf = io.StringIO()
    w = csv.writer(buf, lineterminator="\n")
    w.writerow(["dist_img", "ref_img", "dmos", "var", "synthetic_level", "distortion"])
    w.writerows(rows)
    atomic_write_text(out / "dmos.csv", buf.getvalue())
    atomic_write_text(out / "sources.csv", "key,source\n" + "".join(f"{k},{s}\n" for k, s in sources))
    atomic_write_text(out / "SYNTHETIC.txt", NOTE)
    res.rows = len(rows)
    return res
