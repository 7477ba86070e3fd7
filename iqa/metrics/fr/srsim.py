"""SR-SIM: spectral residual based similarity.

Paper: Lin Zhang, Hongyu Li, "SR-SIM: A fast and high performance IQA index based on spectral
residual", ICIP 2012. Reference implementation: the authors' ``SR_SIM.m`` (Version 1.0, (c) 2011
Lin Zhang; https://sse.tongji.edu.cn/linzhang/IQA/SR-SIM/SR-SIM.htm, mirrored in
https://github.com/Netflix/vmaf/blob/master/matlab/strred/SR_SIM.m; licence: educational and
research use with the copyright notice kept, no commercial adaptation without permission; this file
is an independent re-implementation, no code copied). Followed exactly on 0-255 grey levels:

- Y = 0.299 R + 0.587 G + 0.114 B (the script's own weights, not ``rgb2gray``'s); grey input as is;
- F = max(1, round(min(H, W) / 256)) with MATLAB's round (halves away from zero),
  ``conv2(Y, fspecial('average', F), 'same')`` (zero padding) sampled at ``1:F:end``;
- spectral-residual saliency (Hou and Zhang, CVPR 2007) of each image: ``imresize(Y, 0.25)``
  (bicubic, antialiased), log amplitude minus its 3x3 mean (``imfilter`` 'replicate'),
  ``abs(ifft2(exp(residual + i phase))).^2``, a 10x10 Gaussian (sigma 3.8, ``imfilter`` zero padding,
  MATLAB's centre for even kernels), ``mat2gray``, ``imresize`` back to the size of Y;
- Scharr gradient magnitudes (``[3 0 -3; 10 0 -10; 3 0 -3] / 16``, ``conv2`` 'same');
- S = S_sal(C1 = 0.40) * S_grad(C2 = 225)^0.5 weighted by max(sal1, sal2): SR-SIM = sum(S w) / sum(w).

Higher is better, in [0, 1], 1 for identical images; symmetric in its two arguments.
Differentiable (a 1e-24 floor under the gradient square root keeps gradients finite on flat areas).
Where MATLAB yields NaN this stays defined: an exactly zero Fourier coefficient (``log(0)``) is
floored at the dtype's smallest normal number, and two all-black images (zero saliency weights) score
the plain mean of S, 1 for identical ones.

Differences to piq ``srsim`` (tested in ``tests/metrics/fr/test_srsim.py``):
- piq normalises the saliency maps (``mat2gray``) by the minimum and maximum over the whole batch, so
  its scores depend on the rest of the batch; here, as in MATLAB, per image;
- piq picks F with Python's ``round`` (halves to even): a 640-pixel side gives F = 2 there, F = 3 here;
- piq adds float eps to the log amplitude and the weight sum (float32: relative changes up to ~1e-6);
- piq's ``chromatic=True`` (SR-SIMc: FSIMc's YIQ chroma term with |S_I S_Q|^0.03) is not part of the
  authors' script or paper and is not offered here.
"""

from __future__ import annotations

import math
from typing import Annotated

import torch
import torch.nn.functional as F

from iqa.checks import check_data_range, check_pair
from iqa.errors import InputError
from iqa.metrics.base import DataRange, FRMetric, compute_dtype
from iqa.options import Range
from iqa.registry import MetricSpec, register_metric
from iqa.transforms.gradients import scharr_magnitude, similarity
from iqa.transforms.matlab import conv2_downsample, downsample_factor, fspecial_gaussian, imresize

C1, C2, ALPHA = 0.40, 225.0, 0.50
LUMA = (0.299, 0.587, 0.114)  # SR_SIM.m's own grey weights
MIN_SIZE = 40  # the 0.25-scale saliency input is then at least as large as the 10x10 Gaussian

Scale = Annotated[float, Range(0.0, 1.0, min_open=True)]
Size = Annotated[int, Range(1)]
Sigma = Annotated[float, Range(0.0, min_open=True)]


