"""Per-image metrics and FID on an accelerator: iqa on CUDA vs iqa on the CPU vs piq on CUDA.

    python benchmarks/bench_gpu.py [--pairs 8] [--fid-images 512] [--out results.md]

Scores one batch of 384x512 pairs (crops of scikit-image's photos and noisy copies) with every
registered full- and no-reference metric, built as the registry contract builds them (real small
weights from ../shared where they exist, seeded random trunks in the released layout where they do
not: speed does not depend on the values). For each: median seconds of a forward on CUDA (after a
warm-up, synchronised) and on the CPU, the largest difference between the two (float32), peak CUDA
memory, and piq's CUDA time where piq computes the same quantity. Then FID end to end: the FID
Inception (a random state dict in the published layout) extracting features on CUDA and on the CPU,
and the Frechet distance of the two sets. Needs a CUDA device; prints a markdown report.
"""

from __future__ import annotations

import argparse
import statistics
import sys
import time
from collections.abc import Callable
from pathlib import Path

import numpy as np
import torch
from PIL import Image

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import iqa  # noqa: E402
from tests.helpers.testers import make_metric  # noqa: E402


def photos(n: int) -> tuple[torch.Tensor, torch.Tensor]:
    import skimage

    data = Path(skimage.__file__).parent / "data"
    names = ("astronaut.png", "coffee.png", "chelsea.png", "rocket.jpg")
    crops = []
    for i in range(n):
        im = Image.open(data / names[i % 4]).convert("RGB").resize((512 + 16 * i, 384 + 12 * i))
        crops.append(np.asarray(im)[i : i + 384, i : i + 512])
    x = torch.from_numpy(np.stack(crops)).permute(0, 3, 1, 2).float() / 255
    g = torch.Generator().manual_seed(0)
    y = (x + 0.05 * torch.randn(x.shape, generator=g)).clamp(0, 1)
    return y, x


def timed(fn: Callable[[], torch.Tensor], repeats: int, cuda: bool) -> tuple[float, torch.Tensor]:
    with torch.no_grad():
        out = fn()
        times = []
        for _ in range(repeats):
            if cuda:
                torch.cuda.synchronize()
            t = time.perf_counter()
            fn()
            if cuda:
                torch.cuda.synchronize()
            times.append(time.perf_counter() - t)
    return statistics.median(times), out.detach().double().cpu()


def piq_peers() -> dict[str, Callable[[torch.Tensor, torch.Tensor], torch.Tensor]]:
    try:
        import piq
    except ImportError:
        return {}
    return {
        "psnr": lambda y, x: piq.psnr(y, x, data_range=1.0, reduction="none"),
        "ssim_rgb": lambda y, x: piq.ssim(y, x, data_range=1.0, reduction="none", downsample=False),
        "ms_ssim": lambda y, x: piq.multi_scale_ssim(y, x, data_range=1.0, reduction="none"),
        "gmsd": lambda y, x: piq.gmsd(y, x, data_range=1.0, reduction="none"),
        "ms_gmsd": lambda y, x: piq.multi_scale_gmsd(y, x, data_range=1.0, reduction="none"),
        "fsim": lambda y, x: piq.fsim(y, x, data_range=1.0, reduction="none", chromatic=False),
        "vsi": lambda y, x: piq.vsi(y, x, data_range=1.0, reduction="none"),
        "mdsi": lambda y, x: piq.mdsi(y, x, data_range=1.0, reduction="none"),
        "haarpsi": lambda y, x: piq.haarpsi(y, x, data_range=1.0, reduction="none"),
        "vifp": lambda y, x: piq.vif_p(y, x, data_range=1.0, reduction="none"),
        "srsim": lambda y, x: piq.srsim(y, x, data_range=1.0, reduction="none"),
        "dss": lambda y, x: piq.dss(y, x, data_range=1.0, reduction="none"),
    }


