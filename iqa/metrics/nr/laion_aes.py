"""LAION aesthetic predictor (v2 and the first heads): a rating per image from CLIP ViT-L/14, higher is better.

Paper: Schuhmann et al., "LAION-5B: An open large-scale dataset for training next generation
image-text models", NeurIPS 2022 Datasets and Benchmarks. Release (Apache-2.0):
https://github.com/christophschuhmann/improved-aesthetic-predictor, ``simple_inference.py``: OpenAI's
CLIP ViT-L/14 image embedding, divided by its L2 norm, fed to an MLP regressed on mean ratings.
Weights: the release's head files, loaded unchanged (manifest ids in :data:`iqa.models.laion_aes.RELEASES`;
``iqa weights fetch laion_aes_sac_logos_ava1``), and OpenAI's ViT-L/14 archive (``clip_vit_l14_openai``,
sha256 from OpenAI's URL). Network and input paths: :mod:`iqa.models.laion_aes`.

Names: ``laion_aes`` = the v2 head ``sac+logos+ava1-l14-linearMSE.pth`` (the release's default and
pyiqa's ``laion_aes``); ``laion_aes_ava_logos`` = the first linear head ``ava+logos-l14-linearMSE.pth``;
``laion_aes_ava_logos_relu`` = ``ava+logos-l14-reluMSE.pth``. Scale: the mean-rating scale of the
training sets (about 1-10). The heads are affine maps (or a ReLU MLP) of the embedding, not clamped,
so the declared range is unbounded.

Input path (option ``preprocess``): ``"openai"`` (default) is the release's ``clip.load``
preprocess, bit for bit on uint8 images (PIL bicubic of the short side to 224, centre crop);
``"pyiqa"`` is pyiqa's ``clip_preprocess_tensor`` (torchvision's antialiased bicubic on float
tensors), which reproduces pyiqa's ``laion_aes`` numbers.

Parity (tests/metrics/nr/test_laion_aes.py): pyiqa 0.1.16 ``LAIONAes`` and ours hold the same seeded
random ViT-L/14 (OpenAI's state-dict layout, float16-representable values like OpenAI's weights) and
the same random head in the released layout; scored from the same PNG, ``preprocess="pyiqa"`` agrees
with pyiqa within 1e-6 on a rating of about 6, and the default's pixels are those of the release's
``clip.load`` preprocess (openai-clip's ``_transform`` on the PIL image), its score the release's
within 5e-7. The two paths differ by the resize alone.
"""

from __future__ import annotations

from pathlib import Path
from typing import ClassVar

import torch

from iqa.checks import check_image
from iqa.errors import InputError
from iqa.metrics.base import DataRange, NRMetric, compute_dtype
from iqa.models.laion_aes import RELEASES, LAIONAesthetic, Preprocess, Variant, load_laion_aes
from iqa.registry import MetricSpec, OfflineBuild, register_metric


def laion_aes(
    img: torch.Tensor, *, model: LAIONAesthetic, data_range: float = 1.0, preprocess: Preprocess = "openai"
) -> torch.Tensor:
    """Aesthetic rating per image, (N,), on the release's ~1-10 scale; higher is better.

    Args:
        img: images to judge, (N, 3, H, W) in ``[0, data_range]``.
        model: the predictor (tower and head loaded).
        data_range: value of white in the input (1.0 for images in [0, 1], 255 for [0, 255]).
        preprocess: openai (the release's PIL path, default) or pyiqa (torchvision's tensor resize, pyiqa's numbers).
    """
    img = check_image(img, "img", data_range=data_range, channels=(3,))
    # divide before the cast, so [0, 255] and [0, 1] inputs give the same pixels
    x = (img / data_range).to(compute_dtype(img))
    return model.score(x, preprocess).to(compute_dtype(img))


_PAPER = ("Schuhmann et al., 'LAION-5B: An open large-scale dataset for training next generation image-text "
          "models', NeurIPS 2022 Datasets and Benchmarks (LAION aesthetic predictor)")  # fmt: skip
