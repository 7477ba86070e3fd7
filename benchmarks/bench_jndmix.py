"""JNDMix: throughput, and how much equal-energy JND noise lowers SSIM / MS-SSIM vs white noise.

    python benchmarks/bench_jndmix.py [--set ../shared/data/images/Set14] [--figure docs/img/jndmix.png]

Throughput: 512x384 RGB images on CPU (torch threads as set), per model, batch 1 and 16.
Comparison: for every image, JND noise at strength 1 and white gaussian noise scaled to the same
L2 energy; the table gives the mean drop 1 - SSIM and 1 - MS-SSIM and their ratio JND / white.
"""

from __future__ import annotations

import argparse
import time
from pathlib import Path

import torch

import iqa
from iqa.augment import JNDMix, jnd_heatmap, jnd_noise
from iqa.io import list_images, read_image


def throughput(model: str, batch: int, reps: int = 5) -> float:
    x = torch.rand(batch, 3, 384, 512)
    t = JNDMix(p=1.0, strength=1.0, model=model, generator=torch.Generator().manual_seed(0))
    t(x)
    start = time.perf_counter()
    for _ in range(reps):
        t(x)
    return reps * batch / (time.perf_counter() - start)


def equal_energy(img: torch.Tensor, model: str, seed: int) -> tuple[torch.Tensor, torch.Tensor]:
    x = img[None].double()
    jnd = (x + jnd_noise(x, model=model, generator=torch.Generator().manual_seed(seed))).clamp(0, 1)
    e = (jnd - x).pow(2).sum()
    w = torch.randn(x.shape, generator=torch.Generator().manual_seed(seed + 1), dtype=torch.float64)
    white = (x + w * (e / w.pow(2).sum()).sqrt()).clamp(0, 1)
    return jnd.float(), white.float()


def figure(img: torch.Tensor, path: Path) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    ssim = iqa.create("ssim")
    jnd, white = equal_energy(img, "wu2017", 0)
    x = img[None]
    panels = [("image", img), ("JND map (wu2017)", jnd_heatmap(img)),
              (f"JND noise: SSIM {ssim(jnd, x).item():.3f}", jnd[0]), (f"white noise, same energy: SSIM {ssim(white, x).item():.3f}", white[0])]  # fmt: skip
    fig, axes = plt.subplots(1, 4, figsize=(16, 4.4))
    for ax, (title, t) in zip(axes, panels):
        ax.imshow(t.permute(1, 2, 0).clamp(0, 1).numpy())
        ax.set_title(title, fontsize=10)
        ax.axis("off")
    fig.tight_layout()
    path.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(path, dpi=90)


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--set", type=Path, default=Path(__file__).resolve().parents[2] / "shared/data/images/Set14")
    ap.add_argument("--figure", type=Path, default=None)
    args = ap.parse_args()
    print(f"torch threads: {torch.get_num_threads()}\n\n| model | batch | images/s (512x384) |\n|---|---|---|")
    for model in ("wu2017", "namm_chou", "namm_yang"):
        for batch in (1, 16):
            print(f"| {model} | {batch} | {throughput(model, batch):.1f} |")
    ssim, ms = iqa.create("ssim"), iqa.create("ms_ssim")
    files = list_images(args.set)
    imgs = [read_image(args.set / f) for f in files]
    print(
        f"\n{len(imgs)} images from {args.set}\n\n| model | 1-SSIM JND | 1-SSIM white | ratio | 1-MS-SSIM JND | 1-MS-SSIM white | ratio |\n|---|---|---|---|---|---|---|"
    )
    for model in ("wu2017", "namm_chou", "namm_yang"):
        d = torch.zeros(4)
        for i, img in enumerate(imgs):
            jnd, white = equal_energy(img, model, i)
            x = img[None]
            d += torch.tensor(
                [1 - ssim(jnd, x).item(), 1 - ssim(white, x).item(), 1 - ms(jnd, x).item(), 1 - ms(white, x).item()]
            )
        d /= len(imgs)
        print(
            f"| {model} | {d[0]:.4f} | {d[1]:.4f} | {d[0] / d[1]:.2f} | {d[2]:.4f} | {d[3]:.4f} | {d[2] / d[3]:.2f} |"
        )
    if args.figure:
        pick = next((i for i, f in enumerate(files) if f.startswith("lenna")), 0)  # smooth areas and texture
        figure(imgs[pick][:, 128:384, 128:384], args.figure)
        print(f"\nfigure: {args.figure}")


if __name__ == "__main__":
    main()