def per_image(pairs: int, lines: list[str]) -> None:
    y, x = photos(pairs)
    yc, xc = y.cuda(), x.cuda()
    peers = piq_peers()
    lines += [
        f"## Per-image metrics: {pairs} pairs of 384x512, float32",
        "",
        "| metric | CUDA s | CPU s | CPU / CUDA | max abs diff CUDA vs CPU | peak CUDA MiB | piq CUDA s | piq / iqa |",
        "|---|---|---|---|---|---|---|---|",
    ]
    for name in iqa.list_metrics():
        spec = iqa.get_spec(name)
        if spec.kind not in ("fr", "nr"):
            continue
        try:
            m_cpu = make_metric(name)
            m_gpu = make_metric(name).cuda()
        except Exception as e:  # noqa: BLE001 - a metric that cannot be built here is reported, not fatal
            lines.append(f"| {name} | not built: {type(e).__name__}: {str(e)[:80]} | | | | | | |")
            continue
        n = 2 if name == "mad" else pairs  # MAD is slow on the CPU; two pairs say enough
        call = (lambda m, a, b: m(a, b)) if spec.kind == "fr" else (lambda m, a, b: m(a))
        torch.cuda.reset_peak_memory_stats()
        t_gpu, v_gpu = timed(lambda: call(m_gpu, yc[:n], xc[:n]), 5, True)
        peak = torch.cuda.max_memory_allocated() / 2**20
        t_cpu, v_cpu = timed(lambda: call(m_cpu, y[:n], x[:n]), 2, False)
        diff = (v_gpu - v_cpu).abs().max().item()
        peer = ""
        if name in peers and n == pairs:
            try:
                t_p, _ = timed(lambda: peers[name](yc, xc), 5, True)
                peer = f"| {t_p:.4f} | {t_p / t_gpu:.2f}x "
            except Exception as e:  # noqa: BLE001 - piq may reject a size; say so
                peer = f"| piq failed: {type(e).__name__} | "
        lines.append(
            f"| {name}{' (2 pairs)' if n != pairs else ''} | {t_gpu:.4f} | {t_cpu:.3f} | {t_cpu / t_gpu:.1f}x | "
            f"{diff:.1e} | {peak:.0f} {peer or '| | '}|"
        )


def fid(images: int, lines: list[str]) -> None:
    from iqa.features.inception import FIDInceptionNet, FIDInceptionPytorchFID
    from iqa.stats import GaussianStats, frechet_distance
    from tests.helpers.random_weights import randomize

    net = FIDInceptionNet()
    net.load_state_dict(randomize(net, 0))
    g = torch.Generator().manual_seed(1)
    a = torch.rand(images, 3, 256, 256, generator=g)
    b = (a * 0.8 + 0.1).clamp(0, 1)
    rows = []
    for dev in ("cuda", "cpu"):
        ext = FIDInceptionPytorchFID(net).eval().to(dev)
        n = images if dev == "cuda" else min(images, 128)
        stats = {}
        if dev == "cuda":
            torch.cuda.synchronize()
        t = time.perf_counter()
        with torch.inference_mode():
            for key, src in (("a", a[:n]), ("b", b[:n])):
                s = GaussianStats(2048)
                for i in range(0, n, 64):
                    s.update(ext(src[i : i + 64].to(dev)))
                stats[key] = s
            d = float(frechet_distance(stats["a"].mean, stats["a"].cov, stats["b"].mean, stats["b"].cov))
        if dev == "cuda":
            torch.cuda.synchronize()
        dt = time.perf_counter() - t
        rows.append((dev, 2 * n, dt, 2 * n / dt, d))
    lines += [
        "",
        "## FID end to end (random FID-Inception weights, 256x256 inputs, batch 64): features of two sets "
        "and the Frechet distance",
        "",
        "| device | images | seconds | images/s | FD |",
        "|---|---|---|---|---|",
    ]
    lines += [f"| {d} | {n} | {t:.2f} | {r:.0f} | {v:.6g} |" for d, n, t, r, v in rows]


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--pairs", type=int, default=8)
    ap.add_argument("--fid-images", type=int, default=512)
    ap.add_argument("--out", type=Path)
    args = ap.parse_args()
    if not torch.cuda.is_available():
        sys.exit("bench_gpu.py needs a CUDA device")
    torch.manual_seed(0)
    lines = [
        f"# iqa on {torch.cuda.get_device_name()} (torch {torch.__version__}, {torch.get_num_threads()} CPU threads)",
        "",
    ]
    per_image(args.pairs, lines)
    fid(args.fid_images, lines)
    text = "\n".join(lines) + "\n"
    print(text)
    if args.out:
        args.out.write_text(text)


if __name__ == "__main__":
    main()
