"""PieAPP: the released key layout, parity with pyiqa end to end from image files, how piq differs, the grid.

The released ``PieAPPv0.1-0937b014.pth`` is not offline: the tests build one seeded random state dict
in its key layout (checked key by key below) and load it into this network and into the references.
"""

from __future__ import annotations

import functools
import io
from pathlib import Path

import numpy as np
import pytest
import torch
from PIL import Image

import iqa
from iqa.errors import WeightsError, WeightsNotFoundError
from iqa.io.images import read_image
from iqa.metrics.fr.pieapp import pieapp
from iqa.models.pieapp import PieAPPNet, load_pieapp, patch_corners
from tests.conftest import shared_path
from tests.helpers.random_weights import randomize

# Every key of the released file with its shape: the authors' model/PieAPPv0pt1_PT.py layers, as pyiqa's
# PieAPP (pyiqa/archs/pieapp_arch.py) loads PieAPPv0.1-0937b014.pth; ref_score_subtract.weight is (1,)
# in the file (piq's PieAPP unsqueezes it to load into nn.Linear(1, 1)).
_CONVS = [(3, 64), (64, 64), (64, 64), (64, 128), (128, 128), (128, 128),
          (128, 256), (256, 256), (256, 256), (256, 512), (512, 512)]  # fmt: skip
RELEASED = {
    **{k: v for i, (a, b) in enumerate(_CONVS, 1) for k, v in ((f"conv{i}.weight", (b, a, 3, 3)), (f"conv{i}.bias", (b,)))},
    "fc1_score.weight": (512, 120832), "fc1_score.bias": (512,),
    "fc2_score.weight": (1, 512), "fc2_score.bias": (1,),
    "fc1_weight.weight": (512, 2048), "fc1_weight.bias": (512,),
    "fc2_weight.weight": (1, 512), "fc2_weight.bias": (1,),
    "ref_score_subtract.weight": (1,), "ref_score_subtract.bias": (1,),
}  # fmt: skip


@functools.cache
def release_state(seed: int = 0) -> dict[str, torch.Tensor]:
    """A seeded random state dict in the released layout (cached: ~62M values), with positive patch weights.

    The last weight layer is made non-negative so the weighted mean is well conditioned (random signs
    can make the weights of an image sum to ~0, where any rounding is amplified); both sides get it.
    """
    with torch.device("meta"):  # shapes only: randomize draws every value
        shapes = PieAPPNet()
    state = randomize(shapes, seed)
    state["fc2_weight.weight"] = state["fc2_weight.weight"].abs()
    state["fc2_weight.bias"] = state["fc2_weight.bias"].abs()
    return state


def net_with(state: dict[str, torch.Tensor]) -> PieAPPNet:
    with torch.device("meta"):  # skip the random init the state replaces (~62M values)
        net = PieAPPNet()
    net.load_state_dict({k: v.clone() for k, v in state.items()}, strict=True, assign=True)
    return net.eval()


@functools.cache
def pyiqa_pieapp():  # noqa: ANN201
    """pyiqa's PieAPP metric (test-time reference) with :func:`release_state` loaded: nothing downloaded."""
    pyiqa = pytest.importorskip("pyiqa")
    ref = pyiqa.create_metric("pieapp", pretrained=False, device="cpu")
    ref.net.load_state_dict(release_state(), strict=True)
    return ref


def photo_files(folder: Path, size: tuple[int, int] = (100, 130)) -> tuple[Path, Path]:
    """A crop of a real photo (Set5 woman) and a JPEG-degraded copy, both PNG: (distorted, reference)."""
    src = np.asarray(Image.open(shared_path("data", "images", "Set5") / "woman_GT.bmp").convert("RGB"))
    h, w = size
    folder.mkdir(parents=True, exist_ok=True)
    ref = Image.fromarray(src[60 : 60 + h, 50 : 50 + w])
    buf = io.BytesIO()
    ref.save(buf, "JPEG", quality=20)
    ref.save(folder / "ref.png")
    Image.open(buf).convert("RGB").save(folder / "dist.png")
    return folder / "dist.png", folder / "ref.png"


def test_every_released_key_and_shape() -> None:
    ours = PieAPPNet().state_dict()
    assert {k: tuple(v.shape) for k, v in ours.items()} == RELEASED and len(ours) == 32
    arch = pytest.importorskip("pyiqa.archs.pieapp_arch")  # the layout pyiqa loads the released file into
    ref = arch.PieAPP(pretrained=False).state_dict()
    assert list(ours) == list(ref)  # the file's order too
    assert {k: v.shape for k, v in ours.items()} == {k: v.shape for k, v in ref.items()}


