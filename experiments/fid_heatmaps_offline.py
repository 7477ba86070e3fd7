"""Offline demo of FID sensitivity heatmaps (issue 5): EfficientNet-Lite0 on ../shared images.

GEN = Urban50 (urban scenes), REF = CBSD68 (natural photographs). Both sets have fewer images than
the 1280 feature dimensions, so a ridge of 1e-3 of the mean variance is used. Writes the gallery to
OUT/ and a composite figure (image | paper weighting | signed weighting) to --figure.

    python experiments/fid_heatmaps_offline.py --out /tmp/fid_heatmaps --figure docs/img/fid_heatmaps.png
"""

from __future__ import annotations

import argparse
from pathlib import Path

import numpy as np

from iqa.explain.fid_explain import explain_fid
from iqa.explain.render import overlay
from iqa.reports._figures import _plt
from iqa.reports.explain_gallery import write_explain_gallery

SHARED = Path(__file__).resolve().parents[1].parent / "shared" / "data" / "images"


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--out", type=Path, required=True)
    ap.add_argument("--figure", type=Path)
    ap.add_argument("--images", type=int, default=4)
    args = ap.parse_args()
    common = dict(images=args.images, ridge=1e-3, seed=3, cache_dir=args.out / "cache")
    paper = explain_fid(SHARED / "Urban50", SHARED / "CBSD68", weighting="grad_sq", **common)
    signed = explain_fid(SHARED / "Urban50", SHARED / "CBSD68", weighting="grad", **common)
    write_explain_gallery(paper, args.out / "grad_sq")
    write_explain_gallery(signed, args.out / "grad")
    print(f"FD = {paper.fid:.2f}; top-1 overlap {paper.histograms.overlap:.3f}")
    for a in paper.items:
        print(f"{a.name}: contribution {a.contribution:+.3f}, top-1 {a.top[0][0]} ({a.top[0][1]:.2f})")
    if args.figure:
        plt = _plt()
        n = len(paper.items)
        fig, axes = plt.subplots(n, 3, figsize=(9, 2.6 * n))
        for row, (a, b) in enumerate(zip(paper.items, signed.items)):
            img = (a.image.permute(1, 2, 0).numpy() * 255).astype(np.uint8)
            for ax, im, title in zip(
                axes[row],
                (img, overlay(a.image, a.heatmap), overlay(b.image, b.heatmap)),
                (f"{a.name}: {a.top[0][0]}", f"grad_sq (paper), {a.contribution:+.2f}", "grad (signed)"),
            ):
                ax.imshow(im)
                ax.set_title(title, fontsize=8)
                ax.axis("off")
        fig.suptitle("Where FD(EfficientNet-Lite0) between Urban50 and CBSD68 looks", fontsize=10)
        fig.tight_layout()
        args.figure.parent.mkdir(parents=True, exist_ok=True)
        fig.savefig(args.figure, dpi=64)


if __name__ == "__main__":
    main()
