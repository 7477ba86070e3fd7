"""DINOv2 backbones: the released key layout, and the same outputs as the reference architecture.

Reference: timm 1.0.31 ``vit_{small,base,large}_patch14_dinov2``, fed our random state dict in the
released layout through timm's own ``checkpoint_filter_fn`` (which reads DINOv2 files). timm
resizes position embeddings differently from the hub code (``size=`` with antialiasing, where the
hub uses ``scale_factor=(h0 + 0.1) / 37`` without), so timm is built on the target grid and given
the embedding resized by :func:`hub_resize`, a transcription of the hub's
``interpolate_pos_encoding`` (facebookresearch/dinov2 ``dinov2/models/vision_transformer.py`` at
b8931f7; every release computes the same numbers). At 518 px no resizing happens and timm is
compared as is.

One-off check (not in the suite: it needs the hub code, which is not installable offline): the
hub's ``dinov2_vit{s,b,l}14(pretrained=False)`` from a mirror of facebookresearch/dinov2 (b8931f7,
``XFORMERS_DISABLED=1``), given a seeded random state dict, matched ``DinoV2`` exactly (max abs
difference 0.0) at 224x224, 518x518, 98x168 and 126x70, and ``dinov2_vitg14`` (same key order,
``mlp.w12`` (8192, 1536), ``mlp.w3`` (1536, 4096)) at 224x224 and 98x168, also 0.0.
"""

from __future__ import annotations

import pytest
import torch
import torch.nn.functional as F

from iqa.errors import InputError
from iqa.features.dinov2_vit import CONFIGS, DinoV2, interpolate_pos_embed

timm = pytest.importorskip("timm")
from timm.models.vision_transformer import checkpoint_filter_fn  # noqa: E402

TIMM = {"vits14": "vit_small_patch14_dinov2", "vitb14": "vit_base_patch14_dinov2", "vitl14": "vit_large_patch14_dinov2"}


def released_keys(dim: int, depth: int, hidden: int, swiglu: bool) -> dict[str, tuple[int, ...]]:
    """Every key of ``dinov2_vit*14_pretrain.pth`` with its shape, written out from the release."""
    keys: dict[str, tuple[int, ...]] = {
        "cls_token": (1, 1, dim),
        "pos_embed": (1, 1 + 37 * 37, dim),  # the 518-px training grid
        "mask_token": (1, dim),
        "patch_embed.proj.weight": (dim, 3, 14, 14),
        "patch_embed.proj.bias": (dim,),
    }
    ffn = (
        {"mlp.w12.weight": (2 * hidden, dim), "mlp.w12.bias": (2 * hidden,), "mlp.w3.weight": (dim, hidden)}
        if swiglu
        else {"mlp.fc1.weight": (hidden, dim), "mlp.fc1.bias": (hidden,), "mlp.fc2.weight": (dim, hidden)}
    )
    for i in range(depth):
        block = {
            "norm1.weight": (dim,),
            "norm1.bias": (dim,),
            "attn.qkv.weight": (3 * dim, dim),
            "attn.qkv.bias": (3 * dim,),
            "attn.proj.weight": (dim, dim),
            "attn.proj.bias": (dim,),
            "ls1.gamma": (dim,),
            "norm2.weight": (dim,),
            "norm2.bias": (dim,),
            **ffn,
            ("mlp.w3.bias" if swiglu else "mlp.fc2.bias"): (dim,),
            "ls2.gamma": (dim,),
        }
        keys.update({f"blocks.{i}.{k}": v for k, v in block.items()})
    return keys | {"norm.weight": (dim,), "norm.bias": (dim,)}


# (dim, depth, FFN hidden width, SwiGLU) as released; ViT-g's 4096 = SwiGLUFFNFused's
# (int(6144 * 2 / 3) + 7) // 8 * 8, so its mlp.w12 is (8192, 1536) as in the released file.
RELEASED = {
    "vits14": (384, 12, 1536, False),
    "vitb14": (768, 12, 3072, False),
    "vitl14": (1024, 24, 4096, False),
    "vitg14": (1536, 40, 4096, True),
}


@pytest.mark.parametrize("arch", sorted(RELEASED))
def test_state_dict_is_the_released_layout(arch: str) -> None:
    with torch.device("meta"):  # shapes only: ViT-g has 1.1 billion parameters
        model = DinoV2(arch)
    got = {k: tuple(v.shape) for k, v in model.state_dict().items()}
    want = released_keys(*RELEASED[arch])
    assert list(got) == list(want)  # same names, same order as the file
    assert got == want
    assert CONFIGS[arch].dim == RELEASED[arch][0]


def test_vitg_maps_onto_timms_giant_through_its_converter() -> None:
    """ViT-g's released layout converts into timm's vit_giant_patch14_dinov2 key for key (shapes only)."""
    with torch.device("meta"):
        ours = DinoV2("vitg14")
        ref = timm.create_model("vit_giant_patch14_dinov2", pretrained=False, num_classes=0)
    converted = checkpoint_filter_fn(dict(ours.state_dict()), ref)
    assert {k: tuple(v.shape) for k, v in converted.items()} == {k: tuple(v.shape) for k, v in ref.state_dict().items()}


