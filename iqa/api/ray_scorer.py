"""A scorer for users' own ``ray.data`` pipelines: ``ds.map_batches(Scorer, ...)``.

Example::

    import ray
    from ray.data import ActorPoolStrategy
    from iqa.api.ray_engine import worker_env
    from iqa.api.ray_scorer import Scorer

    ds = ray.data.read_images("s3://bucket/images", include_paths=True)
    scored = ds.map_batches(
        Scorer,
        fn_constructor_kwargs={"metrics": ["niqe", "brisque"], "device": "cpu"},
        batch_size=16,
        compute=ActorPoolStrategy(size=4),
        runtime_env={"env_vars": worker_env()},  # IQA_WEIGHTS_DIR, IQA_OFFLINE, ... as on the driver
    )
    scored.drop_columns(["image"]).write_parquet("scores/")

Each actor builds its metrics once. A batch's image column holds decoded images (HxW or HxWxC
``uint8`` arrays, as ``ray.data.read_images`` gives them), encoded bytes (``read_binary_files``, a
Parquet column of bytes) or paths; a full-reference metric reads the reference of each row from
``ref_column`` (a paired dataset, in the same forms). The output is the input columns plus one
float64 column per metric and ``error``, with the semantics of ``iqa score``: each batch is scored
by :func:`~iqa.api.jobs.score_chunk` (through a small in-memory source), so images are grouped by
size, a bad image gets NaN and its error while the rest of the batch is scored, and a score never
depends on the other images of the batch. Decoded arrays are handed to the same decoder as files
(as uncompressed PNG, lossless), so grey, alpha and mixed-channel rules are those of files.
"""

from __future__ import annotations

import io
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import numpy as np

from iqa.api.core import create
from iqa.api.jobs import ScoreJob, plan_job_chunks, score_chunk
from iqa.api.settings import DEFAULT_MAX_BATCH_PIXELS, RunSettings
from iqa.checks import MIXED_CHANNELS, MixedChannels
from iqa.errors import InputError
from iqa.io.folders import Header, Pair
from iqa.io.images import Alpha, Blob
from iqa.io.sources import ImageRef, Source
from iqa.metrics.base import FRMetric, Metric, NRMetric

IMAGE_COLUMNS = ("image", "bytes", "path")  # looked for in this order when image_column is not given


def encoded(value: Any, name: str) -> ImageRef:
    """A cell of an image column as something :func:`~iqa.io.images.decode_image` reads.

    Raises:
        InputError: a value of no supported form (the row's error, not the batch's).
    """
    if isinstance(value, dict):  # Hugging Face's Image layout: {"bytes": ..., "path": ...}
        value = value.get("bytes") or value.get("path")
    if isinstance(value, (bytes, bytearray, memoryview)):
        return Blob(name, bytes(value))
    if isinstance(value, (str, Path)):
        return Path(value)
    if isinstance(value, np.ndarray):
        return Blob(name, _png(value, name))
    raise InputError(f"{name}: expected a decoded image array, encoded bytes or a path, got {type(value).__name__}")


def _png(arr: np.ndarray, name: str) -> bytes:
    """A decoded array as an uncompressed PNG (lossless), so it decodes by the rules files follow."""
    from PIL import Image

    if arr.ndim == 3 and arr.shape[2] == 1:
        arr = arr[:, :, 0]
    ok = (arr.dtype == np.uint8 and (arr.ndim == 2 or (arr.ndim == 3 and arr.shape[2] in (2, 3, 4)))) or (
        arr.dtype == np.uint16 and arr.ndim == 2
    )
    if not ok:
        raise InputError(
            f"{name}: a decoded image must be an HxW or HxWxC (C = 1..4) uint8 array, or HxW uint16; got "
            f"{arr.dtype} {arr.shape} (read the images with ray.data.read_images, or pass bytes or paths)"
        )
    buf = io.BytesIO()
    Image.fromarray(np.ascontiguousarray(arr)).save(buf, format="PNG", compress_level=0)
    return buf.getvalue()


class BatchSource(Source):
    """The rows of one batch as a scoring source: item ``i`` is row i, paired with row i's reference."""

    def __init__(self, images: list[Any], refs: list[Any] | None, names: list[str]):
        self.images, self.refs, self.names = images, refs, names
        self.paired = refs is not None
        self.label = "the batch"
        self._encoded: dict[tuple[bool, str], ImageRef | InputError] = {}  # headers and decoding share one encoding

    def plan(self) -> list[Pair]:
        return [Pair(str(i), str(i) if self.paired else None) for i in range(len(self.images))]

    def _get(self, key: str, ref: bool) -> ImageRef:
        got = self._encoded.get((ref, key))
        if got is None:
            i = int(key)
            try:
                if ref:
                    if self.refs is None:
                        raise InputError("this batch has no reference column")
                    got = encoded(self.refs[i], f"reference of {self.names[i]}")
                else:
                    got = encoded(self.images[i], self.names[i])
            except InputError as e:
                got = e
            self._encoded[(ref, key)] = got
        if isinstance(got, InputError):
            raise got
        return got

    def image(self, key: str) -> ImageRef:
        return self._get(key, False)

    def reference(self, key: str) -> ImageRef:
        return self._get(key, True)

    def header(self, key: str, *, ref: bool = False) -> Header:
        try:
            return super().header(key, ref=ref)
        except InputError:  # a cell of no supported form: decoding reports it in the row
            return Header(0, False)


