"""Shared bits of the baseline loops: list pairs, decode with PIL, BT.601 Y, write CSV.

The loops are what a user writes by hand with a peer library: one pair at a time, PIL decode,
the peer's metric functions. To compare like with like they compute the *same* quantities as
``iqa score -m psnr -m ssim``: PSNR over RGB, and SSIM on the MATLAB ``rgb2ycbcr`` Y channel with
``ssim.m``'s downsampling (for 512x384 images f = 2, which equals ``avg_pool2d(2)``).
"""

from __future__ import annotations

import csv
import os
import sys

import numpy as np
import torch
from PIL import Image


def pairs(dist_dir: str, ref_dir: str) -> list[tuple[str, str]]:
    files = sorted(os.listdir(dist_dir))
    return [(f, f.split("__")[0] + ".png") for f in files]


def load(path: str) -> torch.Tensor:
    a = np.asarray(Image.open(path).convert("RGB"))
    return torch.from_numpy(a.copy()).permute(2, 0, 1).unsqueeze(0).float() / 255.0


def to_y(x: torch.Tensor) -> torch.Tensor:
    w = torch.tensor([65.481, 128.553, 24.966]).view(1, 3, 1, 1) / 255.0
    return (x * w).sum(1, keepdim=True) + 16.0 / 255.0


def write(out: str, rows: list[tuple[str, float, float]]) -> None:
    with open(out, "w", newline="") as f:
        w = csv.writer(f)
        w.writerow(["file", "psnr", "ssim"])
        w.writerows(rows)


def main(score_pair) -> None:  # noqa: ANN001
    dist_dir, ref_dir, out = sys.argv[1:4]
    rows = []
    for f, r in pairs(dist_dir, ref_dir):
        x, y = load(os.path.join(dist_dir, f)), load(os.path.join(ref_dir, r))
        p, s = score_pair(x, y)
        rows.append((f, p, s))
    write(out, rows)
