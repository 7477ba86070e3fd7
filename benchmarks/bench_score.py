"""Benchmark ``iqa score`` against per-image loops with piq and torchmetrics (and pyiqa's CLI).

Usage:
    python benchmarks/bench_score.py [--pairs 300] [--repeats 3] [--data DIR]

Builds 300 PNG pairs of 512x384 (crops of ../shared/data/images/Urban50 and distorted copies:
JPEG, noise, blur) in DIR (default: a cache folder, never committed), then times each contender
as a whole process (interpreter start, imports, decoding and metrics all count), checks that all
produce the same values, and prints a markdown table of times and ratios for docs/benchmarks.md.
"""

from __future__ import annotations

import argparse
import csv
import io
import os
import shutil
import statistics
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
from PIL import Image, ImageFilter

HERE = Path(__file__).resolve().parent
SHARED = HERE.parent.parent / "shared" / "data" / "images" / "Urban50"


def build(data: Path, n_pairs: int) -> tuple[Path, Path]:
    ref_dir, dist_dir = data / "ref", data / "dist"
    if ref_dir.is_dir() and len(os.listdir(dist_dir)) == n_pairs:
        return dist_dir, ref_dir
    shutil.rmtree(data, ignore_errors=True)
    ref_dir.mkdir(parents=True)
    dist_dir.mkdir(parents=True)
    sources = sorted(SHARED.glob("*.png"))
    if not sources:
        sys.exit(f"no source images in {SHARED}")
    rng = np.random.default_rng(0)
    k = 0
    while k < n_pairs:
        src = Image.open(sources[k % len(sources)]).convert("RGB")
        slot = k // len(sources)
        x = min(src.width - 512, (slot % 3) * 256)
        y = 0 if slot < 3 else src.height - 384
        crop = src.crop((x, y, x + 512, y + 384))
        name = f"r{k:04d}"
        crop.save(ref_dir / f"{name}.png")
        kind = k % 3
        if kind == 0:
            buf = io.BytesIO()
            crop.save(buf, "JPEG", quality=int(rng.integers(5, 90)))
            out = Image.open(io.BytesIO(buf.getvalue())).convert("RGB")
        elif kind == 1:
            a = np.asarray(crop).astype(np.float32) + rng.normal(0, rng.uniform(2, 30), (384, 512, 3))
            out = Image.fromarray(np.clip(np.rint(a), 0, 255).astype(np.uint8))
        else:
            out = crop.filter(ImageFilter.GaussianBlur(float(rng.uniform(0.5, 3))))
        out.save(dist_dir / f"{name}__d.png")
        k += 1
    return dist_dir, ref_dir


def run(cmd: list[str], cwd: Path | None = None) -> float:
    t = time.perf_counter()
    subprocess.run(cmd, check=True, cwd=cwd, stdout=subprocess.DEVNULL)
    return time.perf_counter() - t


def read(path: Path) -> dict[str, tuple[float, float]]:
    with open(path) as f:
        return {r["file"]: (float(r["psnr"]), float(r["ssim"])) for r in csv.DictReader(f)}


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--pairs", type=int, default=300)
    ap.add_argument("--repeats", type=int, default=3)
    ap.add_argument("--data", type=Path, default=Path.home() / ".cache" / "iqa-bench" / "score")
    args = ap.parse_args()
    dist, ref = build(args.data, args.pairs)
    out = args.data / "out"
    out.mkdir(exist_ok=True)
    iqa_bin = shutil.which("iqa") or sys.exit("iqa is not on PATH: pip install -e .")
    contenders = {
        "iqa score": [
            iqa_bin,
            "score",
            str(dist),
            "--ref",
            str(ref),
            "-m",
            "psnr",
            "-m",
            "ssim",
            "-o",
            str(out / "iqa.csv"),
            "--overwrite",
            "-q",
            "--ref-pattern",
            r"(?P<ref>.+)__",
        ],
        "piq loop": [
            sys.executable,
            str(HERE / "baselines" / "piq_loop.py"),
            str(dist),
            str(ref),
            str(out / "piq.csv"),
        ],
        "torchmetrics loop": [
            sys.executable,
            str(HERE / "baselines" / "torchmetrics_loop.py"),
            str(dist),
            str(ref),
            str(out / "torchmetrics.csv"),
        ],
    }
    times: dict[str, list[float]] = {k: [] for k in contenders}
    for _ in range(args.repeats):  # interleaved, so drift in machine load hits all alike
        for name, cmd in contenders.items():
            times[name].append(run(cmd, cwd=HERE / "baselines"))
    ours = read(out / "iqa.csv")
    print(f"pairs: {args.pairs} PNG 512x384; repeats: {args.repeats}; cpu threads: {os.cpu_count()}\n")
    print("| contender | median s | all runs s | iqa speed-up | max abs diff psnr / ssim vs iqa |")
    print("|---|---|---|---|---|")
    t_iqa = statistics.median(times["iqa score"])
    for name, ts in times.items():
        fname = {"iqa score": "iqa", "piq loop": "piq", "torchmetrics loop": "torchmetrics"}[name]
        vals = read(out / f"{fname}.csv")
        dp = max(abs(vals[k][0] - ours[k][0]) for k in ours)
        ds = max(abs(vals[k][1] - ours[k][1]) for k in ours)
        med = statistics.median(ts)
        print(
            f"| {name} | {med:.2f} | {', '.join(f'{t:.2f}' for t in ts)} | {med / t_iqa:.2f}x | {dp:.2e} / {ds:.2e} |"
        )


if __name__ == "__main__":
    main()
