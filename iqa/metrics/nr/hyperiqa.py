"""HyperIQA: a hyper network that generates, per image, the weights of the network scoring it.

Paper: Su et al., "Blindly Assess Image Quality in the Wild Guided by a Self-Adaptive Hyper
Network", CVPR 2020. Reference implementations: ``SSL92/hyperIQA`` (MIT) and pyiqa 0.1.16
``hypernet_arch.py`` (network in :mod:`iqa.models.hyperiqa`).

Released weights: pyiqa's KonIQ-10k file ``HyperIQA-resnet50-koniq10k-c96c41b1.pth``
(github.com/chaofengc/IQA-PyTorch/releases/tag/v0.1-weights), loaded unchanged; its scores are
nominally in [0, 1] (pyiqa: "~0, ~1"), higher is better; the last target layer is linear, so
the range is not a bound. The authors' own checkpoint (``koniq_pretrained.pkl``, Google Drive,
another key layout, MOS 0-100) is not what this name loads.

Crops (a score is the mean over 224 x 224 crops; every option is deterministic and per image):
``crops="grid"`` (default) is pyiqa's: 25 crops on a 5 x 5 grid of the image as given (short side
<= 224 first enlarged to 225); ``crops="random"`` is the release's test transform
(``data_loader.py``: ``Resize((512, 384))``, i.e. 512 high and 384 wide, then ``RandomCrop(224)``,
25 crops in ``train_test_IQA.py``, 10 in ``demo.py``), with the positions drawn from a generator
seeded by ``seed``.

Parity (tests/metrics/nr/test_hyperiqa.py): the same seeded random file in pyiqa's layout loaded
into pyiqa's ``HyperNet`` and into ours scores the same image file alike to 1e-5 (grid crops);
the key layout test compares every key and shape with pyiqa's network.
"""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import torch

from iqa.checks import check_image
from iqa.errors import InputError
from iqa.metrics.base import DataRange, NRMetric, compute_dtype
from iqa.models.fusion import prepare_inference
from iqa.models.hyperiqa import Crops, HyperIQANet, hyperiqa_score, load_hyperiqa, weights_id
from iqa.options import Range
from iqa.registry import MetricSpec, OfflineBuild, register_metric


def hyperiqa(img: torch.Tensor, *, model: HyperIQANet, data_range: float = 1.0, crops: Crops = "grid",
             num_crops: int = 25, seed: int = 0) -> torch.Tensor:  # fmt: skip
    """HyperIQA quality per image, (N,), nominally in [0, 1], higher is better.

    Args:
        img: images to judge, (N, 3, H, W) in ``[0, data_range]``, at least 32 x 32.
        model: the network (weights loaded).
        data_range: value of white in the input (1.0 for images in [0, 1], 255 for [0, 255]).
        crops: grid (pyiqa's 5 x 5 grid on the image as given) or random (the release's 512 x 384 resize, seeded crops).
        num_crops: how many 224 x 224 crops are averaged (25 as pyiqa and the release's test).
        seed: seed of the crop positions when crops is random.
    """
    if crops not in ("grid", "random"):
        raise InputError(f"hyperiqa: crops must be 'grid' or 'random', got {crops!r}")
    img = check_image(img, "img", data_range=data_range, channels=(3,), min_size=32)
    return hyperiqa_score(model, img / data_range, crops, num_crops, seed).to(compute_dtype(img))


@register_metric(
    MetricSpec(
        name="hyperiqa",
        kind="nr",
        higher_is_better=True,
        value_range=(float("-inf"), float("inf")),
        differentiable=True,
        color="rgb",
        paper="Su et al., 'Blindly Assess Image Quality in the Wild Guided by a Self-Adaptive Hyper Network', CVPR 2020",
        reference_impl="pyiqa 0.1.16 hypernet_arch.HyperNet (its converted KonIQ-10k file); SSL92/hyperIQA for the "
        "random-crop protocol",
        tolerance="1e-5 vs pyiqa with the same random file in its layout, 25 grid crops (float32 ResNet-50 sums); "
        "released weights not offline",
        weights=(weights_id(),),
        min_size=32,
        offline=OfflineBuild(stand_ins=(("model", "hyperiqa_on_noise"),)),
        summary="hyper network generating a per-image target net on ResNet-50 features (KonIQ-10k, nominal 0-1)",
    )
)
class HyperIQA(NRMetric):
    """HyperIQA quality per image, (N,), nominally 0-1, higher is better.

    Args:
        crops: grid (pyiqa's 5 x 5 grid, deterministic) or random (the release's 512 x 384 resize and seeded crops).
        num_crops: how many 224 x 224 crops are averaged.
        seed: seed of the crop positions when crops is random (the same positions for every image).
        weights: a file in pyiqa's HyperIQA layout (e.g. your own training); None: the released KonIQ-10k file.
        model: a ready HyperIQANet (weights loaded); None loads ``weights``.
    """

    def __init__(
        self,
        *,
        data_range: DataRange = 1.0,
        crops: Crops = "grid",
        num_crops: Annotated[int, Range(1, 400)] = 25,
        seed: int = 0,
        weights: str | Path | None = None,
        model: HyperIQANet | None = None,
    ) -> None:
        super().__init__(data_range=data_range)
        self.crops, self.num_crops, self.seed, self.weights = crops, num_crops, seed, weights
        if model is None:
            model = load_hyperiqa(weights)
            prepare_inference(model)  # ours: BatchNorm folded, channels-last (iqa.models.fusion)
        self.model = model.eval()

    function = staticmethod(hyperiqa)

    def forward(self, img: torch.Tensor) -> torch.Tensor:
        return hyperiqa(img, model=self.model, data_range=self.data_range, crops=self.crops,
                        num_crops=self.num_crops, seed=self.seed)  # fmt: skip
