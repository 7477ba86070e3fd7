"""PieAPP v0.1: per-patch error and weight from the feature difference of a 64x64 patch and its reference.

Paper: Prashnani, Cai, Mostofi, Sen, "PieAPP: Perceptual Image-Error Assessment through Pairwise
Preference", CVPR 2018. Reference implementation: the authors' ``model/PieAPPv0pt1_PT.py`` and
``test_PieAPP_PT.py`` (github.com/prashnani/PerceptualImageError); pyiqa's ``pieapp_arch.py``
(chaofengc/IQA-PyTorch, PolyForm-Noncommercial) and piq's ``pieapp.py`` (Apache-2.0) are ports of it.
All three were read for key names, shapes and the order of operations; none is imported here.

Released weights: the authors' PyTorch file ``PieAPPv0.1.pth`` (a plain state dict), mirrored unchanged
by pyiqa as ``PieAPPv0.1-0937b014.pth`` (the suffix is its sha256 prefix). Module and parameter names
follow that file, so it loads with ``strict=True``; its ``ref_score_subtract`` is an affine map with a
one-element ``weight`` (shape (1,), not ``nn.Linear(1, 1)``'s (1, 1): piq unsqueezes it on load,
pyiqa declares a one-element parameter, as here).

The network, per patch pair (``forward``), inputs BGR in [0, 255] as the authors read them with OpenCV:

1. eleven 3x3 convolutions (padding 1, ReLU) with 2x2 max-pools after conv2, 4, 6, 8 and 10;
   channels 64, 64, 64, 128, 128, 128, 256, 256, 256, 512, 512;
2. differences reference minus image of the conv3, 5, 7, 9 and 11 outputs, flattened (C, H, W order)
   and concatenated (120832 values for a 64x64 patch), and of conv11's alone (2048);
3. error = ``ref_score_subtract(0.01 * fc2_score(relu(fc1_score(d_all))))``;
   weight = ``fc2_weight(relu(fc1_weight(d_conv11))) + 1e-6``;
4. the image's PieAPP is the weighted mean of the patch errors (:func:`weighted_error`).
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import torch
import torch.nn.functional as F
from torch import nn

from iqa.errors import InputError, WeightsError, WeightsNotFoundError
from iqa.weights import load_torch_state, resolve_weights

PATCH = 64  # side of the patches the network was trained on (its fc1 sizes assume it)
WIDTH = 64  # channels of conv1..3; doubled at conv4, 7 and 10 (256 at conv7..9, 512 at 10..11)
HIDDEN = 512
WEIGHT_EPS = 1e-6  # added to every patch weight, as released
WEIGHTS_ID = "pieapp"
CHUNK = 128  # patch pairs per network call: bounds memory (~1000 pairs in 1024x768 at stride 27), big enough for speed


def _channels(width: int) -> list[tuple[int, int]]:
    w = width
    return [(3, w), (w, w), (w, w), (w, 2 * w), (2 * w, 2 * w), (2 * w, 2 * w),
            (2 * w, 4 * w), (4 * w, 4 * w), (4 * w, 4 * w), (4 * w, 8 * w), (8 * w, 8 * w)]  # fmt: skip


def feature_size(width: int = WIDTH, patch: int = PATCH) -> tuple[int, int]:
    """(multi-scale, coarse) feature lengths: conv3 at patch/2, conv5 /4, conv7 /8, conv9 /16, conv11 /32."""
    w, s = width, patch
    coarse = 8 * w * (s // 32) ** 2
    return w * (s // 2) ** 2 + 2 * w * (s // 4) ** 2 + 4 * w * (s // 8) ** 2 + 4 * w * (s // 16) ** 2 + coarse, coarse


class Affine(nn.Module):
    """``weight * x + bias`` with one-element parameters (the release's ``ref_score_subtract``)."""

    def __init__(self) -> None:
        super().__init__()
        self.weight = nn.Parameter(torch.ones(1))
        self.bias = nn.Parameter(torch.zeros(1))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return x * self.weight + self.bias


class PieAPPNet(nn.Module):
    """PieAPP v0.1 in the released key layout: patch pairs -> (errors, weights), each (P,).

    Args:
        width: channels of the first convolutions (64 as released; smaller only for test stand-ins).
        hidden: units of the two fully connected heads (512 as released).
    """

    def __init__(self, width: int = WIDTH, hidden: int = HIDDEN) -> None:
        super().__init__()
        for i, (cin, cout) in enumerate(_channels(width), 1):
            self.add_module(f"conv{i}", nn.Conv2d(cin, cout, 3, padding=1))
        ms, coarse = feature_size(width)
        self.fc1_score = nn.Linear(ms, hidden)
        self.fc2_score = nn.Linear(hidden, 1)
        self.fc1_weight = nn.Linear(coarse, hidden)
        self.fc2_weight = nn.Linear(hidden, 1)
        self.ref_score_subtract = Affine()

    def _conv(self, i: int, x: torch.Tensor) -> torch.Tensor:
        return F.relu(getattr(self, f"conv{i}")(x), inplace=True)  # in place: the conv output is not kept

    def maps(self, x: torch.Tensor) -> list[torch.Tensor]:
        """BGR [0, 255] patches (P, 3, 64, 64) -> the conv3, 5, 7, 9 and 11 outputs (after ReLU).

        The convolutions run channels-last (oneDNN's layout on CPU: ~25% faster than NCHW here).
        """
        x = x.contiguous(memory_format=torch.channels_last)
        x = F.max_pool2d(self._conv(2, self._conv(1, x)), 2)
        kept = []
        for i in (3, 5, 7, 9):  # conv_i -> (kept) -> conv_{i+1} -> pool
            x = self._conv(i, x)
            kept.append(x)
            x = F.max_pool2d(self._conv(i + 1, x), 2)
        return [*kept, self._conv(11, x)]

    def forward(self, img: torch.Tensor, ref: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """Patch pairs (P, 3, 64, 64) each, BGR in [0, 255] -> (errors, weights), each (P,)."""
        n = img.shape[0]
        maps = self.maps(torch.cat([img, ref]))  # one pass over both: half the calls
        # reference minus image per scale, flattened in the release's (C, H, W) order, then concatenated
        diffs = [(m[n:] - m[:n]).flatten(1) for m in maps]
        err = self.ref_score_subtract(0.01 * self.fc2_score(F.relu(self.fc1_score(torch.cat(diffs, 1)))))
        weight = self.fc2_weight(F.relu(self.fc1_weight(diffs[-1]))) + WEIGHT_EPS
        return err[:, 0], weight[:, 0]

    @torch.no_grad()
    def identity_error(self) -> float:
        """The score of identical inputs: the heads at a zero feature difference (the same for every image)."""
        h = F.relu(self.fc1_score.bias)
        return float(self.ref_score_subtract(0.01 * self.fc2_score(h)))


def patch_corners(size: int, stride: int, patch: int = PATCH) -> range:
    """Top or left corners of the patches along one side: every ``stride`` px while a patch fits.

    The last ``(size - patch) % stride`` rows (columns) are not scored, as in every release: the
    authors' script (its sub-image tiling yields this grid), pyiqa's and piq's unfold.
    """
    return range(0, size - patch + 1, stride)


def patches(x: torch.Tensor, stride: int, patch: int = PATCH) -> torch.Tensor:
    """(N, C, H, W) -> (N, K, C, patch, patch): the patches at :func:`patch_corners`, rows first."""
    n, c = x.shape[:2]
    p = x.unfold(2, patch, stride).unfold(3, patch, stride)  # (N, C, rows, cols, patch, patch), a view
    return p.permute(0, 2, 3, 1, 4, 5).reshape(n, -1, c, patch, patch)


def chunks(a: torch.Tensor, b: torch.Tensor, size: int = CHUNK) -> Iterator[tuple[torch.Tensor, torch.Tensor]]:
    yield from zip(a.split(size), b.split(size))


def weighted_error(model: PieAPPNet, img: torch.Tensor, ref: torch.Tensor, stride: int) -> torch.Tensor:
    """BGR [0, 255] images (N, 3, H, W) -> PieAPP per image (N,): the weight-averaged patch errors.

    Patches of all images run through the network together in chunks (each patch's result is its
    own), then each image's errors are averaged with its own weights: a score never sees the batch.
    """
    pi, pr = patches(img, stride), patches(ref, stride)
    n, k = pi.shape[:2]
    outs = [model(a, b) for a, b in chunks(pi.flatten(0, 1), pr.flatten(0, 1))]
    err = torch.cat([e for e, _ in outs]).view(n, k)
    weight = torch.cat([w for _, w in outs]).view(n, k)
    return (err * weight).sum(1) / weight.sum(1)


def read_release(path: Path) -> dict[str, torch.Tensor]:
    """The state dict of a released ``PieAPPv0.1.pth`` (a plain state dict; ``module.``/``params`` tolerated)."""
    state = load_torch_state(path)
    if isinstance(state, dict) and isinstance(state.get("params"), dict):
        state = state["params"]
    if not isinstance(state, dict):
        raise WeightsError(f"{path}: not a PieAPP checkpoint (expected a state dict)")
    return {k.removeprefix("module."): v for k, v in state.items()}


def load_pieapp(weights: str | Path | None = None) -> PieAPPNet:
    """The released network with its weights, in eval mode.

    Args:
        weights: a checkpoint in the release's layout (e.g. one you fine-tuned), loaded as given; None:
            ``PieAPPv0.1-0937b014.pth`` through the weights manager (hash-verified; a clear error naming
            the file and ``iqa weights fetch pieapp`` when absent).
    """
    if weights is None:
        path = resolve_weights(WEIGHTS_ID)
    else:
        path = Path(weights)
        if not path.is_file():
            raise WeightsNotFoundError(f"{path}: no such PieAPP weights file")
    with torch.device("meta"):  # no random init of the 62M parameters the file replaces
        net = PieAPPNet()
    try:
        net.load_state_dict(read_release(path), strict=True, assign=True)
    except RuntimeError as e:
        raise WeightsError(f"{path}: not a PieAPP v0.1 checkpoint in the released layout ({e})") from e
    return net.to(memory_format=torch.channels_last).eval()  # the layout maps() runs in


def pieapp_for(weights: str | Path | None, model: PieAPPNet | None) -> PieAPPNet:
    """The network the metric runs: ``model`` when given, else the release loaded."""
    if model is None:
        return load_pieapp(weights)
    if not isinstance(model, PieAPPNet):
        raise InputError(f"pieapp: model must be an iqa.models.pieapp.PieAPPNet, got {type(model).__name__}")
    return model.eval()
