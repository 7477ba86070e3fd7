"""``torch.utils.data.Dataset`` view of a :class:`~iqa.datasets.base.MOSDataset`."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any, Protocol

import numpy as np
import torch

from iqa.io.images import read_image


class _Scored(Protocol):
    """What the view reads of a :class:`~iqa.datasets.base.MOSDataset` (which builds it, so no import
    of base here: that would be an import cycle).
    """

    def records(self) -> Sequence[Any]: ...

    def normalized_mos(self) -> np.ndarray: ...


class MOSTorchDataset(torch.utils.data.Dataset):
    """Items are dicts: ``image`` (3, H, W) float in [0, 1], ``ref`` for FR datasets, ``mos``,
    ``mos_norm`` (0..1, 1 = best), ``index``. ``transform`` is applied to image (and ref, with the
    same call, so paired crops can share randomness if the transform takes both).
    """

    def __init__(self, data: _Scored, transform: Callable | None = None) -> None:
        self.data = data
        self.records = data.records()
        self.norm = data.normalized_mos()
        self.transform = transform

    def __len__(self) -> int:
        return len(self.records)

    def __getitem__(self, i: int) -> dict[str, Any]:
        r = self.records[i]
        item: dict[str, Any] = {"image": read_image(r.image), "index": i}
        if r.ref is not None:
            item["ref"] = read_image(r.ref)
        if self.transform is not None:
            if "ref" in item:
                item["image"], item["ref"] = self.transform(item["image"], item["ref"])
            else:
                item["image"] = self.transform(item["image"])
        item["mos"] = torch.tensor(r.mos, dtype=torch.float32)
        item["mos_norm"] = torch.tensor(self.norm[i], dtype=torch.float32)
        return item