@torch.no_grad()
@pytest.mark.parametrize(("sampling", "stride", "size"), [("sparse", 27, (100, 130)), ("dense", 6, (70, 76))])
def test_parity_with_pyiqa_from_image_files(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, sampling: str, stride: int, size: tuple[int, int]
) -> None:
    # Reference: pyiqa 0.1.16's PieAPP with the same random state dict and the same stride; each side reads
    # the same PNG files (a JPEG-degraded crop of a photo and the crop). 100x130 at stride 27: corners
    # rows {0, 27}, columns {0, 27, 54} (the last 9 rows and 12 columns in no patch, in both);
    # 70x76 at stride 6 (the authors' dense mode): 2 x 3 patches, small to stay cheap.
    state, ref = release_state(), pyiqa_pieapp()
    monkeypatch.setattr(ref.net, "stride", stride)  # pyiqa's PieAPP(stride=...) reads this attribute per call
    dist, clean = photo_files(tmp_path, size)
    expected = torch.cat([ref(str(dist), str(clean)).flatten(), ref(str(clean), str(dist)).flatten()])
    m = iqa.create("pieapp", model=net_with(state), sampling=sampling)
    x, y = read_image(dist)[None], read_image(clean)[None]
    ours = m(torch.cat([x, y]), torch.cat([y, x]))
    # the same float32 operations (ours runs image and reference patches in one call, pyiqa in two);
    # measured <= 1e-8 on these scores (~0.05); 1e-5 leaves room across BLAS builds
    torch.testing.assert_close(ours, expected.float(), atol=1e-5, rtol=0)
    assert (ours[0] - ours[1]).abs() > 1e-4  # swapping image and reference changes the score: the check can fail
    torch.testing.assert_close(m(x, y), ours[:1], atol=1e-6, rtol=0)  # a score never depends on the batch


@torch.no_grad()
def test_piq_is_this_metric_with_red_and_blue_swapped(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    # Reference: piq 0.8's PieAPP (Apache-2.0) with the same state dict handed to it instead of its download.
    # It samples the same grid (unfold, stride 27) but feeds RGB to the BGR-trained network, so its score
    # equals ours once conv1's input planes are reversed, and differs with the weights as given.
    piq = pytest.importorskip("piq")
    state = release_state()
    monkeypatch.setattr(torch.hub, "load_state_dict_from_url", lambda *a, **k: dict(state))
    theirs = piq.PieAPP(reduction="none", stride=27)
    dist, clean = photo_files(tmp_path)
    x, y = read_image(dist)[None], read_image(clean)[None]
    swapped = dict(state, **{"conv1.weight": state["conv1.weight"].flip(1)})
    got = theirs(x, y)
    torch.testing.assert_close(pieapp(x, y, model=net_with(swapped)), got, atol=1e-5, rtol=0)  # measured ~1e-8
    assert (pieapp(x, y, model=net_with(state)) - got).abs().item() > 1e-4


def _small_net() -> PieAPPNet:
    torch.manual_seed(0)
    net = PieAPPNet(width=4, hidden=8).eval()  # the released layers at a reduced width: the grid, not the values
    with torch.no_grad():
        net.fc2_weight.bias.fill_(1.0), net.fc2_weight.weight.abs_()
    return net


@torch.no_grad()
def test_the_grid_leaves_the_border_remainder_out(photo: torch.Tensor) -> None:
    # 100 px at stride 27: corners 0 and 27 (the authors' sub-image tiling, pyiqa's and piq's unfold), so
    # rows 91..99 are in no patch: changing them leaves the score unchanged, changing row 90 does not.
    assert list(patch_corners(100, 27)) == [0, 27] and list(patch_corners(64, 27)) == [0]
    assert list(patch_corners(70, 6)) == [0, 6]
    net, ref = _small_net(), photo[..., 100:200, 100:230]
    img = (ref + 0.05 * torch.randn(ref.shape, generator=torch.Generator().manual_seed(1))).clamp(0, 1)
    base = pieapp(img, ref, model=net)
    border, inside = img.clone(), img.clone()
    border[..., 91:, :] = 0
    inside[..., 90, :] = 0
    assert torch.equal(pieapp(border, ref, model=net), base)
    assert (pieapp(inside, ref, model=net) - base).abs() > 1e-6


@torch.no_grad()
def test_identical_images_score_the_heads_at_zero_difference(photo: torch.Tensor) -> None:
    # a zero feature difference gives every patch the same error: the heads' intercept, whatever the image
    net = _small_net()
    a, b = photo[..., :96, :96], photo[..., 200:296, 300:396]
    out = pieapp(torch.cat([a, b]), torch.cat([a, b]), model=net)
    torch.testing.assert_close(out, torch.full((2,), net.identity_error()), atol=1e-6, rtol=0)


def test_gradients_reach_the_image_through_the_layers(photo: torch.Tensor) -> None:
    # the registry contract's gradient check runs a stand-in without convolutions: this one runs the layers
    # (in-place ReLUs after the convolutions, channels-last) at a reduced width
    ref = photo[..., :64, :91]
    img = (0.9 * ref + 0.05).requires_grad_(True)
    pieapp(img, ref, model=_small_net()).sum().backward()
    assert img.grad is not None and torch.isfinite(img.grad).all() and img.grad.abs().sum() > 0


def test_absent_release_names_the_file_and_the_fetch_command() -> None:
    with pytest.raises(WeightsNotFoundError, match=r"PieAPPv0\.1-0937b014\.pth.*iqa weights fetch pieapp"):
        iqa.create("pieapp")  # the tests run offline with an empty cache


def test_a_file_in_another_layout_is_refused(tmp_path: Path) -> None:
    f = tmp_path / "other.pth"
    torch.save({"conv1.weight": torch.zeros(64, 3, 3, 3)}, f)
    with pytest.raises(WeightsError, match="not a PieAPP v0.1 checkpoint in the released layout"):
        load_pieapp(f)
    with pytest.raises(WeightsNotFoundError, match="no such PieAPP weights file"):
        load_pieapp(tmp_path / "absent.pth")
