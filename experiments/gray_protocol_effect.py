"""How much the RGB -> grey protocol moves the grey metrics on near-lossless pairs (docs/conventions.md).

    python experiments/gray_protocol_effect.py [--metrics gmsd nlpd ...]

Pairs: the five TID2008/2013 reference images in ../shared/data/images/TID-refs and their Pillow
JPEG copies at quality 98 and 90. For each metric with a ``gray`` option, prints the largest
relative difference between the default protocol (``rgb2gray_uint8``: MATLAB rgb2gray on 8-bit
data) and each float conversion.
"""

from __future__ import annotations

import argparse
import io
from pathlib import Path

import numpy as np
import torch
from PIL import Image

import iqa

SHARED = Path(__file__).resolve().parents[2] / "shared"
METRICS = ("gmsd", "nlpd", "dss", "vif", "vifp", "iw_ssim", "cw_ssim", "mad", "niqe", "brisque", "ssim", "ms_ssim")


def _tensor(im: Image.Image) -> torch.Tensor:
    return torch.from_numpy(np.asarray(im.convert("RGB")).copy()).permute(2, 0, 1)[None].double() / 255


def _pairs() -> list[tuple[str, torch.Tensor, torch.Tensor]]:
    out = []
    for f in sorted((SHARED / "data" / "images" / "TID-refs").glob("*.bmp")):
        ref = Image.open(f).convert("RGB")
        for q in (98, 90):
            buf = io.BytesIO()
            ref.save(buf, "JPEG", quality=q)
            out.append((f"{f.stem} q{q}", _tensor(Image.open(buf)), _tensor(ref)))
    return out


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--metrics", nargs="+", default=list(METRICS))
    args = ap.parse_args()
    pairs = _pairs()
    print("| metric | rgb2gray (float) vs default | rgb2gray_rounded vs default |\n|---|---|---|")
    for name in args.metrics:
        try:
            ms = {g: iqa.create(name, gray=g) for g in ("rgb2gray_uint8", "rgb2gray", "rgb2gray_rounded")}
        except Exception as e:  # noqa: BLE001 - a metric without the option or its weights: say so, go on
            print(f"| {name} | skipped: {type(e).__name__}: {str(e)[:80]} | |")
            continue
        worst = {"rgb2gray": 0.0, "rgb2gray_rounded": 0.0}
        for _, y, x in pairs:
            call = (lambda m: m(y, x)) if iqa.get_spec(name).kind == "fr" else (lambda m: m(y))  # noqa: B023
            base = call(ms["rgb2gray_uint8"]).item()
            for g in worst:
                worst[g] = max(worst[g], abs(call(ms[g]).item() - base) / max(abs(base), 1e-12))
        print(f"| {name} | {worst['rgb2gray']:.2%} | {worst['rgb2gray_rounded']:.2%} |")


if __name__ == "__main__":
    main()
