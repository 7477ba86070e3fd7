"""TOPIQ network: the released key layout (against pyiqa's CFANet), the checkpoint wrapper, the resize.

The released ``cfanet_*.pth`` files are not offline: the layout test compares every key and shape
with pyiqa's CFANet built with the release's settings and no download, so a released file loads
with ``strict=True``. The helpers here are shared by the metric tests (tests/metrics/*/test_topiq_*.py).
"""

from __future__ import annotations

import contextlib
import functools
import io
from collections.abc import Iterator
from pathlib import Path

import numpy as np
import pytest
import torch
from PIL import Image

from iqa.errors import InputError, WeightsError, WeightsNotFoundError
from iqa.models.topiq import CONFIGS, MEAN, STD, TopIQ, load_topiq, preprocess, resize_short_side
from tests.conftest import shared_path
from tests.helpers.random_weights import randomize

# pyiqa's settings (pyiqa/default_model_configs.py) of each variant family: NR, FR, IAA (ResNet-50, Swin-B)
IAA = {"use_ref": False, "inter_dim": 512, "num_heads": 8, "num_class": 10}
PYIQA_ARGS = {
    "nr_koniq": {"use_ref": False},
    "fr_kadid": {"use_ref": True},
    "iaa_ava_res50": IAA,
    "iaa_ava_swin": {
        **IAA,
        "semantic_model_name": "swin_base_patch4_window12_384",
        "model_name": "cfanet_iaa_ava_swin",
    },
}


@functools.cache
def release_state(variant: str, seed: int = 0) -> dict[str, torch.Tensor]:
    """A seeded random state dict in the released layout of ``variant`` (cached: the trunks are large).

    The Swin release's ``attn_mask`` buffers (shifted-window masks, 0 / -100) are saved as computed,
    not random: a released file holds exactly those values.
    """
    net = TopIQ(variant)  # type: ignore[arg-type]
    built = net.state_dict()
    return {k: built[k] if k.endswith("attn_mask") else v for k, v in randomize(net, seed).items()}


@contextlib.contextmanager
def swin_without_download() -> Iterator[None]:
    """pyiqa's CFANet builds its Swin trunk with ``pretrained=True`` unconditionally: force False (no download)."""
    arch = pytest.importorskip("pyiqa.archs.topiq_arch")
    real = arch.create_swin
    arch.create_swin = lambda name, **kw: real(name, **{**kw, "pretrained": False})
    try:
        yield
    finally:
        arch.create_swin = real


def net_with(variant: str, state: dict[str, torch.Tensor]) -> TopIQ:
    net = TopIQ(variant)  # type: ignore[arg-type]
    net.load_state_dict(state, strict=True)
    return net.eval()


def pyiqa_metric(name: str, state: dict[str, torch.Tensor]):  # noqa: ANN201
    """pyiqa's metric ``name`` (test-time reference) with ``state`` loaded: nothing downloaded."""
    pyiqa = pytest.importorskip("pyiqa")
    with swin_without_download():
        m = pyiqa.create_metric(name, pretrained=False, backbone_pretrain=False, device="cpu")
    m.net.load_state_dict(state, strict=True)
    return m


def photo_files(folder: Path, size: tuple[int, int] = (96, 128)) -> tuple[Path, Path]:
    """A crop of a real photo (Set5 woman) and a JPEG-degraded copy, both saved as PNG: (distorted, reference)."""
    src = np.asarray(Image.open(shared_path("data", "images", "Set5") / "woman_GT.bmp").convert("RGB"))
    h, w = size
    folder.mkdir(parents=True, exist_ok=True)
    ref = Image.fromarray(src[60 : 60 + h, 50 : 50 + w])
    buf = io.BytesIO()
    ref.save(buf, "JPEG", quality=20)
    ref.save(folder / "ref.png")
    Image.open(buf).convert("RGB").save(folder / "dist.png")
    return folder / "dist.png", folder / "ref.png"


