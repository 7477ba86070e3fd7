"""``attack_fid_resample``: the resampling attack on two folders (candidate pool, reference).

Features are extracted once per folder and extractor (cached on disk like ``iqa compare``); the
attacked extractor's classifier supplies the class modes and the top-1 histograms before and
after; independent extractors (``check``) are evaluated on the same draws.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch

from iqa.api.features import folder_features
from iqa.api.settings import RunSettings
from iqa.attacks.fid_resample import ResampleResult, Space, fd_of, resample_fid, select_top1_histogram
from iqa.errors import InputError
from iqa.features import FeatureExtractor, create_extractor


@dataclass
class ResampleRun:
    result: ResampleResult
    names: list[str]
    extractor: str
    pool_top1: np.ndarray | None
    ref_top1: np.ndarray | None
    class_names: list[str] | None
    top1_selection: dict[str, float] | None
    failed: list[str]


def _top1(ext: FeatureExtractor, feats: torch.Tensor) -> np.ndarray | None:
    try:
        with torch.no_grad():
            return ext.logits(feats.to(torch.float32)).argmax(1).cpu().numpy()
    except InputError:
        return None


def attack_fid_resample(
    pool: str | os.PathLike,
    ref: str | os.PathLike,
    *,
    extractor: str = "efficientnet_lite0",
    check: tuple[str, ...] = ("pixel_stats",),
    mode: str = "pre_logits",
    num_dims: int = 1,
    iterations: int = 300,
    lr: float = 0.05,
    optimizer: str = "adam",
    ridge: float | None = None,
    eval_every: int = 50,
    eval_size: int | None = None,
    repeats: int = 3,
    seed: int = 0,
    checkpoint: str | os.PathLike | None = None,
    settings: RunSettings | None = None,
) -> ResampleRun:
    """Run :func:`iqa.attacks.fid_resample.resample_fid` on folder features (see its docstring).

    ``settings`` carries the device, batch size, decoding workers, feature cache and progress
    callback (default: ``RunSettings(batch_size=32)``).
    """
    settings = settings or RunSettings(batch_size=32)
    device, cache_dir, progress = settings.device, settings.cache_dir, settings.progress
    opts = {"batch_size": settings.batch_size, "workers": settings.workers, "device": device}
    ext = create_extractor(extractor).to(device).eval()
    fp = folder_features(Path(pool), ext, cache_dir=cache_dir, progress=progress, label=f"pool {ext.name}", **opts)
    fr = folder_features(Path(ref), ext, cache_dir=cache_dir, progress=progress, label=f"reference {ext.name}", **opts)
    spaces = {}
    for name in check:
        other = create_extractor(name).to(device).eval()
        cp = folder_features(Path(pool), other, cache_dir=cache_dir, progress=progress, label=f"pool {name}", **opts)
        cr = folder_features(
            Path(ref), other, cache_dir=cache_dir, progress=progress, label=f"reference {name}", **opts
        )
        if cp.names != fp.names or cr.names != fr.names:
            raise InputError(f"{name} read a different set of images than {ext.name} (an image failed in one only)")
        spaces[f"fd_{name}"] = Space(cp.features, cr.features)

    def logits_fn(f: torch.Tensor) -> torch.Tensor:
        with torch.no_grad():
            return ext.logits(f.to(torch.float32)).to(f.device, torch.float64)

    def step(it: int, total: int, loss: float) -> None:
        if progress:
            progress("resampling", it, total)

    result = resample_fid(
        fp.features,
        fr.features,
        mode=mode,
        logits_fn=logits_fn,
        num_dims=num_dims,
        iterations=iterations,
        lr=lr,
        optimizer=optimizer,
        ridge=ridge,
        eval_spaces=spaces,
        eval_every=eval_every,
        eval_size=eval_size,
        repeats=repeats,
        seed=seed,
        checkpoint=checkpoint,
        progress=step,
    )
    result.settings.update({"extractor": ext.name, "check": list(check), "pool_dir": str(pool), "ref_dir": str(ref)})
    pool_top1, ref_top1 = _top1(ext, fp.features), _top1(ext, fr.features)
    selection = None
    if pool_top1 is not None and ref_top1 is not None:
        # the non-gradient variant: the selected multiset itself, evaluated in every space
        idx = select_top1_histogram(pool_top1, ref_top1, seed)
        all_spaces = {"fd": Space(fp.features, fr.features), **spaces}
        selection = {k: fd_of(sp, idx) for k, sp in all_spaces.items()}
        selection["selected"] = float(len(idx))
    return ResampleRun(
        result, fp.names, ext.name, pool_top1, ref_top1, ext.class_names(), selection, fp.failed + fr.failed
    )