class Scorer:
    """A ``map_batches`` callable class scoring each row of a batch with per-image metrics.

    Args:
        metrics: metric names (``"niqe"`` or ``["psnr", "ssim"]``); each is an output column.
        options: per-metric options, ``{"ssim": {"downsample": False}}``.
        device: where the metrics run ("cpu", "cuda"; with ``num_gpus`` Ray gives each actor its GPU).
        image_column: the column of images (default: the first of image, bytes, path present).
        ref_column: the column of references (needed by full-reference metrics).
        name_column: the column naming rows in error messages (default "path" when present).
        alpha, mixed: as ``iqa score --alpha/--mixed``.
        max_pixels: decompression-bomb limit per image (None: the io default).
        max_batch_pixels: the most pixels scored in one forward pass (a batch is cut by it).
        workers: decoding threads per actor.

    Raises:
        InputError: an unknown metric or option, a distribution or text-image metric, a
            full-reference metric without ``ref_column``.
    """

    def __init__(
        self,
        metrics: str | list[str],
        options: dict[str, dict[str, Any]] | None = None,
        device: str = "cpu",
        image_column: str | None = None,
        ref_column: str | None = None,
        name_column: str | None = None,
        alpha: Alpha = "drop",
        mixed: MixedChannels = "refuse",
        max_pixels: int | None = None,
        max_batch_pixels: int | None = DEFAULT_MAX_BATCH_PIXELS,
        workers: int = 2,
    ):
        names = [metrics] if isinstance(metrics, str) else list(metrics)
        if not names or len(set(names)) != len(names):
            raise InputError(f"metrics must name at least one metric, each once; got {names}")
        options = options or {}
        self.metrics: dict[str, Metric] = {n: create(n, **options.get(n, {})) for n in names}
        for n, m in self.metrics.items():
            if not isinstance(m, (NRMetric, FRMetric)):
                raise InputError(f"{n} is not a per-image metric; Scorer runs no-reference and full-reference metrics")
            if isinstance(m, FRMetric) and ref_column is None:
                raise InputError(f"{n} is a full-reference metric: name the column of references with ref_column=...")
        if mixed not in MIXED_CHANNELS:
            raise InputError(f"mixed must be one of {MIXED_CHANNELS}, got {mixed!r}")
        self.settings = RunSettings(
            device=device, max_pixels=max_pixels, max_batch_pixels=max_batch_pixels, workers=workers
        )
        dev = self.settings.torch_device()
        for m in self.metrics.values():
            m.to(dev).eval()
        self.image_column, self.ref_column, self.name_column = image_column, ref_column, name_column
        self.alpha, self.mixed = alpha, mixed
        self.pool = ThreadPoolExecutor(max_workers=max(1, workers))

    def _column(self, batch: dict[str, Any]) -> str:
        if self.image_column is not None:
            if self.image_column not in batch:
                raise InputError(f"image_column {self.image_column!r} is not a column of the batch ({list(batch)})")
            return self.image_column
        for c in IMAGE_COLUMNS:
            if c in batch:
                return c
        raise InputError(f"no image column in the batch ({list(batch)}): name it with image_column=...")

    def _names(self, batch: dict[str, Any], column: str, n: int) -> list[str]:
        by = self.name_column or ("path" if "path" in batch else None)
        if by is not None and by in batch:
            return [str(v) for v in batch[by]]
        return [f"{column}[{i}]" for i in range(n)]

    def __call__(self, batch: dict[str, Any]) -> dict[str, Any]:
        """The batch with one float64 column per metric and an ``error`` column added."""
        column = self._column(batch)
        images = list(batch[column])
        if self.ref_column is not None and self.ref_column not in batch:
            raise InputError(f"ref_column {self.ref_column!r} is not a column of the batch ({list(batch)})")
        refs = list(batch[self.ref_column]) if self.ref_column is not None else None
        source = BatchSource(images, refs, self._names(batch, column, len(images)))
        job = ScoreJob(root=source, metrics=self.metrics, settings=self.settings, alpha=self.alpha, mixed=self.mixed)
        chunks, heads = plan_job_chunks(job, source.plan())
        rows = [r for c in chunks for r in score_chunk(job, c, self.pool, heads)]
        out = dict(batch)
        for name in self.metrics:
            out[name] = np.array([r[name] for r in rows], dtype=np.float64)
        out["error"] = np.array([r["error"] for r in rows], dtype=object)
        return out