_REFERENCE = ("christophschuhmann/improved-aesthetic-predictor simple_inference.py (OpenAI CLIP ViT-L/14, "
              "clip.load preprocess, L2-normalised embedding, MLP); pyiqa 0.1.16 LAIONAes for parity")  # fmt: skip
_TOLERANCE = ("1e-4 absolute (measured 1e-6 on a rating of 6) vs pyiqa's LAIONAes with preprocess='pyiqa', and vs "
              "the release's clip.load path with the default, on the same random ViT-L/14 and head (float32); the "
              "two paths differ by the resize (PIL uint8 vs float); released weights not available offline")  # fmt: skip


def _spec(name: str, variant: Variant, summary: str) -> MetricSpec:
    return MetricSpec(
        name=name,
        kind="nr",
        higher_is_better=True,
        value_range=(float("-inf"), float("inf")),
        differentiable=True,
        color="rgb",
        paper=_PAPER,
        reference_impl=_REFERENCE,
        tolerance=_TOLERANCE,
        weights=(RELEASES[variant].weights_id, "clip_vit_l14_openai"),
        offline=OfflineBuild(stand_ins=(("model", "laion_aes_small_on_noise"),)),
        summary=summary,
    )


@register_metric(_spec("laion_aes", "sac_logos_ava1", "LAION aesthetic predictor v2: MLP on CLIP ViT-L/14, ~1-10"))
class LAIONAes(NRMetric):
    """LAION aesthetic rating per image, (N,), higher is better (about 1-10, not clamped).

    Args:
        weights: the head file in the release's layout (a bare MLP state dict); None: the variant's released file.
        clip_weights: OpenAI's ViT-L-14.pt archive (sha256-verified); None: the manifest's clip_vit_l14_openai.
        preprocess: openai (the release's clip.load preprocess through PIL) or pyiqa (pyiqa's tensor resize).
        model: a ready predictor (tower and head loaded); None loads ``weights`` and ``clip_weights``.
    """

    variant: ClassVar[Variant] = "sac_logos_ava1"

    def __init__(
        self,
        *,
        data_range: DataRange = 1.0,
        weights: str | Path | None = None,
        clip_weights: str | Path | None = None,
        preprocess: Preprocess = "openai",
        model: LAIONAesthetic | None = None,
    ) -> None:
        super().__init__(data_range=data_range)
        self.weights, self.clip_weights, self.preprocess = weights, clip_weights, preprocess
        if model is None:
            model = load_laion_aes(self.variant, weights, clip_weights)
        elif model.head.relu != RELEASES[self.variant].relu:  # the head's kind decides the numbers
            kind = "ReLU" if model.head.relu else "linear"
            raise InputError(f"{self.spec.name}: the given model has a {kind} head; this name reads "
                             f"{RELEASES[self.variant].filename}")  # fmt: skip
        self.model = model.eval()

    function = staticmethod(laion_aes)

    def forward(self, img: torch.Tensor) -> torch.Tensor:
        return laion_aes(img, model=self.model, data_range=self.data_range, preprocess=self.preprocess)


@register_metric(
    _spec("laion_aes_ava_logos", "ava_logos", "LAION aesthetic predictor, first linear head (AVA + logos), ~1-10")
)
class LAIONAesAVALogos(LAIONAes):
    """The first linear head, ``ava+logos-l14-linearMSE.pth`` (AVA + LAION-Logos)."""

    variant: ClassVar[Variant] = "ava_logos"


@register_metric(
    _spec("laion_aes_ava_logos_relu", "ava_logos_relu", "LAION aesthetic predictor, ReLU head (AVA + logos), ~1-10")
)
class LAIONAesAVALogosReLU(LAIONAes):
    """The ReLU head, ``ava+logos-l14-reluMSE.pth`` (AVA + LAION-Logos)."""

    variant: ClassVar[Variant] = "ava_logos_relu"
