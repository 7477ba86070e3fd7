"""MS-GMSD: gradient magnitude similarity deviation on multiple scales (and its colour form MS-GMSDc).

Paper: Zhang, Sander, Bermak, "Gradient magnitude similarity deviation on multiple scales for
color image quality assessment", ICASSP 2017. The authors published no code; the reference
implementation is piq's ``multi_scale_gmsd`` (the one every other port follows), whose
conventions are kept so that numbers agree:

- 0-255 scale; RGB -> YIQ with the 4-digit NTSC rows (Y .299/.587/.114, I .5959/-.2746/-.3213,
  Q .2115/-.5227/.3112); the structure term uses Y only;
- four scales, weights 0.096, 0.596, 0.289, 0.019; scale 1 at full resolution, then 2x2 means
  with zero padding of odd sides;
- per scale, Prewitt magnitudes m1, m2 (zero padding) and the masked similarity
  (2 m1 m2 - a m1 m2 + T) / (m1^2 + m2^2 - a m1 m2 + T), a = 0.5, T = 170; its population
  standard deviation is that scale's GMSD;
- MS-GMSD = sqrt(sum_j w_j GMSD_j^2); with ``chromatic=True`` (MS-GMSDc) the I/Q RMSE of the
  coarsest scale enters as gamma MS-GMSD + (1 - gamma) b1 RMSE_IQ with
  gamma = 2 / (1 + b2 exp(-b3 MS-GMSD)) - 1, b1 = 0.01, b2 = 0.32, b3 = 15.

Lower is better; 0 for identical images. Differentiable. Unlike ``gmsd`` (GMSD.m: rgb2gray,
half resolution first, sample std, no masking) this follows the multi-scale paper's definitions.
"""

from __future__ import annotations

import math

import torch
import torch.nn.functional as F

from iqa.checks import check_data_range, check_pair
from iqa.errors import InputError
from iqa.metrics.base import DataRange, FRMetric, compute_dtype
from iqa.registry import MetricSpec, register_metric
from iqa.transforms.gradients import prewitt_magnitude
from iqa.transforms.matlab import conv2_downsample

SCALE_WEIGHTS = (0.096, 0.596, 0.289, 0.019)
T = 170.0
MASK = 0.5
BETA1, BETA2, BETA3 = 0.01, 0.32, 15.0
MIN_SIZE = 17
YIQ = ((0.299, 0.587, 0.114), (0.5959, -0.2746, -0.3213), (0.2115, -0.5227, 0.3112))


def masked_gms_variance(y1: torch.Tensor, y2: torch.Tensor) -> torch.Tensor:
    """Population variance of the masked gradient-magnitude similarity (a scale's GMSD squared), (N,)."""
    m = prewitt_magnitude(torch.cat([y1, y2]))
    m1, m2 = m.chunk(2)
    cross = m1 * m2
    gms = (2 * cross - MASK * cross + T) / (m1 * m1 + m2 * m2 - MASK * cross + T)
    return gms.flatten(1).var(dim=1, unbiased=False)


def ms_gmsd(img: torch.Tensor, ref: torch.Tensor, *, data_range: float = 1.0, chromatic: bool = False) -> torch.Tensor:
    """MS-GMSD (or MS-GMSDc) as piq's ``multi_scale_gmsd``; lower is better, 0 for identical images.

    Args:
        img: images to judge, (N, 3, H, W) RGB or (N, 1, H, W) grey, float in ``[0, data_range]``.
        ref: reference images, same shape.
        data_range: value of white; inputs are rescaled to 0-255 levels (T = 170).
        chromatic: add the I/Q term of the coarsest scale (MS-GMSDc; RGB input only).

    Returns:
        Tensor (N,).
    """
    data_range = check_data_range(data_range)
    img, ref = check_pair(img, ref, data_range=data_range, min_size=MIN_SIZE)
    if chromatic and img.shape[1] != 3:
        raise InputError(
            f"ms_gmsd(chromatic=True) needs RGB images, got {img.shape[1]} channel(s); use chromatic=False for grey input"
        )
    dt = compute_dtype(img)
    x, y = img.to(dt), ref.to(dt)
    if x.shape[1] == 3:
        m = torch.tensor(YIQ, dtype=dt, device=x.device) * (255.0 / data_range)
        keep = 3 if chromatic else 1  # the I/Q planes are only needed for the colour term
        x, y = (F.conv2d(t, m[:keep].view(keep, 3, 1, 1)) for t in (x, y))
    else:
        x, y = x * (255.0 / data_range), y * (255.0 / data_range)
    total = torch.zeros(len(x), dtype=dt, device=x.device)
    for j, w in enumerate(SCALE_WEIGHTS):
        if j:
            x, y = conv2_downsample(x, 2), conv2_downsample(y, 2)
        total = total + w * masked_gms_variance(x[:, :1], y[:, :1])
    score = torch.sqrt(total)
    if not chromatic:
        return score
    # RMSE of the I and Q planes at the coarsest scale, combined as sqrt(rmse_I^2 + rmse_Q^2).
    rmse_iq = torch.sqrt(((x[:, 1:] - y[:, 1:]) ** 2).mean((1, 2, 3)) * 2)
    gamma = 2 / (1 + BETA2 * torch.exp(-BETA3 * score)) - 1
    return gamma * score + (1 - gamma) * BETA1 * rmse_iq


@register_metric(
    MetricSpec(
        name="ms_gmsd",
        kind="fr",
        higher_is_better=False,
        value_range=(0.0, math.inf),
        differentiable=True,
        color="any",
        paper="Zhang, Sander, Bermak, 'Gradient magnitude similarity deviation on multiple scales for color image quality assessment', ICASSP 2017",
        reference_impl="piq multi_scale_gmsd (no authors' code exists): NTSC YIQ, 4 scales (0.096, 0.596, 0.289, 0.019), masking 0.5, T=170, population std",
        tolerance="1e-10 relative vs piq.multi_scale_gmsd in float64, grey and RGB, with and without the chromatic term",
        min_size=MIN_SIZE,
        summary="masked GMSD over four scales; chromatic=True adds the I/Q term (MS-GMSDc)",
    )
)
class MSGMSD(FRMetric):
    """MS-GMSD (or MS-GMSDc) per image pair, (N,); 0 for identical images (see :func:`ms_gmsd`)."""

    function = staticmethod(ms_gmsd)

    def __init__(self, *, data_range: DataRange = 1.0, chromatic: bool = False) -> None:
        super().__init__(data_range=data_range)
        self.chromatic = chromatic

    def forward(self, img: torch.Tensor, ref: torch.Tensor) -> torch.Tensor:
        return ms_gmsd(img, ref, data_range=self.data_range, chromatic=self.chromatic)
