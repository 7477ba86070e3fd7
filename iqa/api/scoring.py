"""``iqa.score``: one call for tensors, PIL images, files, lists of them, and folders."""

from __future__ import annotations

import os
import warnings
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import torch
from PIL import Image

from iqa.api.core import create
from iqa.api.jobs import ScoreJob, score_job
from iqa.api.settings import RunSettings
from iqa.checks import MixedChannels, mixed_channels
from iqa.errors import InputError, ShapeError
from iqa.io.folders import GRAY_MODES, read_header
from iqa.io.images import array_to_tensor, decode_image, pil_to_array
from iqa.io.sources import Source
from iqa.metrics.base import FRMetric, Metric, NRMetric, TextImageMetric
from iqa.transforms.color import apply_mixed

ImageLike = torch.Tensor | Image.Image | str | os.PathLike


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


def _is_gray(x: Any) -> bool:
    """Whether an input is grey as given: a 1-channel tensor, a grey PIL image, a file stored grey."""
    if isinstance(x, torch.Tensor):
        return x.ndim >= 3 and x.shape[-3] == 1
    if isinstance(x, Image.Image):
        return x.mode in GRAY_MODES
    return isinstance(x, (str, os.PathLike)) and read_header(x).gray


def _label(x: Any, kind: str, i: int, n: int) -> str:
    if isinstance(x, (str, os.PathLike)):
        return str(x)
    return f"{kind}[{i}]" if n > 1 else kind


def _match_pairs(img: list, ref: list, imgs: list, refs: list, mixed: MixedChannels) -> None:
    """Apply the mixed grey/colour rule (:func:`iqa.checks.mixed_channels`) to each pair, in place."""
    for i, (x, y) in enumerate(zip(img, ref)):
        gx, gy = _is_gray(x), _is_gray(y)
        note = mixed_channels(gx, gy, _label(x, "img", i, len(img)), _label(y, "ref", i, len(ref)), mixed)
        if note is not None:
            warnings.warn(note, UserWarning, stacklevel=3)
            imgs[i], refs[i] = apply_mixed(imgs[i], refs[i], gx, mixed)


def _as_list(x: Any) -> list:
    return list(x) if isinstance(x, (list, tuple)) else [x]


def _is_folder(x: Any) -> bool:
    return isinstance(x, (str, os.PathLike)) and Path(x).is_dir()


def score(
    metric: str | Metric,
    img: ImageLike | list[ImageLike],
    ref: ImageLike | list[ImageLike] | None = None,
    *,
    text: str | Sequence[str] | None = None,
    refs: Sequence[Sequence[str]] | None = None,
    prompts: str | os.PathLike | None = None,
    batch_size: int | None = None,
    workers: int | None = None,
    recursive: bool | None = None,
    ref_pattern: str | None = None,
    max_pixels: int | None = None,
    device: str | torch.device | None = None,
    settings: RunSettings | None = None,
    mixed: MixedChannels = "refuse",
    **options: Any,
) -> Any:
    """Score images with one metric, whatever form they come in.

    Args:
        metric: a registered name (``options`` are passed to :func:`iqa.create`) or a metric.
        img: tensor (N, C, H, W) / (C, H, W) (float in [0, data_range], or uint8), PIL image,
            file path, a list of those (sizes may differ), a folder, or a
            :class:`~iqa.io.sources.Source` (tar shards or a table: ``iqa.io.sources.open_source``).
        ref: the reference in the same form for full-reference metrics.
        text: the prompt of each image for text-image metrics (kind "text", e.g. clipscore): one
            string per image, in the order of ``img`` (a single image takes a single string).
        refs: reference captions per image, for text-image metrics that take them (RefCLIPScore).
        prompts: for a folder and a text-image metric, the prompts CSV (``file,prompt``; see
            :mod:`iqa.io.prompts`) instead of ``text``.
        batch_size: images per forward pass when scoring a folder.
        workers: decoding threads when scoring a folder.
        recursive: include sub-folders of a folder.
        ref_pattern: regex mapping a file's stem to its reference's stem (folders).
        max_pixels: decompression-bomb limit for files (see :mod:`iqa.io.images`).
        device: where to compute ("cpu", "cuda", "cuda:1", a ``torch.device``): the metric and the
            inputs are moved there and tensor results stay there. None: tensors are scored where
            they are, folders on ``settings.device`` (cpu by default).
        mixed: a grey image paired with a colour one (or the reverse): "refuse" raises an
            InputError naming both (a folder records it in the pair's ``error``), "gray" compares
            both as grey, "rgb" scores the grey one as RGB; both with a warning. See
            :func:`iqa.checks.mixed_channels`.
        settings: all of the above as one :class:`~iqa.api.settings.RunSettings`; the keyword
            arguments given explicitly override its fields.
        **options: metric options, when ``metric`` is a name.

    Returns:
        Tensor (N,) of float scores for tensors, images, files and lists; for a folder, a
        ``pandas.DataFrame`` with columns ``file, ref, <metric>, error`` in natural file order
        (text-image metrics: ``file, ref, prompt, <metric>, truncated, error``).
    """
    given = {"batch_size": batch_size, "workers": workers, "recursive": recursive, "max_pixels": max_pixels}
    run = (settings or RunSettings()).replace(**{k: v for k, v in given.items() if v is not None})
    if device is not None:
        run = run.replace(device=str(device))
    target = run.torch_device() if (device is not None or settings is not None) else None
    m = create(metric, **options) if isinstance(metric, str) else metric
    if not isinstance(m, (FRMetric, NRMetric, TextImageMetric)):
        raise InputError("score() takes per-image metrics; distribution metrics use update()/compute()")
    if isinstance(m, TextImageMetric):
        return _score_text(m, img, ref, text, refs, prompts, run, target)
    if text is not None or refs is not None or prompts is not None:
        raise InputError(
            f"{m.spec.name} is not a text-image metric (kind {m.spec.kind!r}): do not pass text/refs/prompts"
        )
    fr = isinstance(m, FRMetric)
    if fr and ref is None and not (isinstance(img, Source) and img.paired):
        raise InputError(f"{m.spec.name} is full-reference: pass ref=...")
    if not fr and ref is not None:
        raise InputError(f"{m.spec.name} is no-reference: do not pass ref")
    if _is_folder(img) or isinstance(img, Source):
        return _score_folder(m, img, ref, run, ref_pattern, mixed)
    imgs = [_one_to_tensor(x, "img", run.max_pixels) for x in _as_list(img)]
    ref_ts = [_one_to_tensor(x, "ref", run.max_pixels) for x in _as_list(ref)] if fr else []
    if fr and len(ref_ts) != len(imgs):
        raise ShapeError(f"got {len(imgs)} images but {len(ref_ts)} references")
    if fr:
        _match_pairs(_as_list(img), _as_list(ref), imgs, ref_ts, mixed)
    if target is not None:
        m.to(target)
        imgs, ref_ts = [t.to(target) for t in imgs], [t.to(target) for t in ref_ts]
    if len(imgs) == 1 and (not fr or imgs[0].shape[0] == ref_ts[0].shape[0]):
        return m(imgs[0], ref_ts[0]) if fr else m(imgs[0])
    # A list of separately sized images: score one by one, concatenate per-image results.
    return torch.cat([m(a, b) for a, b in zip(imgs, ref_ts)] if fr else [m(a) for a in imgs])


