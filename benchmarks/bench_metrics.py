"""Per-metric speed and agreement: iqa vs piq, torchmetrics and pyiqa on the same tensors (issue 3).

    python benchmarks/bench_metrics.py [--pairs 16] [--repeats 5]

A batch of 512x384 RGB pairs (crops of ../shared/data/images/Urban50 and JPEG copies, float32 in
[0, 1]) is scored in one call per contender, in-process, after a warm-up; the median of
``--repeats`` timed calls is reported with the largest relative difference of the values from
iqa's. Each peer is called with the arguments that make it compute the same quantity (noted per
row); where conventions differ (see docs/conventions.md) the difference column shows it.
LPIPS runs iqa's and the lpips package's networks on one random AlexNet/VGG trunk state (ImageNet
trunks are not available offline; speed does not depend on the values) with the real v0.1 heads;
torchmetrics and pyiqa load the same package code through downloads, so they are not run here.
"""

from __future__ import annotations

import argparse
import io
import statistics
import time
from collections.abc import Callable
from pathlib import Path

import numpy as np
import torch
from PIL import Image

import iqa

SHARED = Path(__file__).resolve().parents[2] / "shared"


def batch(n: int) -> tuple[torch.Tensor, torch.Tensor]:
    files = sorted((SHARED / "data/images/Urban50").glob("*.png"))[:n]
    refs, dists = [], []
    for f in files:
        im = Image.open(f).convert("RGB").crop((0, 0, 512, 384))
        buf = io.BytesIO()
        im.save(buf, "JPEG", quality=30)
        refs.append(np.asarray(im))
        dists.append(np.asarray(Image.open(io.BytesIO(buf.getvalue())).convert("RGB")))
    t = lambda a: torch.from_numpy(np.stack(a)).permute(0, 3, 1, 2).float() / 255  # noqa: E731
    return t(dists), t(refs)


def timed(fn: Callable[[], torch.Tensor], repeats: int) -> tuple[float, torch.Tensor]:
    with torch.no_grad():
        out = fn()
        times = []
        for _ in range(repeats):
            start = time.perf_counter()
            fn()
            times.append(time.perf_counter() - start)
    return statistics.median(times), out.detach().double().flatten()


def pyiqa_fr(name: str, y: torch.Tensor, x: torch.Tensor, **options: object) -> Callable[[], torch.Tensor]:
    import pyiqa

    metric = pyiqa.create_metric(name, device="cpu", as_loss=False, **options)
    return lambda: metric(y, x)


def lpips_pair(net: str) -> tuple[Callable, Callable]:
    """iqa's and the lpips package's LPIPS sharing one random trunk (as tests/metrics/fr/test_lpips.py)."""
    import sys

    import lpips as lpips_pkg

    sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
    from iqa.features.imagenet_trunks import StagedTrunk
    from tests.helpers.random_weights import randomize

    ref = lpips_pkg.LPIPS(net=net, version="0.1", pnet_rand=True, verbose=False).eval()
    state = randomize(ref.net, 0)
    ref.net.load_state_dict(state)
    tv_state = {f"features.{k.split('.', 1)[1]}": v for k, v in state.items()}
    ours = iqa.create(
        "lpips", net=net, heads=SHARED / "weights" / "lpips" / f"{net}.pth", trunk=StagedTrunk(net, tv_state)
    )
    return ours, ref


