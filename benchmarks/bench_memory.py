"""Peak memory of scoring 24-megapixel pairs, and the decompression-bomb refusal of a 100-MP file.

Usage:
    python benchmarks/bench_memory.py [--data DIR]
    python benchmarks/bench_memory.py --pairs 8 [--max-batch-pixels N]   # many camera photos (issue 20)

Writes a 6000x4000 reference (an Urban50 image from ../shared upscaled, else a synthetic
texture) and a noisy copy, then measures the peak RSS of whole processes:
  1. ``iqa score DIST --ref REF -m ssim -m ms_ssim`` (the CLI path),
  2. a Python process calling ``iqa.score`` for ssim and ms_ssim on the two files (the API path),
and finally shows that a 10000x10000 file is refused with a message naming the override.

With ``--pairs N`` (N > 1) it writes N such pairs (each reference a different shift of the first,
so no reference is shared) and measures only step 1 at the default batch size: the case of a
folder of camera photos, where batches must be bounded by pixels rather than by count.
"""

from __future__ import annotations

import argparse
import os
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

import numpy as np
from PIL import Image

SHARED = Path(__file__).resolve().parents[2] / "shared" / "data" / "images" / "Urban50"
API_SCRIPT = """
import sys, iqa
d, r = sys.argv[1], sys.argv[2]
print("ssim", float(iqa.score("ssim", d, r)), "ms_ssim", float(iqa.score("ms_ssim", d, r)))
"""


def make_pair(root: Path, pairs: int = 1) -> tuple[Path, Path]:
    (root / "ref").mkdir(parents=True, exist_ok=True)
    (root / "dist").mkdir(parents=True, exist_ok=True)
    srcs = sorted(SHARED.glob("*.png"))
    if srcs:
        big = Image.open(srcs[0]).convert("RGB").resize((6000, 4000), Image.BICUBIC)
    else:
        yy, xx = np.mgrid[0:4000, 0:6000]
        big = Image.fromarray(
            (127 + 120 * np.sin(xx / 37.0)[..., None] * np.cos(yy / 23.0)[..., None] * np.ones(3)).astype(np.uint8)
        )
    base = np.asarray(big)
    for k in range(pairs):
        name = "a.png" if k == 0 else f"a{k:02d}.png"
        ref = np.roll(base, 97 * k, axis=1)  # a different reference per pair: none is shared
        Image.fromarray(ref).save(root / "ref" / name, compress_level=1)
        noise = np.random.default_rng(k).integers(-10, 11, ref.shape)
        noisy = np.clip(ref.astype(np.int16) + noise, 0, 255).astype(np.uint8)
        Image.fromarray(noisy).save(root / "dist" / name, compress_level=1)
    return root / "dist", root / "ref"


def peak_rss_mb(cmd: list[str]) -> tuple[float, str]:
    """Run ``cmd`` and return the peak RSS of that child alone (MB, from wait4) and its output."""
    with tempfile.TemporaryFile("w+") as out:
        p = subprocess.Popen(cmd, stdout=out, stderr=subprocess.STDOUT, text=True)
        _, status, usage = os.wait4(p.pid, 0)
        p.returncode = os.waitstatus_to_exitcode(status)
        out.seek(0)
        text = out.read()
    if p.returncode not in (0, 1):
        sys.exit(text)
    return usage.ru_maxrss / 1024, text


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--data", type=Path)
    ap.add_argument("--pairs", type=int, default=1, help="number of 24-MP pairs (>1: CLI folder run only)")
    ap.add_argument("--max-batch-pixels", type=int, help="passed to `iqa score` (default: its own default)")
    args = ap.parse_args()
    root = args.data or Path(tempfile.mkdtemp(prefix="iqa-mem-"))
    dist, ref = make_pair(root, args.pairs)
    iqa_bin = shutil.which("iqa") or sys.exit("iqa not on PATH")
    if args.pairs > 1:
        budget = [] if args.max_batch_pixels is None else ["--max-batch-pixels", str(args.max_batch_pixels)]
        cmd = [iqa_bin, "score", str(dist), "--ref", str(ref), "-m", "ssim", "-m", "ms_ssim", "-q", *budget]
        rss, out = peak_rss_mb(cmd)
        print(f"CLI  iqa score {args.pairs} 6000x4000 pairs, ssim + ms_ssim {' '.join(budget)}: peak RSS {rss:.0f} MB")
        print(out.strip())
        if args.data is None:
            shutil.rmtree(root)
        return
    rss, out = peak_rss_mb([iqa_bin, "score", str(dist), "--ref", str(ref), "-m", "ssim", "-m", "ms_ssim", "-q"])
    print(f"CLI  iqa score 6000x4000 pair, ssim + ms_ssim: peak RSS {rss:.0f} MB\n{out.strip()}")
    rss2, out2 = peak_rss_mb([sys.executable, "-c", API_SCRIPT, str(dist / "a.png"), str(ref / "a.png")])
    print(f"API  iqa.score on the same files: peak RSS {rss2:.0f} MB\n{out2.strip()}")
    huge = root / "huge.png"
    Image.new("L", (10000, 10000)).save(huge)
    _, msg = peak_rss_mb([iqa_bin, "score", str(root), "--ref", str(root), "-m", "psnr", "-q"])
    print("100-MP file:", [line for line in msg.splitlines() if "huge.png" in line][0].strip())
    if args.data is None:
        shutil.rmtree(root)


if __name__ == "__main__":
    main()
