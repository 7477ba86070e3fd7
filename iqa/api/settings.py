"""How a job runs, as one frozen object: device, batching, decoding workers, cache, limits, progress.

``iqa.score`` (as ``settings=``; its keyword arguments override fields), folder-scoring jobs
(:class:`iqa.api.jobs.ScoreJob`), ``iqa.evaluation.correlate``, the report pipelines and the CLI pass
one :class:`RunSettings` instead of a dozen keyword arguments each; what a metric computes never
depends on it.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from iqa.errors import InputError

Progress = Callable[[str, int, int], None]  # (label, done, total)
DEFAULT_MAX_BATCH_PIXELS = 2**24  # see RunSettings.max_batch_pixels and docs/benchmarks.md "Memory"


@dataclass(frozen=True)
class RunSettings:
    """Execution settings of a scoring, comparison or correlation job.

    Attributes:
        device: torch device string ("cpu", "cuda", "cuda:1"); metrics follow it.
        batch_size: images per forward pass.
        max_batch_pixels: the most pixels (width x height, summed over a batch's images; an FR
            pair's references come on top) in one folder-job batch; a larger image runs alone.
            None: bound by ``batch_size`` only. The default, 2**24 (16.8 MP: 16 images of
            1024x1024, 8 of 1920x1080), keeps ssim + ms_ssim on 24-MP camera photos under 3 GB.
        workers: decoding threads.
        cache_dir: where feature caches live (None: no cache).
        max_pixels: decompression-bomb limit per image (None: the io default).
        recursive: walk sub-folders of input folders.
        progress: called as ``progress(label, done, total)``; None for silence.
    """

    device: str = "cpu"  # a torch.device is accepted and kept as its string
    batch_size: int = 16
    max_batch_pixels: int | None = DEFAULT_MAX_BATCH_PIXELS
    workers: int = 2
    cache_dir: Path | None = None
    max_pixels: int | None = None
    recursive: bool = False
    progress: Progress | None = None

    def __post_init__(self) -> None:
        if not isinstance(self.device, str):
            if type(self.device).__name__ != "device":  # torch.device, without importing torch here
                raise InputError(f"device must be a string such as 'cpu' or 'cuda:0', got {self.device!r}")
            object.__setattr__(self, "device", str(self.device))
        if not isinstance(self.batch_size, int) or self.batch_size < 1:
            raise InputError(f"batch_size must be a positive int, got {self.batch_size!r}")
        if self.max_batch_pixels is not None and (
            not isinstance(self.max_batch_pixels, int)
            or isinstance(self.max_batch_pixels, bool)
            or self.max_batch_pixels < 1
        ):
            raise InputError(f"max_batch_pixels must be None or a positive int, got {self.max_batch_pixels!r}")
        if not isinstance(self.workers, int) or self.workers < 0:
            raise InputError(f"workers must be an int >= 0, got {self.workers!r}")
        if self.max_pixels is not None and self.max_pixels < 1:
            raise InputError(f"max_pixels must be None or positive, got {self.max_pixels!r}")
        if self.cache_dir is not None and not isinstance(self.cache_dir, Path):
            object.__setattr__(self, "cache_dir", Path(self.cache_dir))

    def replace(self, **changes: Any) -> RunSettings:
        """A copy with ``changes`` applied (checked like the original)."""
        return dataclasses.replace(self, **changes)

    def torch_device(self) -> Any:
        """The device as a ``torch.device``; CUDA asked for but absent is an error that says so."""
        import torch

        try:
            dev = torch.device(self.device)
        except RuntimeError as e:
            raise InputError(f"device {self.device!r}: {e}") from None
        if dev.type == "cuda" and not torch.cuda.is_available():
            raise InputError(f"device {self.device!r}: CUDA is not available on this machine; use device='cpu'")
        return dev