def random_release(arch: str, seed: int = 0) -> dict[str, torch.Tensor]:
    """A seeded random state dict in the released layout (LayerNorm scales near 1, small weights)."""
    g = torch.Generator().manual_seed(seed)
    out = {}
    for k, shape in released_keys(*RELEASED[arch]).items():
        v = torch.randn(shape, generator=g) * (0.02 if len(shape) > 1 else 0.1)
        out[k] = v + 1 if k.endswith(("norm1.weight", "norm2.weight", "norm.weight")) else v
    return out


def hub_resize(pos_embed: torch.Tensor, h: int, w: int) -> torch.Tensor:
    """Transcription of the hub's interpolate_pos_encoding (b8931f7) for an h x w input."""
    m, dim = 37, pos_embed.shape[-1]
    w0, h0 = h // 14, w // 14  # the hub unpacks (B, nc, w, h) = x.shape: its "w" is the height
    sx, sy = float(w0 + 0.1) / m, float(h0 + 0.1) / m
    patch = F.interpolate(
        pos_embed[:, 1:].reshape(1, m, m, dim).permute(0, 3, 1, 2),
        mode="bicubic",
        antialias=False,
        scale_factor=(sx, sy),
    )
    assert patch.shape[-2:] == (w0, h0)
    return torch.cat((pos_embed[:, :1], patch.permute(0, 2, 3, 1).view(1, -1, dim)), dim=1)


def timm_reference(arch: str, state: dict[str, torch.Tensor], h: int, w: int) -> torch.nn.Module:
    """timm's DINOv2 ViT on an h x w grid, loaded by its checkpoint filter (pos_embed resized as the hub)."""
    with torch.device("meta"):  # no random init: every tensor comes from ``state``
        ref = timm.create_model(TIMM[arch], pretrained=False, num_classes=0, img_size=(h, w))
    state = dict(state)
    if (h, w) != (518, 518):
        state["pos_embed"] = hub_resize(state["pos_embed"], h, w)
    ref.load_state_dict(checkpoint_filter_fn(state, ref), strict=True, assign=True)
    return ref.eval()


def ours_with(arch: str, state: dict[str, torch.Tensor]) -> DinoV2:
    with torch.device("meta"):
        model = DinoV2(arch)
    model.load_state_dict(state, strict=True, assign=True)
    return model.eval()


# Tolerance: the same float32 operations on the same weights; measured max abs difference 0.0 (S at
# 518 and 98x168, B and L at 224; CLS features of magnitude ~4); 1e-5 leaves room for other CPU
# kernels or thread counts changing summation order.
ATOL = 1e-5


def test_vits_matches_timm_at_the_training_grid_and_a_non_square_size() -> None:
    state = random_release("vits14")
    ours = ours_with("vits14", state)
    g = torch.Generator().manual_seed(1)
    for h, w in ((518, 518), (98, 168)):  # 224x224: the ViT-B/L test and tests/features/test_dinov2.py
        x = torch.randn(1, 3, h, w, generator=g)
        with torch.no_grad():
            a, b = ours(x), timm_reference("vits14", state, h, w)(x)
        assert a.shape == (1, 384)
        assert torch.allclose(a, b, rtol=0, atol=ATOL), (h, w, (a - b).abs().max())


@pytest.mark.parametrize("arch", ["vitb14", "vitl14"])
def test_vitb_and_vitl_match_timm_at_224(arch: str) -> None:
    state = random_release(arch)
    x = torch.randn(1, 3, 224, 224, generator=torch.Generator().manual_seed(2))
    with torch.no_grad():
        a = ours_with(arch, state)(x)
        b = timm_reference(arch, state, 224, 224)(x)
    assert a.shape == (1, RELEASED[arch][0])
    assert torch.allclose(a, b, rtol=0, atol=ATOL), (a - b).abs().max()


def test_pos_embed_resize_is_the_hubs_not_timms() -> None:
    """The +0.1 scale-factor offset and the absence of antialiasing both change the embedding."""
    pos = torch.randn(1, 1 + 37 * 37, 8, generator=torch.Generator().manual_seed(3))
    ours = interpolate_pos_embed(pos, 224, 98)
    assert ours.shape == (1, 1 + 16 * 7, 8)
    assert torch.equal(ours, hub_resize(pos, 224, 98))
    patch = pos[:, 1:].reshape(1, 37, 37, 8).permute(0, 3, 1, 2)
    by_size = F.interpolate(patch, size=(16, 7), mode="bicubic", antialias=False).permute(0, 2, 3, 1).reshape(1, -1, 8)
    timm_like = F.interpolate(patch, size=(16, 7), mode="bicubic", antialias=True).permute(0, 2, 3, 1).reshape(1, -1, 8)
    assert (ours[:, 1:] - by_size).abs().max() > 1e-2
    assert (ours[:, 1:] - timm_like).abs().max() > 1e-1
    assert interpolate_pos_embed(pos, 518, 518) is pos  # the training grid is used as is


def test_refuses_sizes_that_are_not_whole_patches() -> None:
    with torch.device("meta"):
        model = DinoV2("vits14")
    with pytest.raises(InputError, match="multiples of 14"):
        model(torch.zeros(1, 3, 224, 230, device="meta"))
    with pytest.raises(InputError, match="vitl14"):
        DinoV2("vith14")
