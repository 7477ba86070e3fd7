"""Time per iteration and peak memory of the resampling attack for large pools (issue 5).

Random float32 features of the FID Inception's width (2048) stand in for real ones: cost depends
only on the pool size, the dimension and the chunk size. Peak memory is the process's max RSS.

    python benchmarks/bench_fid_resample.py --pools 10000 50000 --iterations 3
"""

from __future__ import annotations

import argparse
import resource
import time

import torch

from iqa.attacks._weighted import weight_gradient, weighted_stats
from iqa.attacks.fid_resample import Space, evaluate
from iqa.stats.frechet import FrechetReference


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--pools", nargs="+", type=int, default=[10_000, 50_000])
    ap.add_argument("--dim", type=int, default=2048)
    ap.add_argument("--reference", type=int, default=5000)
    ap.add_argument("--iterations", type=int, default=3)
    ap.add_argument("--chunk", type=int, default=4096)
    args = ap.parse_args()
    g = torch.Generator().manual_seed(0)
    ref = torch.randn(args.reference, args.dim, generator=g)
    target = FrechetReference.build(ref.double().mean(0), torch.cov(ref.double().T))
    print("| pool | dim | chunk | s / iteration | s / evaluation (3 draws of 5000) | peak RSS (GiB) |")
    print("|---|---|---|---|---|---|")
    for p in args.pools:
        pool = torch.randn(p, args.dim, generator=g) * 1.1 + 0.05  # float32, as the attack keeps it
        w = torch.zeros(p, dtype=torch.float64)
        t = time.perf_counter()
        for _ in range(args.iterations):  # one optimisation step, exactly as resample_fid does it
            mean, cov, s = weighted_stats(pool, w, args.chunk)
            _, g_mean, g_cov = target.gradients(mean, cov)
            w = w - 0.05 * torch.sign(weight_gradient(pool, w, mean, cov, s, g_mean, g_cov, args.chunk))
        per_it = (time.perf_counter() - t) / args.iterations
        t = time.perf_counter()
        p_w = torch.softmax(w, 0).numpy()
        evaluate({"fd": Space(pool, ref)}, p_w / p_w.sum(), args.reference, 3, 0)
        per_eval = time.perf_counter() - t
        rss = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 2**20
        print(f"| {p} | {args.dim} | {args.chunk} | {per_it:.2f} | {per_eval:.2f} | {rss:.2f} |", flush=True)


if __name__ == "__main__":
    main()
