"""KADID-10k (Lin, Hosu, Saupe, "KADID-10k: A Large-scale Artificially Distorted IQA Database",
QoMEX 2019). Official ``dmos.csv``: ``dist_img,ref_img,dmos,var``; images ``Ixx_yy_zz.png`` (81
references x 25 distortion types x 5 levels) beside the references in ``images/``.

Despite its name ``dmos`` is a mean opinion score: 1-5, higher is better (observed 1.00-4.93).
``var`` is a variance; ``std`` here is its square root. Type and level are decoded from the name
(``yy`` 01-25 in the order below, ``zz`` 1-5). No official split exists: the default split is
by reference image, seeded (``splits.seeded_group_split``, 60/20/20, seed 123).
"""

from __future__ import annotations

import math
import re
from pathlib import Path
from typing import Any

from iqa.datasets._parse import Problems, check_name, check_score, note_duplicates, read_csv_table, require_file
from iqa.datasets.base import STANDARD_COLUMNS, MOSDataset, finish_table
from iqa.datasets.splits import DEFAULT_SEED, seeded_group_split

# (type name, family), in KADID-10k's numbering (01 = gaussian blur ... 25 = contrast change).
DISTORTIONS: tuple[tuple[str, str], ...] = (
    ("gaussian_blur", "blur"), ("lens_blur", "blur"), ("motion_blur", "blur"),
    ("color_diffusion", "color"), ("color_shift", "color"), ("color_quantization", "color"),
    ("color_saturation_hsv", "color"), ("color_saturation_lab", "color"),
    ("jpeg2000", "compression"), ("jpeg", "compression"),
    ("white_noise", "noise"), ("white_noise_color", "noise"), ("impulse_noise", "noise"),
    ("multiplicative_noise", "noise"), ("denoise", "noise"),
    ("brighten", "brightness"), ("darken", "brightness"), ("mean_shift", "brightness"),
    ("jitter", "spatial"), ("non_eccentricity_patch", "spatial"), ("pixelate", "spatial"),
    ("quantization", "spatial"), ("color_block", "spatial"),
    ("high_sharpen", "sharpness_contrast"), ("contrast_change", "sharpness_contrast"),
)  # fmt: skip
NAME = re.compile(r"^(?P<ref>I\d+)_(?P<type>\d{2})_(?P<level>\d{2})\.\w+$")


def load_kadid10k(
    root: str | Path,
    *,
    image_dir: str = "images",
    ratios: tuple[float, ...] = (0.6, 0.2, 0.2),
    seed: int = DEFAULT_SEED,
) -> MOSDataset:
    """KADID-10k records from ``root/dmos.csv``; images under ``root/<image_dir>/``."""
    root = Path(root)
    path = require_file(
        root / "dmos.csv", "KADID-10k label file dmos.csv", "Fix: --root must be the extracted kadid10k folder"
    )
    problems = Problems(path)
    table = read_csv_table(path, ["dist_img", "ref_img", "dmos", "var"], problems)
    note_duplicates([(ln, r["dist_img"]) for ln, r in table], problems)
    rows: list[dict[str, Any]] = []
    seen: set[str] = set()
    for ln, r in table:
        dist, ref = check_name(r["dist_img"], ln, problems), check_name(r["ref_img"], ln, problems, "ref_img")
        mos, var = check_score(r["dmos"], ln, problems, "dmos"), check_score(r["var"], ln, problems, "var")
        m = NAME.match(dist or "")
        if dist and not m:
            problems.add(ln, f"{dist!r} is not named Ixx_yy_zz.ext (reference_type_level)")
            continue
        if not (dist and ref and m and mos is not None and var is not None) or dist in seen:
            continue
        if not 1.0 <= mos <= 5.0:
            problems.add(ln, f"dmos {mos} outside KADID's 1-5 scale")
            continue
        t, level = int(m["type"]), int(m["level"])
        if not (1 <= t <= len(DISTORTIONS) and 1 <= level <= 5):
            problems.add(ln, f"{dist!r}: type {t} / level {level} outside 1-25 / 1-5")
            continue
        if Path(ref).stem != m["ref"]:
            problems.add(ln, f"{dist!r} names reference {m['ref']} but ref_img is {ref!r}")
            continue
        seen.add(dist)
        name, family = DISTORTIONS[t - 1]
        rows.append({"image": f"{image_dir}/{dist}", "ref": f"{image_dir}/{ref}", "mos": mos, "std": math.sqrt(max(var, 0.0)),
                     "distortion": name, "family": family, "level": level, "content": m["ref"]})  # fmt: skip
    problems.raise_if_any("Fix: dmos.csv must be KADID-10k's (header dist_img,ref_img,dmos,var).")
    assign = seeded_group_split([str(r["content"]) for r in rows], ratios, seed)
    for r in rows:
        r["split"] = assign[r["content"]]
    return MOSDataset(
        name="kadid10k",
        root=root,
        table=finish_table(rows, STANDARD_COLUMNS),
        scale=(1.0, 5.0),
        score_name="MOS (1-5; the file calls it dmos)",
        group_columns=("distortion", "family", "level", "content"),
        split_source=f"seeded by reference image, ratios {ratios}, seed {seed}",
        notes={"std": "sqrt(var) from dmos.csv"},
    )
