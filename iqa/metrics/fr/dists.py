"""DISTS: deep image structure and texture similarity.

Paper: Ding, Ma, Wang, Simoncelli, "Image Quality Assessment: Unifying Structure and Texture
Similarity", IEEE TPAMI 2020. Reference implementation: dingkeyan93/DISTS ``DISTS_pytorch``
(model and ``weights.pt`` alpha/beta). As the reference:

- input in [0, 1] standardised with ImageNet mean/std;
- VGG16 ``features`` with every max-pool replaced by "L2 pooling" (:mod:`iqa.models.dists`);
  six feature sets: the [0, 1] input itself (not standardised) and relu1_2, relu2_2, relu3_3, relu4_3, relu5_3
  (3 + 64 + 128 + 256 + 512 + 512 = 1475 channels);
- per channel, structure (2 mu_x mu_y + c) / (mu_x^2 + mu_y^2 + c) and texture
  (2 cov_xy + c) / (var_x + var_y + c) over the spatial dimensions (population moments), c = 1e-6;
- score = 1 - sum(alpha * structure + beta * texture) with alpha, beta divided by their total.

Lower is better (0 for identical images). The reference's demo resizes images whose short side
exceeds 256 before scoring (in its loader, with PIL); piq does it inside the metric with bilinear
interpolation. We do not resize: pass ``resize=256`` to reproduce piq's in-metric bilinear resize.
"""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import torch
import torch.nn.functional as F

from iqa.checks import check_pair
from iqa.errors import InputError
from iqa.metrics.base import DataRange, FRMetric, compute_dtype
from iqa.models.dists import CHANNELS, MEAN, STD, DISTSTrunk
from iqa.options import Range
from iqa.registry import MetricSpec, OfflineBuild, register_metric
from iqa.weights import load_torch_state, resolve_weights


def dists(
    img: torch.Tensor,
    ref: torch.Tensor,
    *,
    trunk: DISTSTrunk,
    alpha: torch.Tensor,
    beta: torch.Tensor,
    data_range: float = 1.0,
    resize: int | None = None,
) -> torch.Tensor:
    """DISTS distance per image pair, (N,): 1 - the weighted structure and texture similarity; lower is better.

    Args:
        img: images to judge, (N, 3, H, W) in ``[0, data_range]``.
        ref: reference images, same shape.
        trunk: the L2-pooled VGG16 stages (weights loaded).
        alpha: structure weights per channel (1475,), normalised with ``beta`` to sum to 1.
        beta: texture weights per channel (1475,).
        data_range: value of white in the input (1.0 for images in [0, 1], 255 for [0, 255]).
        resize: short side to resize larger images to (bilinear, as piq); None: no resize.
    """
    check_pair(img, ref, data_range=data_range, channels=(3,), min_size=32)
    dt = alpha.dtype
    mean = torch.tensor(MEAN, dtype=dt, device=img.device).view(1, 3, 1, 1)
    std = torch.tensor(STD, dtype=dt, device=img.device).view(1, 3, 1, 1)
    x, y = (img / data_range).to(dt), (ref / data_range).to(dt)  # scale before the cast: same pixels for any data_range
    if resize is not None and min(x.shape[-2:]) > resize:
        s = resize / min(x.shape[-2:])  # piq's in-metric bilinear resize
        x = F.interpolate(x, scale_factor=s, recompute_scale_factor=False, mode="bilinear")
        y = F.interpolate(y, scale_factor=s, recompute_scale_factor=False, mode="bilinear")
    fx, fy = trunk((x - mean) / std, x), trunk((y - mean) / std, y)
    c, dist = 1e-6, torch.zeros(x.shape[0], dtype=dt, device=x.device)
    start = 0
    for a, b, ch in zip(fx, fy, CHANNELS):
        ma, mb = a.mean((2, 3)), b.mean((2, 3))
        ac, bc = a - ma[..., None, None], b - mb[..., None, None]
        # One centred formula for the variances and the covariance: identical inputs then give
        # texture == structure == 1 exactly (torch.var next to E[ab] - ma mb left 1 + 1e-7).
        va, vb, cov = (ac * ac).mean((2, 3)), (bc * bc).mean((2, 3)), (ac * bc).mean((2, 3))
        structure = (2 * ma * mb + c) / (ma * ma + mb * mb + c)
        texture = (2 * cov + c) / (va + vb + c)
        # 1 - sum(w * s) written as sum(w * (1 - s)) (the weights sum to 1): never below 0 by rounding.
        dist = dist + ((1 - structure) * alpha[start : start + ch]).sum(1)
        dist = dist + ((1 - texture) * beta[start : start + ch]).sum(1)
        start += ch
    return dist.to(compute_dtype(img))


@register_metric(
    MetricSpec(
        name="dists",
        kind="fr",
        higher_is_better=False,
        value_range=(0.0, 2.0),  # structure terms <= 1, texture terms in [-1, 1]
        differentiable=True,
        color="rgb",
        paper="Ding, Ma, Wang, Simoncelli, 'Image Quality Assessment: Unifying Structure and Texture Similarity', IEEE TPAMI 2020",
        reference_impl="dingkeyan93/DISTS DISTS_pytorch (L2-pooled VGG16, weights.pt alpha/beta)",
        tolerance="1e-5 absolute vs piq.DISTS with the same VGG16 state dict and alpha/beta, images <= 256 px (float32)",
        weights=("dists_alpha_beta", "torchvision_vgg16"),
        offline=OfflineBuild(
            files=(("weights", "dists_alpha_beta.pt"),), stand_ins=(("trunk", "imagenet_vgg16_dists_trunk"),)
        ),
        min_size=32,
        summary="structure and texture similarity of L2-pooled VGG16 features (1 - DISTS similarity)",
    )
)
class DISTS(FRMetric):
    """DISTS distance per image pair, (N,).

    Args:
        resize: short side to resize larger images to (bilinear, in the metric, as piq); None: no resize.
        weights: alpha/beta file (the reference's ``weights.pt``); None: the weights manager's ``dists_alpha_beta``.
        trunk_weights: torchvision VGG16 checkpoint for the trunk; None: the weights manager's ``torchvision_vgg16``.
        trunk: a ready trunk (its weights loaded); None builds one from ``trunk_weights``.
    """

    alpha: torch.Tensor
    beta: torch.Tensor

    def __init__(
        self,
        *,
        data_range: DataRange = 1.0,
        resize: Annotated[int | None, Range(32)] = None,
        weights: str | Path | None = None,
        trunk_weights: str | Path | None = None,
        trunk: DISTSTrunk | None = None,
    ) -> None:
        super().__init__(data_range=data_range)
        self.resize = resize
        self.weights, self.trunk_weights = weights, trunk_weights
        self.trunk = trunk if trunk is not None else DISTSTrunk(trunk_weights)
        ab = load_torch_state(resolve_weights("dists_alpha_beta", weights))
        if ab.get("alpha") is None or ab["alpha"].shape != (1, sum(CHANNELS), 1, 1):
            raise InputError("DISTS weights must hold alpha and beta of shape (1, 1475, 1, 1)")
        total = ab["alpha"].sum() + ab["beta"].sum()
        self.register_buffer("alpha", (ab["alpha"] / total).flatten(), persistent=False)
        self.register_buffer("beta", (ab["beta"] / total).flatten(), persistent=False)

    function = staticmethod(dists)

    def forward(self, img: torch.Tensor, ref: torch.Tensor) -> torch.Tensor:
        return dists(
            img, ref, trunk=self.trunk, alpha=self.alpha, beta=self.beta, data_range=self.data_range, resize=self.resize
        )