def _imfilter(x: torch.Tensor, kernel: torch.Tensor, mode: str) -> torch.Tensor:
    """``imfilter(x, kernel, mode)``, 'same' correlation; a k-tap kernel reads (k - 1) // 2 samples before, k // 2 after."""
    kh, kw = kernel.shape
    pads = [(kw - 1) // 2, kw // 2, (kh - 1) // 2, kh // 2]
    return F.conv2d(F.pad(x, pads, mode=mode), kernel.view(1, 1, kh, kw))


def _mat2gray(x: torch.Tensor) -> torch.Tensor:
    """MATLAB ``mat2gray`` per image: min-max scaling to [0, 1]; a constant image is only clipped."""
    lo, hi = x.amin((1, 2, 3), keepdim=True), x.amax((1, 2, 3), keepdim=True)
    delta = hi - lo
    scaled = (x - lo) / torch.where(delta > 0, delta, torch.ones_like(delta))
    return torch.where(delta > 0, scaled, x.clamp(0, 1))


def spectral_residual_saliency(
    y: torch.Tensor, *, scale: float = 0.25, kernel_size: int = 3, gaussian_size: int = 10, gaussian_sigma: float = 3.8
) -> torch.Tensor:
    """Spectral-residual saliency of grey images (N, 1, H, W) as ``SR_SIM.m`` computes it, same size, in [0, 1]."""
    small = imresize(y, scale=scale)
    spectrum = torch.fft.fft2(small)
    tiny = torch.finfo(small.dtype).tiny  # MATLAB's log(0) = -Inf would turn the whole map into NaN
    log_amp = torch.log(spectrum.abs().clamp_min(tiny))
    box = torch.full((kernel_size, kernel_size), 1.0 / kernel_size**2, dtype=small.dtype, device=small.device)
    # exp(residual + i phase) = |X| exp(-mean log|X|) X / |X| = X exp(-mean log|X|): no angle needed.
    back = torch.fft.ifft2(spectrum * torch.exp(-_imfilter(log_amp, box, "replicate")))
    sal = back.real**2 + back.imag**2
    gauss = fspecial_gaussian(gaussian_size, gaussian_size, gaussian_sigma, sal.dtype).to(sal.device)
    sal = _mat2gray(_imfilter(sal, gauss, "constant"))
    return imresize(sal, size=(y.shape[-2], y.shape[-1]))


def _gray255(x: torch.Tensor, data_range: float) -> torch.Tensor:
    """Grey levels on 0-255 with SR_SIM.m's weights (the YIQ luma row, not ``rgb2gray``'s)."""
    if x.shape[1] == 3:
        x = (x * torch.tensor(LUMA, dtype=x.dtype, device=x.device).view(1, 3, 1, 1)).sum(1, keepdim=True)
    return x * (255.0 / data_range)


def srsim(
    img: torch.Tensor,
    ref: torch.Tensor,
    *,
    data_range: float = 1.0,
    downsample: bool = True,
    scale: float = 0.25,
    kernel_size: int = 3,
    gaussian_size: int = 10,
    gaussian_sigma: float = 3.8,
) -> torch.Tensor:
    """SR-SIM as the authors' ``SR_SIM.m``; higher is better, 1 for identical images.

    Args:
        img: images to judge, (N, 3, H, W) RGB or (N, 1, H, W) grey, float in ``[0, data_range]``.
        ref: reference images, same shape.
        data_range: value of white; the constants assume 0-255 grey levels, so inputs are rescaled.
        downsample: apply the script's automatic downsampling, F = max(1, round(min(H, W) / 256)).
        scale: resize factor of the image whose spectrum gives the saliency (MATLAB imresize, bicubic).
        kernel_size: side of the mean filter that smooths the log amplitude spectrum.
        gaussian_size: side of the Gaussian that smooths the saliency map (even sides centred as MATLAB).
        gaussian_sigma: standard deviation of that Gaussian, in pixels of the resized image.

    Returns:
        Tensor (N,) in [0, 1].

    Example:
        >>> x = torch.rand(2, 3, 64, 64)
        >>> srsim(x, x)
        tensor([1., 1.])
    """
    data_range = check_data_range(data_range)
    img, ref = check_pair(img, ref, data_range=data_range, min_size=MIN_SIZE)
    dt = compute_dtype(img)
    n = img.shape[0]
    y = _gray255(torch.cat([img, ref]).to(dt), data_range)
    y = conv2_downsample(y, downsample_factor(*y.shape[-2:]) if downsample else 1)
    side = math.ceil(min(y.shape[-2:]) * scale)
    if side < max(kernel_size, gaussian_size):
        raise InputError(
            f"SR-SIM needs at least {max(kernel_size, gaussian_size)} pixels per side after resizing by "
            f"scale={scale}; images of {tuple(img.shape[-2:])} give {side}: use larger images or a larger scale"
        )
    sal = spectral_residual_saliency(
        y, scale=scale, kernel_size=kernel_size, gaussian_size=gaussian_size, gaussian_sigma=gaussian_sigma
    )
    grad = scharr_magnitude(y)
    s1, s2, g1, g2 = sal[:n], sal[n:], grad[:n], grad[n:]
    weight = torch.maximum(s1, s2)
    sim = similarity(s1, s2, C1) * similarity(g1, g2, C2) ** ALPHA
    num, den = (sim * weight).sum((1, 2, 3)), weight.sum((1, 2, 3))
    # Both saliency maps zero (black images): MATLAB's 0/0; the unweighted mean of S instead.
    return torch.where(den > 0, num / den.clamp_min(torch.finfo(dt).tiny), sim.mean((1, 2, 3)))


@register_metric(
    MetricSpec(
        name="srsim",
        kind="fr",
        higher_is_better=True,
        value_range=(0.0, 1.0),
        differentiable=True,
        color="gray",
        paper="Zhang, Li, 'SR-SIM: A fast and high performance IQA index based on spectral residual', ICIP 2012",
        reference_impl="authors' SR_SIM.m (0.299/0.587/0.114 grey, round(min/256) box downsampling, "
        "spectral-residual saliency at MATLAB imresize 0.25, Scharr, C1=0.40, C2=225, alpha=0.5)",
        tolerance="1e-10 (float64 input) and 1e-6 (float32) vs a float64 NumPy transcription of SR_SIM.m; piq 1e-7 "
        "(float64) one image at a time where its rounding of F agrees (its mat2gray spans the whole batch; tested)",
        min_size=MIN_SIZE,
        summary="spectral-residual saliency and Scharr gradient similarity weighted by saliency, on grey levels",
    )
)
class SRSIM(FRMetric):
    """SR-SIM per image pair, (N,); 1 for identical images (see :func:`srsim`)."""

    function = staticmethod(srsim)

    def __init__(
        self,
        *,
        data_range: DataRange = 1.0,
        downsample: bool = True,
        scale: Scale = 0.25,
        kernel_size: Size = 3,
        gaussian_size: Size = 10,
        gaussian_sigma: Sigma = 3.8,
    ) -> None:
        super().__init__(data_range=data_range)
        self.downsample = downsample
        self.scale = scale
        self.kernel_size = kernel_size
        self.gaussian_size = gaussian_size
        self.gaussian_sigma = gaussian_sigma

    def forward(self, img: torch.Tensor, ref: torch.Tensor) -> torch.Tensor:
        return srsim(
            img,
            ref,
            data_range=self.data_range,
            downsample=self.downsample,
            scale=self.scale,
            kernel_size=self.kernel_size,
            gaussian_size=self.gaussian_size,
            gaussian_sigma=self.gaussian_sigma,
        )