def contenders(y: torch.Tensor, x: torch.Tensor) -> dict[str, list[tuple[str, Callable[[], torch.Tensor]]]]:
    import piq
    import pyiqa.archs.niqe_arch as pyiqa_niqe
    from torchmetrics.functional.image import (
        multiscale_structural_similarity_index_measure as tm_msssim,
    )
    from torchmetrics.functional.image import (
        peak_signal_noise_ratio as tm_psnr,
    )
    from torchmetrics.functional.image import (
        structural_similarity_index_measure as tm_ssim,
    )

    m = {
        n: iqa.create(n)
        for n in (
            "psnr",
            "ssim",
            "ms_ssim",
            "gmsd",
            "ms_gmsd",
            "mdsi",
            "vifp",
            "haarpsi",
            "fsim",
            "fsimc",
            "vsi",
            "vif",
            "nlpd",
            "iw_ssim",
        )
    }
    z = np.load(SHARED / "weights/niqe_pris_params.npz")
    mu, cov = torch.from_numpy(z["mu_pris_param"]).double(), torch.from_numpy(z["cov_pris_param"]).double()
    niqe = iqa.create("niqe", weights=SHARED / "weights/niqe_pris_params.npz")
    cw = iqa.create("cw_ssim", level=4, orientations=8)
    mad = iqa.create("mad")
    lp = {net: lpips_pair(net) for net in ("alex", "vgg")}
    from tests.helpers.brisque_range import allrange_path

    brisque = iqa.create("brisque", model=SHARED / "weights/brisque/allmodel", ranges=allrange_path())
    import pyiqa.archs.brisque_arch as pyiqa_brisque

    grey = torch.floor(
        (torch.round(y * 255) * torch.tensor([0.2989, 0.5870, 0.1140]).view(1, 3, 1, 1)).sum(1, keepdim=True) + 0.5
    )
    return {
        "psnr": [("iqa", lambda: m["psnr"](y, x)), ("piq", lambda: piq.psnr(y, x, reduction="none")),
                 ("torchmetrics (per image)", lambda: tm_psnr(y, x, data_range=1.0, reduction="none", dim=(1, 2, 3)))],
        "ssim (iqa: ssim_rgb, per channel, no downsampling)": [
            ("iqa", lambda: iqa.create("ssim_rgb", downsample=False)(y, x)),
            ("piq", lambda: piq.ssim(y, x, data_range=1.0, reduction="none", downsample=False)),
            ("torchmetrics", lambda: tm_ssim(y, x, data_range=1.0, reduction="none"))],
        "ssim (Y, MATLAB ssim.m)": [("iqa", lambda: m["ssim"](y, x))],
        "ms_ssim": [("iqa", lambda: m["ms_ssim"](y, x)), ("piq", lambda: piq.multi_scale_ssim(y, x, data_range=1.0, reduction="none")),
                    ("torchmetrics", lambda: tm_msssim(y, x, data_range=1.0, reduction="none"))],
        "gmsd": [("iqa", lambda: m["gmsd"](y, x)), ("piq", lambda: piq.gmsd(y, x, data_range=1.0, reduction="none"))],
        "ms_gmsd": [("iqa", lambda: m["ms_gmsd"](y, x)), ("piq", lambda: piq.multi_scale_gmsd(y, x, data_range=1.0, reduction="none"))],
        "mdsi": [("iqa", lambda: m["mdsi"](y, x)), ("piq", lambda: piq.mdsi(y, x, data_range=1.0, reduction="none"))],
        "fsim": [("iqa", lambda: m["fsim"](y, x)), ("piq", lambda: piq.fsim(y, x, data_range=1.0, reduction="none", chromatic=False)),
                 ("pyiqa (fsim, chromatic=False)", pyiqa_fr("fsim", y, x, chromatic=False))],
        "fsimc": [("iqa", lambda: m["fsimc"](y, x)), ("piq", lambda: piq.fsim(y, x, data_range=1.0, reduction="none", chromatic=True)),
                  ("pyiqa (fsim)", pyiqa_fr("fsim", y, x))],
        "vsi": [("iqa", lambda: m["vsi"](y, x)), ("piq (no antialiasing in its resize)", lambda: piq.vsi(y, x, data_range=1.0, reduction="none")),
                ("pyiqa", pyiqa_fr("vsi", y, x))],
        "vif (wavelet, vifvec.m)": [("iqa", lambda: m["vif"](y, x)), ("pyiqa (float32, its YCbCr Y)", pyiqa_fr("vif", y, x))],
        "nlpd": [("iqa", lambda: m["nlpd"](y, x)), ("pyiqa (drops one filter tap, YCbCr Y)", pyiqa_fr("nlpd", y, x))],
        "iw_ssim": [("iqa", lambda: m["iw_ssim"](y, x)), ("piq (YIQ luma)", lambda: piq.information_weighted_ssim(y, x, data_range=1.0, reduction="none"))],
        "cw_ssim (4 levels, 8 orientations)": [("iqa", lambda: cw(y, x)), ("pyiqa", pyiqa_fr("cw_ssim", y, x))],
        "mad (first 2 pairs: pyiqa's port takes minutes per image)": [
            ("iqa", lambda: mad(y[:2], x[:2])), ("pyiqa (a different MAD port)", pyiqa_fr("mad", y[:2], x[:2]))],
        "lpips (alex)": [("iqa", lambda: lp["alex"][0](y, x)), ("lpips package", lambda: lp["alex"][1](y * 2 - 1, x * 2 - 1).flatten())],
        "lpips (vgg)": [("iqa", lambda: lp["vgg"][0](y, x)), ("lpips package", lambda: lp["vgg"][1](y * 2 - 1, x * 2 - 1).flatten())],
        "brisque (LIVE release)": [("iqa", lambda: brisque(y)),
                                   ("pyiqa 'original' (same grey input and SVR)", lambda: pyiqa_brisque.brisque(
                                       grey.double() / 255, test_y_channel=False, sv_coef=brisque.svr.coef, sv=brisque.svr.sv,
                                       gamma=brisque.svr.gamma, rho=brisque.svr.rho, scale=1, version="original"))],
        "haarpsi": [("iqa", lambda: m["haarpsi"](y, x)), ("piq (its YIQ matrix)", lambda: piq.haarpsi(y, x, data_range=1.0, reduction="none"))],
        "vifp": [("iqa", lambda: m["vifp"](y, x)), ("piq", lambda: piq.vif_p(y, x, data_range=1.0, reduction="none"))],
        "niqe": [("iqa", lambda: niqe(y)),
                 ("pyiqa (same grey input, same pristine model)", lambda: pyiqa_niqe.niqe(grey.double(), mu.view(1, -1).repeat(len(y), 1), cov.unsqueeze(0).repeat(len(y), 1, 1)))],
    }  # fmt: skip


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--pairs", type=int, default=16)
    ap.add_argument("--repeats", type=int, default=5)
    ap.add_argument("--only", nargs="*", default=None, help="metric rows whose name starts with one of these")
    args = ap.parse_args()
    y, x = batch(args.pairs)
    print(f"{len(y)} pairs of 512x384, CPU, torch threads {torch.get_num_threads()}, median of {args.repeats}\n")
    print("| metric | contender | median s | max rel. diff vs iqa | iqa speed-up |\n|---|---|---|---|---|")
    for metric, rows in contenders(y, x).items():
        if args.only and not any(metric.startswith(o) for o in args.only):
            continue
        base_t, base_v = None, None
        for name, fn in rows:
            t, v = timed(fn, args.repeats)
            if base_t is None:
                base_t, base_v = t, v
                print(f"| {metric} | {name} | {t:.3f} | | |")
                continue
            diff = ((v - base_v).abs() / base_v.abs().clamp_min(1e-12)).max().item()
            print(f"| | {name} | {t:.3f} | {diff:.1e} | {t / base_t:.2f}x |")


if __name__ == "__main__":
    main()
