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

from iqa.attacks.fid_resample import resample_fid


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
    print("| pool | dim | chunk | s / iteration | peak RSS (GiB) |\n|---|---|---|---|---|")
    for p in args.pools:
        pool = torch.randn(p, args.dim, generator=g) * 1.1 + 0.05
        t = time.perf_counter()
        resample_fid(pool, ref, iterations=args.iterations, eval_every=10**9, repeats=1, eval_size=1000, chunk=args.chunk)
        per_it = (time.perf_counter() - t) / args.iterations  # includes the two evaluations, amortised
        rss = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 2**20
        print(f"| {p} | {args.dim} | {args.chunk} | {per_it:.2f} | {rss:.2f} |", flush=True)


if __name__ == "__main__":
    main()
