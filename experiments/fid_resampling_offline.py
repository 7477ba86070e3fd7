"""Offline demo of the resampling attack (issue 5): EfficientNet-Lite0 features on ../shared images.

Reference: 224 x 224 crops of CBSD68 (20 per photo, seed 1). Candidate pool: other crops of the
same photos (24 per photo, seed 2), every one degraded the same way (Gaussian blur level 2, then
JPEG level 3 from the distortion bank), so that no reweighting can pick better-quality images:
whatever FD the weights remove is not an image-quality improvement. The independent space is
``pixel_stats`` (hand-crafted colour/contrast/sharpness/noise statistics).

    python experiments/fid_resampling_offline.py --out /tmp/fid_resampling

writes OUT/ref, OUT/pool (PNG crops), OUT/<mode>/report.html per mode and OUT/summary.md.
"""

from __future__ import annotations

import argparse
import json
import time
from pathlib import Path

import numpy as np
import torch
from PIL import Image

from iqa.api.settings import RunSettings
from iqa.attacks.fid_resample_run import attack_fid_resample
from iqa.augment.bank import distort
from iqa.io.folders import list_images
from iqa.io.images import array_to_tensor, decode_image
from iqa.pipelines import summarize_resample
from iqa.reports.attack_report import write_attack_report

SHARED = Path(__file__).resolve().parents[1].parent / "shared" / "data" / "images"


def write_crops(src: Path, out: Path, per_image: int, seed: int, degrade: bool, size: int = 224) -> None:
    if out.exists() and any(out.iterdir()):
        return
    out.mkdir(parents=True, exist_ok=True)
    g = torch.Generator().manual_seed(seed)
    for name in list_images(src):
        x = array_to_tensor(decode_image(src / name))
        for k in range(per_image):
            i = int(torch.randint(0, x.shape[1] - size + 1, (1,), generator=g))
            j = int(torch.randint(0, x.shape[2] - size + 1, (1,), generator=g))
            c = x[:, i : i + size, j : j + size]
            if degrade:
                c = distort(distort(c, "gaussian_blur", level=2, seed=0), "jpeg", level=3, seed=0)
            arr = (c.permute(1, 2, 0).numpy() * 255).round().astype(np.uint8)
            Image.fromarray(arr).save(out / f"{Path(name).stem}_{k:02d}.png")


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--out", type=Path, required=True)
    ap.add_argument("--images", type=Path, default=SHARED / "CBSD68")
    ap.add_argument("--iterations", type=int, default=200)
    ap.add_argument("--modes", nargs="+", default=["pre_logits", "top_n"])
    args = ap.parse_args()
    ref, pool = args.out / "ref", args.out / "pool"
    write_crops(args.images, ref, 20, seed=1, degrade=False)
    write_crops(args.images, pool, 24, seed=2, degrade=True)
    rows = []
    for mode in args.modes:
        t = time.time()
        run = attack_fid_resample(
            pool,
            ref,
            mode=mode,
            iterations=args.iterations,
            eval_every=50,
            settings=RunSettings(batch_size=32, cache_dir=args.out / "cache"),
        )
        write_attack_report(run, args.out / mode, summarize_resample(run))
        r = run.result
        p = r.probabilities
        rows.append(
            {
                "mode": mode,
                **{f"{k}_before": r.before[k] for k in r.before},
                **{f"{k}_after": r.after[k] for k in r.after},
                "ess": float(1 / np.sum(p**2)),
                "seconds": time.time() - t,
                "top1_selection": run.top1_selection,
            }
        )
        print(json.dumps(rows[-1]), flush=True)
    lines = [
        "| mode | FD EfficientNet before | after | change | FD pixel_stats before | after | change | ESS |",
        "|---|---|---|---|---|---|---|---|",
    ]
    for r in rows:
        ch = lambda k, r=r: 100 * (r[f"{k}_after"] - r[f"{k}_before"]) / r[f"{k}_before"]  # noqa: E731
        lines.append(
            f"| {r['mode']} | {r['fd_before']:.2f} | {r['fd_after']:.2f} | {ch('fd'):+.1f} % | "
            f"{r['fd_pixel_stats_before']:.3f} | {r['fd_pixel_stats_after']:.3f} | {ch('fd_pixel_stats'):+.1f} % | {r['ess']:.0f} |"
        )
    sel = rows[0]["top1_selection"]
    if sel:
        lines.append(
            f"\nTop-1 histogram selection (no gradients): FD {sel['fd']:.2f}, FD pixel_stats {sel['fd_pixel_stats']:.3f}."
        )
    (args.out / "summary.md").write_text("\n".join(lines) + "\n")
    print("\n".join(lines))


if __name__ == "__main__":
    main()
