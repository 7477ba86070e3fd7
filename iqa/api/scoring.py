"""``iqa.score``: one call for tensors, PIL images, files, lists of them, and folders."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any, Union

import torch
from PIL import Image

from iqa.api.core import create
from iqa.api.jobs import ScoreJob, plan_items, run_job
from iqa.errors import InputError, ShapeError
from iqa.io.images import array_to_tensor, decode_image, pil_to_array
from iqa.metrics.base import FRMetric, Metric, NRMetric

ImageLike = Union[torch.Tensor, Image.Image, str, os.PathLike]


def _one_to_tensor(x: Any, name: str, max_pixels: int | None) -> torch.Tensor:
    if isinstance(x, torch.Tensor):
        t = x
        if t.dtype == torch.uint8:  # uint8 is accepted here, at the boundary, and only here
            t = t.to(torch.float32) / 255.0
        if t.ndim == 3:
            t = t.unsqueeze(0)
        return t
    if isinstance(x, Image.Image):
        return array_to_tensor(pil_to_array(x)).unsqueeze(0)
    if isinstance(x, (str, os.PathLike)):
        return array_to_tensor(decode_image(x, max_pixels=max_pixels)).unsqueeze(0)
    raise InputError(f"{name}: expected a tensor, PIL image, file path or folder, got {type(x).__name__}")


def _as_list(x: Any) -> list:
    return list(x) if isinstance(x, (list, tuple)) else [x]


def _is_folder(x: Any) -> bool:
    return isinstance(x, (str, os.PathLike)) and Path(x).is_dir()


def score(
    metric: str | Metric,
    img: ImageLike | list[ImageLike],
    ref: ImageLike | list[ImageLike] | None = None,
    *,
    batch_size: int = 16,
    workers: int = 2,
    recursive: bool = False,
    ref_pattern: str | None = None,
    max_pixels: int | None = None,
    **options: Any,
) -> Any:
    """Score images with one metric, whatever form they come in.

    Args:
        metric: a registered name (``options`` are passed to :func:`iqa.create`) or a metric.
        img: tensor (N, C, H, W) / (C, H, W) (float in [0, data_range], or uint8), PIL image,
            file path, a list of those (sizes may differ), or a folder.
        ref: the reference in the same form for full-reference metrics.
        batch_size, workers, recursive, ref_pattern: folder scoring settings.
        max_pixels: decompression-bomb limit for files (see :mod:`iqa.io.images`).

    Returns:
        Tensor (N,) of float scores for tensors, images, files and lists; for a folder, a
        ``pandas.DataFrame`` with columns ``file, ref, <metric>, error`` in natural file order.
    """
    m = create(metric, **options) if isinstance(metric, str) else metric
    if not isinstance(m, (FRMetric, NRMetric)):
        raise InputError("score() takes per-image metrics; distribution metrics use update()/compute()")
    fr = isinstance(m, FRMetric)
    if fr and ref is None:
        raise InputError(f"{m.spec.name} is full-reference: pass ref=...")
    if not fr and ref is not None:
        raise InputError(f"{m.spec.name} is no-reference: do not pass ref")
    if _is_folder(img):
        return _score_folder(m, img, ref, batch_size, workers, recursive, ref_pattern, max_pixels)
    imgs = [_one_to_tensor(x, "img", max_pixels) for x in _as_list(img)]
    refs = [_one_to_tensor(x, "ref", max_pixels) for x in _as_list(ref)] if fr else None
    if refs is not None and len(refs) != len(imgs):
        raise ShapeError(f"got {len(imgs)} images but {len(refs)} references")
    if len(imgs) == 1 and (refs is None or imgs[0].shape[0] == refs[0].shape[0]):
        return m(imgs[0], refs[0]) if refs is not None else m(imgs[0])
    # A list of separately sized images: score one by one, concatenate per-image results.
    outs = [m(a, b) if refs is not None else m(a) for a, b in zip(imgs, refs or [None] * len(imgs))]
    return torch.cat(outs)


def _score_folder(m, img, ref, batch_size, workers, recursive, ref_pattern, max_pixels):  # noqa: ANN001
    import pandas as pd

    if ref is not None and not _is_folder(ref):
        raise InputError(f"img is a folder, so ref must be a folder too, got {ref!r}")
    job = ScoreJob(
        root=Path(img),
        ref_root=Path(ref) if ref is not None else None,
        metrics={m.spec.name: m},
        batch_size=batch_size,
        workers=workers,
        recursive=recursive,
        ref_pattern=ref_pattern,
        max_pixels=max_pixels,
    )
    rows: list[dict] = []
    for _ in run_job(job, plan_items(job), set(), rows.extend):
        pass
    return pd.DataFrame(rows, columns=job.columns)