@pytest.mark.parametrize("variant", list(PYIQA_ARGS))
def test_every_released_key_and_shape(variant: str) -> None:
    # Reference: pyiqa's CFANet with the release's settings (its state dict is what the released files hold
    # under "params"); no download (pretrained=False, backbone_pretrain=False, the Swin trunk's forced off).
    # Ours: the state dict of TopIQ(variant) as release_state returns it (same keys and shapes; cached).
    arch = pytest.importorskip("pyiqa.archs.topiq_arch")
    with swin_without_download():
        ref = arch.CFANet(pretrained=False, backbone_pretrain=False, **PYIQA_ARGS[variant]).state_dict()
    ours = release_state(variant)
    assert list(ours) == list(ref)  # every key, in the file's order
    assert {k: v.shape for k, v in ours.items()} == {k: v.shape for k, v in ref.items()}
    assert {k: v.dtype for k, v in ours.items()} == {k: v.dtype for k, v in ref.items()}
    # counted on pyiqa 0.1.16; the Swin file's 530 include 24 relative_position_index and 11 attn_mask buffers
    assert len(ours) == {"nr_koniq": 524, "fr_kadid": 514, "iaa_ava_res50": 524, "iaa_ava_swin": 530}[variant]
    if variant == "iaa_ava_swin":  # the saved buffers hold what pyiqa's Swin computes for 384 x 384
        buffers = [k for k in ref if k.endswith(("attn_mask", "relative_position_index"))]
        assert len(buffers) == 35 and all(torch.equal(ours[k], ref[k]) for k in buffers)


def test_variants_differ_only_where_the_release_does() -> None:
    # koniq/spaq (and kadid/pipal) share a network; flive and the aesthetics model resize the shorter side to 384
    assert CONFIGS["nr_koniq"] == CONFIGS["nr_spaq"].__class__("cfanet_nr_koniq_res50")
    assert [v for v, c in CONFIGS.items() if c.short_side == 384] == ["nr_flive", "iaa_ava_res50"]
    assert [v for v, c in CONFIGS.items() if c.use_ref] == ["fr_kadid", "fr_pipal"]
    # only the Swin release has another trunk, and resizes to a 384 x 384 square (its trunk's only size)
    assert [(v, c.trunk, c.square_side) for v, c in CONFIGS.items() if c.trunk != "resnet50"] == [
        ("iaa_ava_swin", "swin_b", 384)
    ]


def test_released_checkpoint_wrapper_loads_strictly(tmp_path: Path) -> None:
    # the release is {"params": state_dict}; a DataParallel "module." prefix is dropped as pyiqa's loader does
    state = release_state("nr_koniq")
    f = tmp_path / "mine.pth"
    torch.save({"params": {f"module.{k}": v for k, v in state.items()}}, f)
    net = load_topiq("nr_koniq", f)
    assert all(torch.equal(net.state_dict()[k], v) for k, v in state.items())
    with pytest.raises(WeightsError, match="not a TOPIQ fr_kadid checkpoint in the released layout"):
        load_topiq("fr_kadid", f)  # an NR file for the FR network: refused, never partly loaded
    with pytest.raises(WeightsNotFoundError, match="no such TOPIQ weights file"):
        load_topiq("nr_koniq", tmp_path / "absent.pth")
    with pytest.raises(InputError, match="variant must be one of"):
        TopIQ("koniq")  # type: ignore[arg-type]


def test_missing_release_names_the_file() -> None:
    # offline (conftest sets IQA_OFFLINE): the weights manager's error names the released file
    with pytest.raises(WeightsNotFoundError, match="cfanet_fr_pipal_res50-69bbe5ba.pth"):
        load_topiq("fr_pipal")


def test_short_side_resize_is_torchvisions() -> None:
    # Reference: torchvision's resize(x, 384, antialias=True), what the release applies at test time
    # (the longer side truncated: 96x130 -> 384x520); the same kernel, so within float32 rounding.
    tf = pytest.importorskip("torchvision.transforms.functional")
    x = torch.rand(1, 3, 96, 130, generator=torch.Generator().manual_seed(0))
    for img in (x, x.transpose(-1, -2), torch.rand(1, 3, 500, 700)):
        want = tf.resize(img, 384, antialias=True)
        got = resize_short_side(img, 384)
        assert got.shape == want.shape
        torch.testing.assert_close(got, want, atol=1e-6, rtol=0)


def test_square_resize_is_torchvisions() -> None:
    # Reference: torchvision's resize(x, [384, 384], antialias=True), what the Swin release applies at test time
    # (any aspect ratio, up or down); then ImageNet mean/std as for every variant.
    tf = pytest.importorskip("torchvision.transforms.functional")
    cfg = CONFIGS["iaa_ava_swin"]
    mean, std = torch.tensor(MEAN).view(1, 3, 1, 1), torch.tensor(STD).view(1, 3, 1, 1)
    for shape in ((1, 3, 96, 130), (2, 3, 500, 420), (1, 3, 384, 384)):
        img = torch.rand(shape, generator=torch.Generator().manual_seed(0))
        want = (tf.resize(img, [384, 384], antialias=True) - mean) / std
        torch.testing.assert_close(preprocess(img, cfg), want, atol=1e-5, rtol=0)
