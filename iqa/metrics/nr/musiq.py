"""MUSIQ (NR): multi-scale image quality transformer, one registered name per released head.

Paper: Ke, Wang, Wang, Milanfar, Yang, "MUSIQ: Multi-scale Image Quality Transformer", ICCV 2021.
Authors' release: https://github.com/google-research/google-research/tree/master/musiq (JAX,
Apache-2.0). Weights: the authors' checkpoints as converted by IQA-PyTorch, the files pyiqa
downloads (``musiq_koniq_ckpt-e95806b9.pth``, ``musiq_spaq_ckpt-358bb6af.pth``,
``musiq_paq2piq_ckpt-364c0c84.pth``, ``musiq_ava_ckpt-e8d3f067.pth``, from
https://huggingface.co/chaofengc/IQA-PyTorch-Weights or the v0.1-weights GitHub release), loaded
unchanged (manifest ids ``musiq_<variant>``; ``iqa weights fetch musiq_koniq``).

Reference implementation for parity: pyiqa ``archs/musiq_arch.py`` with
``data/multiscale_trans_util.py`` (used only in tests and benchmarks). Parity was checked end to end
from the same image file with the same seeded random state dict in the released key layout loaded
into both networks, each through its own preprocessing (tests/metrics/nr/test_musiq.py).

Input path (see :mod:`iqa.models.musiq`): the whole image, no crop; values to [-1, 1]; the
aspect-kept resizes to longer sides 224 and 384 plus the full-size image, each cut into 32x32
patches (row-major, "SAME" zero padding) with hashed 10x10 positions and scale ids. The resize is
pyiqa's bicubic by default (the numbers users of the converted weights know); ``resize="gaussian"``
is the authors' TF preprocessing (``tf.image.resize``, ``ResizeMethod.GAUSSIAN``). Every image is
scored on its own: nothing in the score depends on the rest of the batch.

Names and scales (the head's native scale, not clamped):

- ``musiq`` = ``musiq_koniq``: KonIQ-10k head, MOS on about 0-100 (pyiqa's default ``musiq``);
- ``musiq_spaq``: SPAQ head, MOS on about 0-100;
- ``musiq_paq2piq``: PaQ-2-PiQ (FLIVE) head, MOS on about 0-100;
- ``musiq_ava``: AVA aesthetics, the mean of the 10-bin rating distribution, in [1, 10].

The linear heads are unbounded (their training labels lie in 0-100), so their declared range is
(-inf, inf); the AVA score is a mean over bins 1..10 and cannot leave [1, 10].
"""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, ClassVar

import torch

from iqa.checks import check_image
from iqa.errors import InputError
from iqa.metrics.base import DataRange, NRMetric
from iqa.models.musiq import MUSIQ, Resize, Variant, load_musiq, multiscale_tokens
from iqa.options import Range
from iqa.registry import MetricSpec, OfflineBuild, register_metric

MIN_SIZE = 32  # one patch at full resolution


def musiq(
    img: torch.Tensor,
    *,
    model: MUSIQ,
    data_range: float = 1.0,
    max_original_patches: int = -1,
    resize: Resize = "bicubic",
) -> torch.Tensor:
    """MUSIQ quality per image in the head's scale (see the module docstring); higher is better.

    Args:
        img: images to judge, (N, 3, H, W) in ``[0, data_range]``, at least 32x32.
        model: the MUSIQ network (weights loaded); its head decides the scale.
        data_range: value of white in the input (1.0 for images in [0, 1], 255 for [0, 255]).
        max_original_patches: patches kept from the full-size image (first in row-major order); -1: all, as released.
        resize: bicubic (pyiqa's, without antialiasing) or gaussian (the authors' TF ``ResizeMethod.GAUSSIAN``).

    Returns:
        Tensor (N,) in the input's dtype (the network runs in its weights' dtype).
    """
    img = check_image(img, "img", data_range=data_range, channels=(3,), min_size=MIN_SIZE)
    dtype = next(model.parameters()).dtype
    x = (img / data_range).to(dtype) * 2 - 1  # the release's [-1, 1] input
    tokens = multiscale_tokens(x, max_original_patches=max_original_patches, resize_method=resize)
    return model(tokens).to(img.dtype)


