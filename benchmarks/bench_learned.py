"""Forward speed and peak memory of iqa's learned metrics against their reference implementation.

    python benchmarks/bench_learned.py [--size 384x512] [--repeats 5] [--only topiq] [--memory]

Every family in ``benchmarks/learned/`` builds iqa's network and the reference's (pyiqa or the
authors' code, used here only as a test-time reference) with the same random state dict in the
released key layout (the released weights are not available offline; speed does not depend on the
values), then both score the same decoded image (a crop of ../shared Urban50, or a synthetic
texture without ../shared) in one process after a warm-up. The median of ``--repeats`` timed calls
is reported with the ratio reference/iqa (> 1: iqa is faster) and the largest score difference.
``--memory`` runs each side of each case in its own process (the other side's network freed) on a
1024x768 image and samples the RSS during the forward: resident once built, peak, and the difference.
"""

from __future__ import annotations

import argparse
import importlib
import pkgutil
import resource
import statistics
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path

import numpy as np
import torch
from PIL import Image

HERE = Path(__file__).resolve().parent
SHARED = HERE.parents[1] / "shared" / "data" / "images" / "Urban50"
sys.path.insert(0, str(HERE.parent))

from benchmarks.learned import Case  # noqa: E402


def load_pair(h: int, w: int) -> tuple[torch.Tensor, torch.Tensor]:
    """A (1, 3, h, w) image and a JPEG-degraded copy, float32 in [0, 1]."""
    import io

    files = sorted(SHARED.glob("*.png"))
    if files:
        im = Image.open(files[0]).convert("RGB").resize((w, h), Image.BICUBIC)
    else:
        yy, xx = np.mgrid[0:h, 0:w]
        im = Image.fromarray(
            (127 + 120 * np.sin(xx / 9.0)[..., None] * np.cos(yy / 7.0)[..., None] * np.ones(3)).astype(np.uint8)
        )
    buf = io.BytesIO()
    im.save(buf, "JPEG", quality=25)
    dist = Image.open(buf).convert("RGB")

    def t(x: Image.Image) -> torch.Tensor:
        return torch.from_numpy(np.asarray(x).copy()).permute(2, 0, 1)[None].float() / 255

    return t(dist), t(im)


def families(only: list[str] | None) -> list[str]:
    names = [m.name for m in pkgutil.iter_modules([str(HERE / "learned")])]
    return [n for n in names if not only or n in only]


def timed(fn: Callable[[], torch.Tensor], repeats: int) -> tuple[float, torch.Tensor]:
    with torch.inference_mode():
        out = fn()  # warm-up (allocations, lazy builds)
        times = []
        for _ in range(repeats):
            t0 = time.perf_counter()
            out = fn()
            times.append(time.perf_counter() - t0)
    return statistics.median(times), out.detach().float().reshape(-1)


def cases_of(family: str, img: torch.Tensor, ref: torch.Tensor) -> list[Case]:
    return importlib.import_module(f"benchmarks.learned.{family}").cases(img, ref)


def speed(args: argparse.Namespace) -> None:
    h, w = args.size
    img, ref = load_pair(h, w)
    print(f"torch {torch.__version__}, {torch.get_num_threads()} threads, image {w}x{h}, median of {args.repeats}")
    print("| metric | iqa (ms) | reference | reference (ms) | ratio ref/iqa | max abs diff |")
    print("|---|---:|---|---:|---:|---:|")
    for fam in families(args.only):
        for case in cases_of(fam, img, ref):
            t_ours, v_ours = timed(case.ours, args.repeats)
            if case.reference is None:
                print(f"| {case.name} | {t_ours * 1e3:.1f} | {case.reference_name} | - | - | - |")
                continue
            t_ref, v_ref = timed(case.reference, args.repeats)
            diff = float((v_ours - v_ref).abs().max())
            print(f"| {case.name} | {t_ours * 1e3:.1f} | {case.reference_name} | {t_ref * 1e3:.1f} "
                  f"| {t_ref / t_ours:.2f} | {diff:.2e} |")  # fmt: skip


def _rss_mib() -> float:
    """Resident set size now (Linux /proc), MiB."""
    pages = int(Path("/proc/self/statm").read_text().split()[1])
    return pages * resource.getpagesize() / 2**20


def _release_freed() -> None:
    """Hand freed heap back to the OS, so the build's peak does not hide or pad the forward's."""
    import ctypes
    import gc

    gc.collect()
    try:
        ctypes.CDLL("libc.so.6").malloc_trim(0)
    except OSError:  # not glibc: the numbers are then upper bounds
        pass


def memory_child(family: str, name: str, which: str) -> None:
    """Build the case, keep only one side's network, and sample RSS while it scores a 1024x768 image."""
    import threading

    img, ref = load_pair(768, 1024)
    case = next(c for c in cases_of(family, img, ref) if c.name == name)
    fn = case.ours if which == "iqa" else case.reference
    assert fn is not None
    del case  # the other side's network goes with it
    _release_freed()
    base = peak = _rss_mib()
    done = threading.Event()

    def sample() -> None:
        nonlocal peak
        while not done.is_set():
            peak = max(peak, _rss_mib())
            time.sleep(0.001)

    sampler = threading.Thread(target=sample)
    sampler.start()
    with torch.inference_mode():
        fn()
    done.set()
    sampler.join()
    print(f"{base:.0f} {max(peak, _rss_mib()):.0f}")


def memory(args: argparse.Namespace) -> None:
    print("RSS (MiB) scoring one 1024x768 image, each side in its own process with only its own network:")
    print("resident once built, peak during the forward, and the forward's own share (peak - resident)")
    print("| metric | iqa resident | iqa peak | iqa forward | reference | ref resident | ref peak | ref forward |")
    print("|---|---:|---:|---:|---|---:|---:|---:|")
    img, ref = load_pair(64, 64)
    for fam in families(args.only):
        for case in cases_of(fam, img, ref):
            row = [case.name]
            for which in ("iqa", "ref"):
                if which == "ref" and case.reference is None:
                    row += [case.reference_name, "-", "-", "-"]
                    continue
                out = subprocess.run([sys.executable, __file__, "--child", fam, case.name, which],
                                     capture_output=True, text=True, check=True).stdout.split()  # fmt: skip
                base, peak = float(out[-2]), float(out[-1])
                row += ([case.reference_name] if which == "ref" else []) + [f"{base:.0f}", f"{peak:.0f}",
                                                                            f"{peak - base:.0f}"]  # fmt: skip
            print("| " + " | ".join(row) + " |")


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--size", type=lambda s: tuple(int(v) for v in s.split("x")), default=(384, 512), help="HxW")
    p.add_argument("--repeats", type=int, default=5)
    p.add_argument("--only", nargs="*", help="families (module names in benchmarks/learned)")
    p.add_argument("--memory", action="store_true")
    p.add_argument("--child", nargs=3, help=argparse.SUPPRESS)
    args = p.parse_args()
    if args.child:
        memory_child(*args.child)
    elif args.memory:
        memory(args)
    else:
        speed(args)


if __name__ == "__main__":
    main()
