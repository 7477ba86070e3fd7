"""PaQ-2-PiQ: picture quality from a patch-trained RoIPool network (FLIVE MOS, about 0-100).

Paper: Ying et al., "From Patches to Pictures (PaQ-2-PiQ): Mapping the Perceptual Space of Picture
Quality", CVPR 2020. Released weights: the authors' ``RoIPoolModel-fit.10.bs.120.pth``
(baidut/PaQ-2-PiQ), re-hosted by IQA-PyTorch as ``P2P_RoIPoolModel-fit.10.bs.120-ca69882e.pth``
(https://github.com/chaofengc/IQA-PyTorch/releases/download/v0.1-weights/); either file loads.
Reference implementation: pyiqa's ``PAQ2PIQ`` (pyiqa/archs/paq2piq_arch.py), after the authors'
``baidut/paq2piq`` inference model (network in :mod:`iqa.models.paq2piq`).

Input as released: the picture at its own size in [0, 1], no resize, no normalisation; the score
is the whole-picture region's output (one image at a time in the release; here each image of a
batch is its own region, so a score never depends on the rest of the batch).

Parity: ours and pyiqa's network loaded with the same seeded random state dict in the released key
layout, scored end to end from the same PNG through each side's own loading, agree to 1e-6
relative (measured: identical; tests/metrics/nr/test_paq2piq.py); the key layout test names every released key.
"""

from __future__ import annotations

from pathlib import Path

import torch

from iqa.checks import check_image
from iqa.metrics.base import DataRange, NRMetric, compute_dtype
from iqa.models.fusion import prepare_inference
from iqa.models.paq2piq import PaQ2PiQ, load_paq2piq
from iqa.registry import MetricSpec, OfflineBuild, register_metric


def paq2piq(img: torch.Tensor, *, model: PaQ2PiQ, data_range: float = 1.0) -> torch.Tensor:
    """PaQ-2-PiQ picture quality per image, (N,), higher is better (FLIVE MOS scale, about 0-100).

    Args:
        img: images to judge, (N, 3, H, W) in ``[0, data_range]``, at least 32x32 (one cell of the stride-32 body).
        model: the PaQ-2-PiQ network (weights loaded).
        data_range: value of white in the input (1.0 for images in [0, 1], 255 for [0, 255]).
    """
    img = check_image(img, "img", data_range=data_range, channels=(3,), min_size=32)
    # divide before the cast, so [0, 255] and [0, 1] inputs give the same pixels
    return model((img / data_range).to(model.dtype)).to(compute_dtype(img))


@register_metric(
    MetricSpec(
        name="paq2piq",
        kind="nr",
        higher_is_better=True,
        value_range=(float("-inf"), float("inf")),
        differentiable=True,
        color="rgb",
        paper="Ying et al., 'From Patches to Pictures (PaQ-2-PiQ): Mapping the Perceptual Space of Picture "
        "Quality', CVPR 2020",
        reference_impl="pyiqa 0.1.16 PAQ2PIQ (pyiqa/archs/paq2piq_arch.py), after baidut/paq2piq inference_model.py "
        "(native size, no normalisation, whole-image RoIPool)",
        tolerance="1e-6 relative vs pyiqa's PAQ2PIQ with the same random state dict (float32, the same torchvision "
        "ops; measured identical); the released weights are not available offline",
        weights=("paq2piq",),
        min_size=32,
        offline=OfflineBuild(stand_ins=(("model", "paq2piq_on_noise"),)),
        summary="PaQ-2-PiQ: ResNet-18 + RoIPool over the whole picture, FLIVE MOS (about 0-100)",
    )
)
class PaQ2PiQMetric(NRMetric):
    """Picture quality per image, (N,), higher is better (FLIVE MOS scale, about 0-100).

    Args:
        weights: a checkpoint in the release's layout (IQA-PyTorch's or the authors'); None: the released file.
        model: a ready PaQ2PiQ network (its weights loaded); None loads ``weights``.
    """

    def __init__(
        self, *, data_range: DataRange = 1.0, weights: str | Path | None = None, model: PaQ2PiQ | None = None
    ) -> None:
        super().__init__(data_range=data_range)
        self.weights = weights
        if model is None:
            model = load_paq2piq(weights)
            prepare_inference(model)  # ours: BatchNorm folded, channels-last (iqa.models.fusion)
        self.model = model.eval()

    function = staticmethod(paq2piq)

    def forward(self, img: torch.Tensor) -> torch.Tensor:
        return paq2piq(img, model=self.model, data_range=self.data_range)