def _spec(name: str, variant: Variant, value_range: tuple[float, float], summary: str) -> MetricSpec:
    return MetricSpec(
        name=name,
        kind="nr",
        higher_is_better=True,
        value_range=value_range,
        differentiable=True,
        color="rgb",
        paper="Ke et al., 'MUSIQ: Multi-scale Image Quality Transformer', ICCV 2021",
        reference_impl="pyiqa archs/musiq_arch.py + data/multiscale_trans_util.py (the converted release's own "
        "code; authors' JAX: google-research/musiq)",
        tolerance="1e-4 absolute vs pyiqa on the same random state dict in the released layout, end to end from "
        "the same image file (float32 summation order; the dropped padding tokens are masked there)",
        weights=(f"musiq_{variant}",),
        min_size=MIN_SIZE,
        summary=summary,
        offline=OfflineBuild(stand_ins=(("model", "musiq_small_on_noise"),)),
    )


_LINEAR = (float("-inf"), float("inf"))


@register_metric(_spec("musiq", "koniq", _LINEAR, "multi-scale patch transformer, KonIQ-10k head: MOS ~0-100"))
class Musiq(NRMetric):
    """MUSIQ quality per image, (N,), higher is better, in the released head's scale.

    Args:
        weights: a state dict file in the release's layout, loaded as given; None: the variant's released file.
        max_original_patches: patches kept from the full-size image (row-major); -1: all, as the release.
        resize: bicubic (pyiqa's, the converted release's scores) or gaussian (the authors' TF preprocessing).
        model: a ready MUSIQ of this name's variant (weights loaded); None loads ``weights``.
    """

    variant: ClassVar[Variant] = "koniq"

    def __init__(
        self,
        *,
        data_range: DataRange = 1.0,
        weights: str | Path | None = None,
        max_original_patches: Annotated[int, Range(-1)] = -1,
        resize: Resize = "bicubic",
        model: MUSIQ | None = None,
    ) -> None:
        super().__init__(data_range=data_range)
        self.weights, self.max_original_patches, self.resize = weights, max_original_patches, resize
        if model is None:
            model = load_musiq(self.variant, weights)
        elif model.variant != self.variant:
            raise InputError(f"{self.spec.name}: the given model has the {model.variant} head; "
                             f"use musiq_{model.variant}")  # fmt: skip
        self.model = model.eval()

    function = staticmethod(musiq)

    def forward(self, img: torch.Tensor) -> torch.Tensor:
        return musiq(
            img,
            model=self.model,
            data_range=self.data_range,
            max_original_patches=self.max_original_patches,
            resize=self.resize,
        )


@register_metric(_spec("musiq_koniq", "koniq", _LINEAR, "MUSIQ, KonIQ-10k head: MOS ~0-100 (same as musiq)"))
class MusiqKonIQ(Musiq):
    """MUSIQ with the KonIQ-10k head (the same network as ``musiq``)."""


@register_metric(_spec("musiq_spaq", "spaq", _LINEAR, "MUSIQ, SPAQ head: smartphone-photo MOS ~0-100"))
class MusiqSPAQ(Musiq):
    """MUSIQ with the SPAQ head (MOS, about 0-100)."""

    variant: ClassVar[Variant] = "spaq"


@register_metric(_spec("musiq_paq2piq", "paq2piq", _LINEAR, "MUSIQ, PaQ-2-PiQ (FLIVE) head: MOS ~0-100"))
class MusiqPaQ2PiQ(Musiq):
    """MUSIQ with the PaQ-2-PiQ head (MOS, about 0-100)."""

    variant: ClassVar[Variant] = "paq2piq"


@register_metric(_spec("musiq_ava", "ava", (1.0, 10.0), "MUSIQ, AVA aesthetics head: mean of 10 rating bins, 1-10"))
class MusiqAVA(Musiq):
    """MUSIQ with the AVA head: the mean of the predicted 10-bin rating distribution, in [1, 10]."""

    variant: ClassVar[Variant] = "ava"
