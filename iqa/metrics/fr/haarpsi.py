"""HaarPSI: Haar wavelet-based perceptual similarity index.

Paper: Reisenhofer, Bosse, Kutyniok, Wiegand, "A Haar Wavelet-Based Perceptual Similarity Index
for Image Quality Assessment", Signal Processing: Image Communication 2018. Reference
implementation: the authors' ``HaarPSI.m`` and its NumPy port ``haarPsi.py``
(github.com/rgcda/haarpsi), followed exactly on the 0-255 scale:

- RGB -> YIQ with the authors' rounded coefficients (Y .299/.587/.114, I .596/-.274/-.322,
  Q .211/-.523/.312); grey input is used as Y alone (no chroma term);
- optional subsampling (default on): ``conv2(X, ones(2)/4, 'same')`` then every second row and
  column, i.e. 2x2 means with MATLAB's zero padding at the bottom/right of odd sizes;
- Haar filters of size 2^s, s = 1..3 (``2^-s`` ones, upper half negated) and their transposes,
  ``conv2(..., 'same')`` (zero padding, top/left 2^(s-1) - 1, bottom/right 2^(s-1));
- per orientation: similarity (2|a||b| + C) / (a^2 + b^2 + C) averaged over scales 1 and 2,
  weight max(|a_3|, |b_3|); for colour a third map, the mean I/Q similarity of
  ``|conv2(I, ones(2)/4, 'same')|``, weighted by the mean of the two orientation weights;
- score = (logit(sum(sigmoid(alpha S) W) / sum W) / alpha)^2 with C = 30, alpha = 4.2, evaluated
  from 1 - S and the pooled shortfall from sigmoid(alpha) (:func:`haarpsi_score`): the same value
  in exact arithmetic, but never above 1 after float rounding (the scripts' form gives 1.0000062
  for identical float32 images).

Higher is better, in [0, 1]; exactly 1 for identical images. Differentiable (|.| is not at 0).
Differences to piq ``haarpsi``: piq's YIQ matrix has 4-digit I/Q coefficients (0.5959, ...),
it pads both dimensions when either is odd, and adds float eps to the final ratio (tested).
The Haar responses are computed as differences of box sums instead of 2^s x 2^s convolutions.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F

from iqa.checks import check_data_range, check_pair
from iqa.metrics.base import DataRange, FRMetric, compute_dtype
from iqa.registry import MetricSpec, register_metric
from iqa.transforms.matlab import conv2_downsample

C = 30.0
ALPHA = 4.2
SCALES = 3
MIN_SIZE = 16
# The authors' YIQ rows (HaarPSI.m / haarPsi.py), not the NTSC 4-digit matrix.
YIQ = ((0.299, 0.587, 0.114), (0.596, -0.274, -0.322), (0.211, -0.523, 0.312))


def _dyadic_sums(p: torch.Tensor, dim: int, upto: int) -> dict[int, torch.Tensor]:
    """Sums of 1, 2, 4, ..., ``upto`` consecutive entries along ``dim`` (each from the previous: one add)."""
    sums, w = {1: p}, 1
    while w < upto:
        prev = sums[w]
        n = prev.shape[dim] - w
        sums[2 * w] = prev.narrow(dim, 0, n) + prev.narrow(dim, w, n)
        w *= 2
    return sums


def haar_responses(y: torch.Tensor) -> list[tuple[torch.Tensor, torch.Tensor]]:
    """MATLAB ``conv2(y, H_s, 'same')`` and ``conv2(y, H_s', 'same')`` for s = 1..3.

    H_s is 2^-s on its lower half and -2^-s on its upper half (k = 2^s taps, h = k/2); conv2 flips
    it, so a response is (sum of the upper h x k box - sum of the lower one) / k. Box sums come
    from dyadic running sums instead of k x k convolutions: the same numbers, O(1) work per pixel.
    """
    big = 2**SCALES
    n_r, n_c = y.shape[-2], y.shape[-1]
    # MATLAB 'same' pads an even kernel of size k by k/2 - 1 before and k/2 after; pad once for
    # the largest k and start each scale's windows at offset (big/2 - 1) - (k/2 - 1).
    p = F.pad(y, (big // 2 - 1, big // 2, big // 2 - 1, big // 2))
    out = []
    along_w = _dyadic_sums(p, -1, big)
    along_h = _dyadic_sums(p, -2, big)
    for s in range(1, SCALES + 1):
        k, h = 2**s, 2 ** (s - 1)
        o = big // 2 - h
        rows = _dyadic_sums(along_w[k], -2, h)[h]  # h x k box sums, indexed by their top-left corner
        cols = _dyadic_sums(along_h[k], -1, h)[h]  # k x h
        vertical = (rows[..., o : o + n_r, o : o + n_c] - rows[..., o + h : o + h + n_r, o : o + n_c]) / k
        horizontal = (cols[..., o : o + n_r, o : o + n_c] - cols[..., o : o + n_r, o + h : o + h + n_c]) / k
        out.append((vertical, horizontal))
    return out


def box_mean_2x2(x: torch.Tensor) -> torch.Tensor:
    """``conv2(x, ones(2)/4, 'same')``: means of x[i:i+2, j:j+2], zeros past the bottom/right edge."""
    p = F.pad(x, (0, 1, 0, 1))
    return (p[..., :-1, :-1] + p[..., 1:, :-1] + p[..., :-1, 1:] + p[..., 1:, 1:]) * 0.25


def _yiq(x: torch.Tensor, scale: float) -> torch.Tensor:
    m = torch.tensor(YIQ, dtype=x.dtype, device=x.device) * scale
    return F.conv2d(x, m.view(3, 3, 1, 1))


def _dissimilarity(a: torch.Tensor, b: torch.Tensor) -> torch.Tensor:
    """1 - (2ab + C) / (a^2 + b^2 + C) written as (a - b)^2 / (a^2 + b^2 + C): >= 0 in any precision."""
    return (a - b) ** 2 / (a * a + b * b + C)


def haarpsi_maps(
    img: torch.Tensor, ref: torch.Tensor, scale: float = 1.0, subsample: bool = True
) -> tuple[torch.Tensor, torch.Tensor]:
    """Local dissimilarity (1 - similarity) and weight maps, each (N, 2 or 3, H', W'), of inputs times ``scale``.

    ``scale`` takes the inputs to 0-255. Subsampling, the colour transform and the scaling are
    linear, so they run in the cheapest order (subsample first: a quarter of the pixels to convert).
    The maps hold 1 - S rather than the scripts' S: exactly 0 where the images agree, never negative.
    """
    if subsample:
        img, ref = conv2_downsample(img, 2), conv2_downsample(ref, 2)
    if img.shape[1] == 3:
        img, ref = _yiq(img, scale), _yiq(ref, scale)
    else:
        img, ref = img * scale, ref * scale
    both = torch.cat([img[:, :1], ref[:, :1]])  # one pass over the Y planes of both images
    resp = haar_responses(both)
    dis: list[torch.Tensor] = []
    weights: list[torch.Tensor] = []
    for o in range(2):
        a, b = resp[SCALES - 1][o].chunk(2)
        weights.append(torch.maximum(a.abs(), b.abs()))
        d: torch.Tensor | None = None
        for s in range(SCALES - 1):
            a, b = resp[s][o].abs().chunk(2)
            d = _dissimilarity(a, b) if d is None else d + _dissimilarity(a, b)
        assert d is not None  # SCALES >= 2
        dis.append(d / (SCALES - 1))
    if img.shape[1] == 3:
        iq = box_mean_2x2(torch.cat([img[:, 1:], ref[:, 1:]])).abs()
        a, b = iq.chunk(2)
        dis.append(_dissimilarity(a, b).mean(1, keepdim=True))
        weights.append((weights[0] + weights[1]) / 2)
    return torch.cat(dis, 1), torch.cat(weights, 1)


def haarpsi_score(dis: torch.Tensor, weights: torch.Tensor) -> torch.Tensor:
    """(logit(sum(sigmoid(alpha S) W) / sum W) / alpha)^2 of S = 1 - ``dis``, computed so it stays in [0, 1].

    The scripts' form loses the bound in float32: identical images pool sigmoid(alpha) = 0.985 with
    rounding that logit's slope 1 / (p (1 - p)) = 68 turns into scores like 1.0000062. Here, with
    u = sigmoid(-alpha), each pixel's shortfall from the best pooled value is
    sigmoid(alpha) - sigmoid(alpha S) = u sigmoid(alpha S) expm1(alpha D), D = 1 - S: a product of
    non-negative factors, exactly 0 where D = 0. Their weighted mean e gives
    logit(sigmoid(alpha) - e) = alpha + log1p(-e / sigmoid(alpha)) - log1p(e / u): alpha plus a
    term that is <= 0 in any rounding, so the score is at most 1 (exactly 1 for identical images),
    with no clamp and a smooth gradient.
    """
    u = torch.sigmoid(torch.tensor(-ALPHA, dtype=dis.dtype, device=dis.device))
    v = torch.sigmoid(torch.tensor(ALPHA, dtype=dis.dtype, device=dis.device))
    short = u * torch.sigmoid(ALPHA * (1 - dis)) * torch.expm1(ALPHA * dis)
    e = (short * weights).sum((1, 2, 3)) / weights.sum((1, 2, 3))
    return (1 + (torch.log1p(-e / v) - torch.log1p(e / u)) / ALPHA) ** 2


def haarpsi(img: torch.Tensor, ref: torch.Tensor, *, data_range: float = 1.0, subsample: bool = True) -> torch.Tensor:
    """HaarPSI as the authors' ``HaarPSI.m`` / ``haarPsi.py``; higher is better, 1 for identical images.

    Args:
        img: images to judge, (N, 3, H, W) RGB or (N, 1, H, W) grey, float in ``[0, data_range]``.
        ref: reference images, same shape.
        data_range: value of white; inputs are rescaled to the script's 0-255 levels (C = 30).
        subsample: halve both images first (2x2 means), as the authors' default.

    Returns:
        Tensor (N,) in [0, 1].
    """
    data_range = check_data_range(data_range)
    img, ref = check_pair(img, ref, data_range=data_range, min_size=MIN_SIZE)
    dt = compute_dtype(img)
    dis, w = haarpsi_maps(img.to(dt), ref.to(dt), 255.0 / data_range, subsample)
    return haarpsi_score(dis, w)


@register_metric(
    MetricSpec(
        name="haarpsi",
        kind="fr",
        higher_is_better=True,
        value_range=(0.0, 1.0),
        differentiable=True,
        color="any",
        paper="Reisenhofer, Bosse, Kutyniok, Wiegand, 'A Haar Wavelet-Based Perceptual Similarity Index for Image Quality Assessment', Signal Process. Image Commun. 2018",
        reference_impl="authors' HaarPSI.m / haarPsi.py (github.com/rgcda/haarpsi): their YIQ, 2x2 subsampling, 3 Haar scales, C=30, alpha=4.2",
        tolerance="1e-10 vs a float64 transcription of haarPsi.py (even and odd sizes); 1e-3 relative vs piq.haarpsi (its YIQ matrix differs)",
        min_size=MIN_SIZE,
        summary="Haar wavelet similarity of Y (two orientations) and I/Q, logistic-pooled",
    )
)
class HaarPSI(FRMetric):
    """HaarPSI per image pair, (N,); 1 for identical images (see :func:`haarpsi`)."""

    function = staticmethod(haarpsi)

    def __init__(self, *, data_range: DataRange = 1.0, subsample: bool = True) -> None:
        super().__init__(data_range=data_range)
        self.subsample = subsample

    def forward(self, img: torch.Tensor, ref: torch.Tensor) -> torch.Tensor:
        return haarpsi(img, ref, data_range=self.data_range, subsample=self.subsample)
