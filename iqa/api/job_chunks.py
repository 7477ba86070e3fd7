"""One chunk of a scoring job (:mod:`iqa.api.jobs`): cutting items into chunks, reading headers,
decoding one chunk ahead in threads, grouping same-size images and scoring each group as a batch,
with every failure kept in its row.
"""

from __future__ import annotations

import math
import warnings
from collections import OrderedDict
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

import torch

from iqa.api.settings import RunSettings
from iqa.checks import mixed_channels
from iqa.errors import InputError, IQAError
from iqa.io.folders import Header, Pair
from iqa.io.images import array_to_tensor, decode_image
from iqa.io.sources import ImageRef
from iqa.metrics.base import FRMetric, Metric, TextImageMetric
from iqa.transforms.color import apply_mixed

if TYPE_CHECKING:
    from iqa.api.jobs import ScoreJob

Row = dict[str, Any]
Decoded = torch.Tensor | str  # a (3, H, W) float image, or why it could not be read


def plan_chunks(
    items: list[Pair], pixels: list[int], batch_size: int, max_batch_pixels: int | None
) -> list[list[Pair]]:
    """Consecutive items cut into chunks of at most ``batch_size`` items and ``max_batch_pixels`` pixels.

    ``pixels[i]`` is item i's pixel count. A chunk closes when the next item would exceed either
    limit; an item above the pixel budget alone is a chunk of its own (it still runs).
    ``max_batch_pixels=None`` bounds by count only.
    """
    chunks: list[list[Pair]] = []
    current: list[Pair] = []
    total = 0
    for it, p in zip(items, pixels, strict=True):
        over = max_batch_pixels is not None and total + p > max_batch_pixels
        if current and (len(current) == batch_size or over):
            chunks.append(current)
            current, total = [], 0
        current.append(it)
        total += p
    if current:
        chunks.append(current)
    return chunks


@dataclass
class Headers:
    """File headers of a job's items (pixel counts, grey or colour), read once before decoding."""

    img: dict[str, Header] = field(default_factory=dict)
    ref: dict[str, Header] = field(default_factory=dict)

    @classmethod
    def read(cls, job: ScoreJob, items: list[Pair]) -> Headers:
        heads = cls()
        src = job.source
        need_img = job.settings.max_batch_pixels is not None or src.paired
        for it in items:
            if it.error or not need_img:
                continue
            heads.img[it.file] = src.header(it.file)
            if it.ref is not None and src.paired and it.ref not in heads.ref:
                heads.ref[it.ref] = src.header(it.ref, ref=True)
        return heads

    def pixels(self, it: Pair) -> int:
        h = self.img.get(it.file)
        return h.pixels if h is not None else 0


def _decode(job: ScoreJob, key: str, ref: bool = False) -> Decoded:
    """Read (a tar member or table cell is read here too) and decode to float32 (3, H, W) in the
    worker thread, so reading, decoding and scoring run in parallel.
    """
    try:
        src: ImageRef = job.source.reference(key) if ref else job.source.image(key)
        return array_to_tensor(decode_image(src, max_pixels=job.settings.max_pixels, alpha=job.alpha))
    except (IQAError, OSError, ValueError, MemoryError) as e:
        return str(e)


class DecodedChunk:
    """Futures of one chunk's decoded images; references are shared through a small cache."""

    def __init__(self, items: list[Pair], job: ScoreJob, pool: ThreadPoolExecutor, heads: Headers):
        self.items = items
        self.heads = heads
        self.img: list[Future[Decoded]] = [pool.submit(_decode, job, it.file) for it in items]
        self.ref: list[Future[Decoded] | None] = []
        cache = job._ref_cache
        for it in items:
            if it.ref is None or not job.source.paired:
                self.ref.append(None)
                continue
            hit = cache.get(it.ref)
            if hit is None:
                head = heads.ref.get(it.ref)
                hit = (pool.submit(_decode, job, it.ref, True), head.pixels if head else 0)
                cache[it.ref] = hit
                _trim(cache, job.settings)
            else:
                cache.move_to_end(it.ref)
            self.ref.append(hit[0])