def _score_text(
    m: TextImageMetric,
    img: Any,
    ref: Any,
    text: str | Sequence[str] | None,
    refs: Sequence[Sequence[str]] | None,
    prompts: str | os.PathLike | None,
    run: RunSettings,
    target: torch.device | None,
) -> Any:
    """A text-image metric: each image against its own prompt (a folder: prompts from a CSV)."""
    name = m.spec.name
    if ref is not None:
        raise InputError(f"{name} is a text-image metric: give the prompts with text=..., not ref")
    if _is_folder(img):
        if text is not None or refs is not None:
            raise InputError(f"{name}: for a folder, give the prompts as a CSV file: prompts='prompts.csv'")
        if prompts is None:
            raise InputError(f"{name} scores images against prompts: pass prompts='prompts.csv' (columns file,prompt)")
        return _score_folder(m, img, None, run, None, "refuse", prompts=prompts)
    if prompts is not None:
        raise InputError(f"{name}: prompts= (a CSV) is for folders; for images pass text=[one prompt per image]")
    if text is None:
        raise InputError(f"{name} scores images against prompts: pass text=[one prompt per image]")
    items = _as_list(img)
    texts = [text] if isinstance(text, str) else list(text)
    imgs = [_one_to_tensor(x, "img", run.max_pixels) for x in items]
    n = sum(t.shape[0] for t in imgs)
    if len(texts) != n:
        raise InputError(f"{name}: got {n} images but {len(texts)} prompts; give exactly one prompt per image")
    ref_list = None if refs is None else list(refs)
    if ref_list is not None and len(ref_list) != n:
        raise InputError(f"{name}: got {n} images but {len(ref_list)} lists of reference captions")
    if target is not None:
        m.to(target)
        imgs = [t.to(target) for t in imgs]
    out, start = [], 0
    for t in imgs:  # separately sized images one by one; prompts follow the images in order
        stop = start + t.shape[0]
        out.append(m(t, texts[start:stop], None if ref_list is None else ref_list[start:stop]))
        start = stop
    return out[0] if len(out) == 1 else torch.cat(out)


def _score_folder(
    m: Metric,
    img: Any,
    ref: Any,
    settings: RunSettings,
    ref_pattern: str | None,
    mixed: MixedChannels,
    prompts: str | os.PathLike | None = None,
) -> Any:
    import pandas as pd

    if isinstance(img, Source):
        if ref is not None:
            raise InputError("img is a source (tar shards or a table): its references are in it (ref_key=...), "
                             "do not pass ref")  # fmt: skip
    elif ref is not None and not _is_folder(ref):
        raise InputError(f"img is a folder, so ref must be a folder too, got {ref!r}")
    job = ScoreJob(
        root=img if isinstance(img, Source) else Path(img),
        ref_root=Path(ref) if ref is not None else None,
        metrics={m.spec.name: m},
        settings=settings,
        ref_pattern=ref_pattern,
        mixed=mixed,
        prompts=None if prompts is None else Path(prompts),
    )
    return pd.DataFrame(score_job(job), columns=job.columns)
