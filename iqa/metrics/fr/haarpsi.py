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
- score = (logit(sum(sigmoid(alpha S) W) / sum W) / alpha)^2 with C = 30, alpha = 4.2.

Higher is better, in [0, 1]; 1 for identical images. Differentiable (|.| is not at 0).
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
from iqa.transforms.gradients import similarity
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


def haarpsi_maps(
    img: torch.Tensor, ref: torch.Tensor, scale: float = 1.0, subsample: bool = True
) -> tuple[torch.Tensor, torch.Tensor]:
    """Local similarity and weight maps, each (N, 2 or 3, H', W'), of inputs times ``scale`` (to 0-255).

    Subsampling, the colour transform and the scaling are linear, so they run in the cheapest
    order (subsample first: a quarter of the pixels to convert).
    """
    if subsample:
        img, ref = conv2_downsample(img, 2), conv2_downsample(ref, 2)
    if img.shape[1] == 3:
        img, ref = _yiq(img, scale), _yiq(ref, scale)
    else:
        img, ref = img * scale, ref * scale
    both = torch.cat([img[:, :1], ref[:, :1]])  # one pass over the Y planes of both images
    resp = haar_responses(both)
    sims: list[torch.Tensor] = []
    weights: list[torch.Tensor] = []
    for o in range(2):
        a, b = resp[SCALES - 1][o].chunk(2)
        weights.append(torch.maximum(a.abs(), b.abs()))
        s: torch.Tensor | None = None
        for scale in range(SCALES - 1):
            a, b = resp[scale][o].abs().chunk(2)
            s = similarity(a, b, C) if s is None else s + similarity(a, b, C)
        assert s is not None  # SCALES >= 2
        sims.append(s / (SCALES - 1))
    if img.shape[1] == 3:
        iq = box_mean_2x2(torch.cat([img[:, 1:], ref[:, 1:]])).abs()
        a, b = iq.chunk(2)
        sims.append(similarity(a, b, C).mean(1, keepdim=True))
        weights.append((weights[0] + weights[1]) / 2)
    return torch.cat(sims, 1), torch.cat(weights, 1)


def haarpsi_score(sim: torch.Tensor, weights: torch.Tensor) -> torch.Tensor:
    pooled = (torch.sigmoid(ALPHA * sim) * weights).sum((1, 2, 3)) / weights.sum((1, 2, 3))
    return (torch.logit(pooled) / ALPHA) ** 2


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
    sim, w = haarpsi_maps(img.to(dt), ref.to(dt), 255.0 / data_range, subsample)
    return haarpsi_score(sim, w)


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