def _trim(cache: OrderedDict[str, tuple[Future[Decoded], int]], settings: RunSettings) -> None:
    """Forget the oldest references beyond 4 batches' count or one pixel budget (keeping the newest).

    A forgotten reference that a chunk still uses stays alive with that chunk; a later pair decodes
    it again. Without the pixel bound, 24-MP references alone filled gigabytes.
    """
    budget = settings.max_batch_pixels
    while len(cache) > 1 and (
        len(cache) > 4 * settings.batch_size or (budget is not None and sum(p for _, p in cache.values()) > budget)
    ):
        cache.popitem(last=False)


def _to_batch(tensors: list[torch.Tensor], device: torch.device) -> torch.Tensor:
    # A lone image is viewed, not copied: a 24-MP float image is 288 MB.
    batch = tensors[0].unsqueeze(0) if len(tensors) == 1 else torch.stack(tensors)
    return batch.to(device)


def _run_metric(m: Metric, img: torch.Tensor, ref: torch.Tensor | None, texts: list[str] | None = None) -> torch.Tensor:
    with torch.inference_mode():
        if isinstance(m, TextImageMetric):
            out = m.score_pairs(img, texts or [], None)  # prompt lengths were checked and flagged per row
        else:
            out = m(img, ref) if isinstance(m, FRMetric) else m(img)
    return out.detach().to("cpu", torch.float64)


@dataclass
class _Group:
    """Images of one size (and their references) scored as one batch per metric."""

    rows: list[int]  # indices into the chunk's rows
    imgs: list[torch.Tensor]
    refs: list[torch.Tensor] | None
    texts: list[str] = field(default_factory=list)  # the rows' prompts (text-image jobs)


def _score_group(job: ScoreJob, g: _Group, rows: list[Row], errors: list[list[str]], device: torch.device) -> None:
    img_t = _to_batch(g.imgs, device)
    ref_t = _to_batch(g.refs, device) if g.refs is not None else None
    for name, m in job.metrics.items():
        if isinstance(m, TextImageMetric):
            _score_text_group(name, m, g, img_t, rows, errors)
            continue
        try:
            for i, v in zip(g.rows, _run_metric(m, img_t, ref_t).tolist()):
                rows[i][name] = v
        except (IQAError, ValueError, RuntimeError) as batch_err:
            if len(g.rows) == 1:
                errors[g.rows[0]].append(f"{name}: {batch_err}")
                continue
            for j, i in enumerate(g.rows):  # isolate the failing image(s)
                try:
                    one_ref = ref_t[j : j + 1] if ref_t is not None else None
                    rows[i][name] = _run_metric(m, img_t[j : j + 1], one_ref).item()
                except (IQAError, ValueError, RuntimeError) as e:
                    errors[i].append(f"{name}: {e}")


def _score_text_group(
    name: str, m: TextImageMetric, g: _Group, img_t: torch.Tensor, rows: list[Row], errors: list[list[str]]
) -> None:
    """One text-image metric on a group: each prompt checked on its own (a refused one is its row's
    error, a truncated one flagged in its row), the others scored as one batch (or one by one if it fails).
    """
    keep: list[int] = []
    for j, (i, text) in enumerate(zip(g.rows, g.texts)):
        try:
            if m.prompt_overflow([text])[0]:
                rows[i]["truncated"] = ";".join(filter(None, [rows[i]["truncated"], name]))
            keep.append(j)
        except InputError as e:
            errors[i].append(str(e))
    if not keep:
        return
    sub = img_t if len(keep) == len(g.rows) else img_t[keep]
    texts = [g.texts[j] for j in keep]
    try:
        for j, v in zip(keep, _run_metric(m, sub, None, texts).tolist()):
            rows[g.rows[j]][name] = v
    except (IQAError, ValueError, RuntimeError) as batch_err:
        for k, j in enumerate(keep):  # isolate the failing image(s)
            try:
                rows[g.rows[j]][name] = _run_metric(m, sub[k : k + 1], None, texts[k : k + 1]).item()
            except (IQAError, ValueError, RuntimeError) as e:
                errors[g.rows[j]].append(f"{name}: {e if len(keep) > 1 else batch_err}")


