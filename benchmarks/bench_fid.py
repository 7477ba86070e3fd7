"""FID end to end: `iqa compare` vs pytorch-fid and torch-fidelity, and Frechet distance vs scipy.

Usage:
    python benchmarks/bench_fid.py [--images 200] [--repeats 2]

Two folders of 256x256 PNG crops (../shared/data/images: CBSD68/Urban50 crops vs blurred, noisy
copies) are written to a cache folder. Every contender runs as a whole process and loads the same
random FID-Inception state dict (the published weights are not available offline), so the
values must agree: iqa `fid` vs pytorch-fid, `fid_tf` vs torch-fidelity, `fid_clean` vs clean-fid.
Then the Frechet distance itself on 2048-d covariances: iqa's Cholesky + eigvalsh route vs
scipy.linalg.sqrtm (pytorch-fid's route), same inputs.
"""

from __future__ import annotations

import argparse
import re
import statistics
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import torch
from PIL import Image, ImageFilter

HERE = Path(__file__).resolve().parent
SHARED = HERE.parent.parent / "shared" / "data" / "images"
sys.path.insert(0, str(HERE.parent))


def build(root: Path, n: int) -> tuple[Path, Path]:
    a, b = root / "a", root / "b"
    if a.is_dir() and len(list(a.iterdir())) == n:
        return a, b
    a.mkdir(parents=True, exist_ok=True)
    b.mkdir(parents=True, exist_ok=True)
    srcs = sorted((SHARED / "CBSD68").glob("*.png")) + sorted((SHARED / "Urban50").glob("*.png"))
    rng = np.random.default_rng(0)
    for i in range(n):
        im = Image.open(srcs[i % len(srcs)]).convert("RGB")
        x, y = int(rng.integers(0, im.width - 256)), int(rng.integers(0, im.height - 256))
        crop = im.crop((x, y, x + 256, y + 256))
        crop.save(a / f"{i:04d}.png")
        arr = np.asarray(crop.filter(ImageFilter.GaussianBlur(1.0))).astype(float) + rng.normal(0, 8, (256, 256, 3))
        Image.fromarray(np.clip(arr, 0, 255).astype(np.uint8)).save(b / f"{i:04d}.png")
    return a, b


def run(script: str, *args: str) -> tuple[float, float]:
    t = time.perf_counter()
    p = subprocess.run(
        [sys.executable, str(HERE / "fid_runners" / script), *args],
        capture_output=True,
        text=True,
        cwd=HERE / "fid_runners",
    )
    wall = time.perf_counter() - t
    m = re.search(r"RESULT (\S+)", p.stdout)
    if p.returncode or not m:
        sys.exit(f"{script} failed:\n{p.stdout}\n{p.stderr}")
    return float(m.group(1)), wall


def bench_frechet() -> None:
    from iqa.stats import GaussianStats, frechet_distance

    g = torch.Generator().manual_seed(0)
    s1 = GaussianStats(2048).update(torch.randn(5000, 2048, generator=g, dtype=torch.float64))
    s2 = GaussianStats(2048).update(torch.randn(5000, 2048, generator=g, dtype=torch.float64) * 1.1 + 0.1)
    rows = []
    for method in ("eigh", "scipy"):
        ts, v = [], 0.0
        for _ in range(3):
            t = time.perf_counter()
            v = frechet_distance(s1.mean, s1.cov, s2.mean, s2.cov, method=method).item()
            ts.append(time.perf_counter() - t)
        rows.append((method, statistics.median(ts), v))
    print("\n| Frechet distance, 2048-d | median s | value |\n|---|---|---|")
    for method, t, v in rows:
        print(
            f"| {'iqa (Cholesky + eigvalsh)' if method == 'eigh' else 'scipy.linalg.sqrtm (pytorch-fid route)'} | {t:.2f} | {v:.10f} |"
        )
    print(
        f"\nspeed-up {rows[1][1] / rows[0][1]:.1f}x; relative difference {abs(rows[0][2] - rows[1][2]) / rows[1][2]:.1e}"
    )


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--images", type=int, default=200)
    ap.add_argument("--repeats", type=int, default=2)
    ap.add_argument("--data", type=Path, default=Path.home() / ".cache" / "iqa-bench" / "fid")
    args = ap.parse_args()
    a, b = build(args.data, args.images)
    weights = args.data / "random_fid_inception.pth"
    if not weights.exists():
        from iqa.features.inception import FIDInceptionNet
        from tests.helpers.random_weights import randomize

        torch.save(randomize(FIDInceptionNet(), seed=0), weights)
    jobs = {
        "iqa fid": ("run_iqa.py", str(weights), str(a), str(b), "fid"),
        "pytorch-fid": ("run_pytorch_fid.py", str(weights), str(a), str(b)),
        "iqa fid_tf": ("run_iqa.py", str(weights), str(a), str(b), "fid_tf"),
        "torch-fidelity": ("run_torch_fidelity.py", str(weights), str(a), str(b)),
        "iqa fid_clean": ("run_iqa.py", str(weights), str(a), str(b), "fid_clean"),
        "clean-fid": ("run_clean_fid.py", str(weights), str(a), str(b)),
    }
    res: dict[str, list[tuple[float, float]]] = {k: [] for k in jobs}
    for _ in range(args.repeats):
        for k, job in jobs.items():
            res[k].append(run(*job))
    print(f"{args.images} + {args.images} PNG images 256x256, CPU, 2 threads; same random weights in every contender\n")
    print("| contender | value | median s | runs s |\n|---|---|---|---|")
    for k, rs in res.items():
        print(
            f"| {k} | {rs[0][0]:.6f} | {statistics.median(t for _, t in rs):.2f} | {', '.join(f'{t:.2f}' for _, t in rs)} |"
        )
    med = {k: statistics.median(t for _, t in rs) for k, rs in res.items()}
    print(
        f"\nfid vs pytorch-fid: rel diff {abs(res['iqa fid'][0][0] - res['pytorch-fid'][0][0]) / res['pytorch-fid'][0][0]:.1e}, "
        f"speed-up {med['pytorch-fid'] / med['iqa fid']:.2f}x"
    )
    print(
        f"fid_tf vs torch-fidelity: rel diff {abs(res['iqa fid_tf'][0][0] - res['torch-fidelity'][0][0]) / res['torch-fidelity'][0][0]:.1e}, "
        f"speed-up {med['torch-fidelity'] / med['iqa fid_tf']:.2f}x"
    )
    print(
        f"fid_clean vs clean-fid: rel diff {abs(res['iqa fid_clean'][0][0] - res['clean-fid'][0][0]) / res['clean-fid'][0][0]:.1e}, "
        f"speed-up {med['clean-fid'] / med['iqa fid_clean']:.2f}x"
    )
    fastest = min(med[k] for k in ("pytorch-fid", "torch-fidelity", "clean-fid"))
    print(
        f"fastest peer {fastest:.2f} s; iqa fid {fastest / med['iqa fid']:.2f}x, fid_tf {fastest / med['iqa fid_tf']:.2f}x, "
        f"fid_clean {fastest / med['iqa fid_clean']:.2f}x faster than it"
    )
    bench_frechet()


if __name__ == "__main__":
    main()