def _groups(
    job: ScoreJob, dec: DecodedChunk, errors: list[list[str]], prompts: list[str] | None = None
) -> list[_Group]:
    """Readable items grouped by image (and reference) size; the others get their error."""
    groups: dict[tuple[tuple[int, ...], tuple[int, ...] | None], _Group] = {}
    for i, (it, fa, fb) in enumerate(zip(dec.items, dec.img, dec.ref)):
        a, b = fa.result(), (fb.result() if fb is not None else None)
        if errors[i]:  # no pair, or no prompt
            continue
        if isinstance(a, str):
            errors[i].append(a)
            continue
        if job.source.paired:
            if not isinstance(b, torch.Tensor):
                errors[i].append(f"reference {it.ref}: {b}")
                continue
            if a.shape != b.shape:
                errors[i].append(
                    f"size {a.shape[2]}x{a.shape[1]} differs from reference {it.ref} ({b.shape[2]}x{b.shape[1]})"
                )
                continue
            try:
                a, b = _match_channels(job, dec.heads, it, a, b)
            except InputError as e:
                errors[i].append(str(e))
                continue
        ref = b if isinstance(b, torch.Tensor) else None
        key = (tuple(a.shape), None if ref is None else tuple(ref.shape))
        g = groups.setdefault(key, _Group([], [], [] if ref is not None else None))
        g.rows.append(i)
        g.imgs.append(a)
        g.texts.append(prompts[i] if prompts is not None else "")
        if g.refs is not None and ref is not None:
            g.refs.append(ref)
    return list(groups.values())


def _match_channels(
    job: ScoreJob, heads: Headers, it: Pair, a: torch.Tensor, b: torch.Tensor
) -> tuple[torch.Tensor, torch.Tensor]:
    """The pair under the mixed-channel rule (files decode to 3 channels; headers say which was grey).

    Accepted pairs were warned about by :func:`warn_mixed` before decoding started.
    """
    ha, hb = heads.img.get(it.file), heads.ref.get(it.ref or "")
    if ha is None or hb is None or ha.gray == hb.gray:
        return a, b
    mixed_channels(ha.gray, hb.gray, it.file, it.ref or "", job.mixed)  # raises under "refuse"
    return apply_mixed(a, b, ha.gray, job.mixed)


def warn_mixed(job: ScoreJob, items: list[Pair], heads: Headers, limit: int = 10) -> None:
    """One warning per accepted mixed pair (the first ``limit``, then a count), before any decoding.

    Emitted here, with no decoding thread running, because ``warnings.catch_warnings`` in a decoding
    thread swaps the process-wide filters and can swallow a warning the main thread emits meanwhile.
    """
    if job.mixed == "refuse":
        return
    notes = []
    for it in items:
        ha, hb = heads.img.get(it.file), heads.ref.get(it.ref or "")
        if ha is not None and hb is not None and ha.gray != hb.gray:
            notes.append(mixed_channels(ha.gray, hb.gray, it.file, it.ref or "", job.mixed))
    for note in notes[:limit]:
        warnings.warn(note or "", UserWarning, stacklevel=3)
    if len(notes) > limit:
        warnings.warn(
            f"... and {len(notes) - limit} more pairs of a grey and a colour image", UserWarning, stacklevel=3
        )


def rows_of_chunk(job: ScoreJob, dec: DecodedChunk, device: torch.device) -> list[Row]:
    rows: list[Row] = [
        {"file": it.file, "ref": it.ref or "", **dict.fromkeys(job.metrics, math.nan)} for it in dec.items
    ]
    errors: list[list[str]] = [[it.error] if it.error else [] for it in dec.items]
    prompts = None
    if job.table is not None:
        prompts = []
        for r, e in zip(rows, errors):
            prompt, why = job.table.lookup(r["file"])
            r["prompt"], r["truncated"] = prompt or "", ""
            prompts.append(prompt or "")
            if why and not e:
                e.append(why)
    for g in _groups(job, dec, errors, prompts):
        _score_group(job, g, rows, errors, device)
    for r, e in zip(rows, errors):
        r["error"] = "; ".join(e)
    return rows
