"""MANIQA network: the released key layout, and its blocks against pyiqa's at the released sizes.

The released checkpoints are not offline. The layout test lists every key (and shape) of the
released files from the architecture (ViT-B/8 timm names, two TAB pairs, two Swin stages, two heads)
and checks both our network and pyiqa's against it, so ``load_state_dict(strict=True)`` takes the
released files. Built on the meta device: no 136M-parameter random init.
"""

from __future__ import annotations

import functools
from pathlib import Path

import pytest
import torch

from iqa.errors import WeightsError
from iqa.models.maniqa import MANIQA, SwinTransformer, TABlock, load_maniqa, read_release, release_config


def released_layout() -> dict[str, tuple[int, ...]]:
    """Every key of ckpt_koniq10k.pt / ckpt_kadid10k.pt / MANIQA_PIPAL-ae6d356b.pth with its shape
    (the architecture of IIGROUP/MANIQA models/maniqa.py with embed_dim 768, img_size 224, window 4,
    heads 4, dim_mlp 768, depths (2, 2); timm's vit_base_patch8_224 names)."""
    d, keys = 768, {}
    keys |= {"vit.cls_token": (1, 1, d), "vit.pos_embed": (1, 785, d), "vit.patch_embed.proj.weight": (d, 3, 8, 8),
             "vit.patch_embed.proj.bias": (d,), "vit.norm.weight": (d,), "vit.norm.bias": (d,),
             "vit.head.weight": (1000, d), "vit.head.bias": (1000,)}  # fmt: skip
    for i in range(12):
        b = f"vit.blocks.{i}."
        keys |= {b + "norm1.weight": (d,), b + "norm1.bias": (d,), b + "norm2.weight": (d,), b + "norm2.bias": (d,),
                 b + "attn.qkv.weight": (3 * d, d), b + "attn.qkv.bias": (3 * d,), b + "attn.proj.weight": (d, d),
                 b + "attn.proj.bias": (d,), b + "mlp.fc1.weight": (4 * d, d), b + "mlp.fc1.bias": (4 * d,),
                 b + "mlp.fc2.weight": (d, 4 * d), b + "mlp.fc2.bias": (d,)}  # fmt: skip
    for stage in (1, 2):
        for j in (0, 1):
            for m in ("c_q", "c_k", "c_v"):
                keys |= {f"tablock{stage}.{j}.{m}.weight": (784, 784), f"tablock{stage}.{j}.{m}.bias": (784,)}
    keys |= {
        "conv1.weight": (d, 4 * d, 1, 1),
        "conv1.bias": (d,),
        "conv2.weight": (d // 2, d, 1, 1),
        "conv2.bias": (d // 2,),
    }
    for stage, c in ((1, d), (2, d // 2)):
        s = f"swintransformer{stage}."
        keys |= {s + "downsample.weight": (c, c, 3, 3), s + "downsample.bias": (c,)}
        for layer in (0, 1):
            lay = f"{s}layers.{layer}."
            keys |= {lay + "conv.weight": (c, c, 3, 3), lay + "conv.bias": (c,)}
            for blk in (0, 1):
                b = f"{lay}blocks.{blk}."
                keys |= {b + "norm1.weight": (c,), b + "norm1.bias": (c,), b + "norm2.weight": (c,), b + "norm2.bias": (c,),
                         b + "attn.relative_position_bias_table": (49, 4), b + "attn.relative_position_index": (16, 16),
                         b + "attn.qkv.weight": (3 * c, c), b + "attn.qkv.bias": (3 * c,), b + "attn.proj.weight": (c, c),
                         b + "attn.proj.bias": (c,), b + "mlp.fc1.weight": (768, c), b + "mlp.fc1.bias": (768,),
                         b + "mlp.fc2.weight": (c, 768), b + "mlp.fc2.bias": (c,)}  # fmt: skip
            keys[f"{lay}blocks.1.attn_mask"] = (49, 16, 16)  # the shifted block's mask: 7x7 windows of 16 tokens
    for head in ("fc_score", "fc_weight"):
        keys |= {f"{head}.0.weight": (d // 2, d // 2), f"{head}.0.bias": (d // 2,), f"{head}.3.weight": (1, d // 2),
                 f"{head}.3.bias": (1,)}  # fmt: skip
    return keys


def _shapes(module: torch.nn.Module) -> dict[str, tuple[int, ...]]:
    return {k: tuple(v.shape) for k, v in module.state_dict().items()}


@functools.cache
def pyiqa_arch():  # noqa: ANN201
    return pytest.importorskip("pyiqa.archs.maniqa_arch")


def pyiqa_maniqa(monkeypatch: pytest.MonkeyPatch, **options: object) -> torch.nn.Module:
    """pyiqa's MANIQA with its ViT built on the meta device (pyiqa asks timm for pretrained weights:
    never downloaded; the caller assigns every tensor), the rest as pyiqa builds it."""
    import timm

    arch, real = pyiqa_arch(), timm.create_model

    def vit_on_meta(name: str, **kw: object) -> torch.nn.Module:
        with torch.device("meta"):
            return real(name, **{**kw, "pretrained": False})

    monkeypatch.setattr(timm, "create_model", vit_on_meta)
    return arch.MANIQA(pretrained=False, **options)


def test_key_layout_is_the_release() -> None:
    layout = released_layout()
    assert len(layout) == 316  # 152 ViT + 24 TAB + 4 conv + 2 x 64 Swin + 8 head tensors
    with torch.device("meta"):
        ours = MANIQA("pipal")
    assert _shapes(ours) == layout


def test_pyiqa_has_the_same_layout(monkeypatch: pytest.MonkeyPatch) -> None:
    assert _shapes(pyiqa_maniqa(monkeypatch, train_dataset="koniq", scale=0.8)) == released_layout()


def _random_state(module: torch.nn.Module, seed: int) -> dict[str, torch.Tensor]:
    """Seeded random floats in ``module``'s layout, its integer and mask buffers kept."""
    g = torch.Generator().manual_seed(seed)
    return {k: v if (not v.is_floating_point() or k.endswith("attn_mask")) else 0.1 * torch.randn(v.shape, generator=g)
            for k, v in module.state_dict().items()}  # fmt: skip


def test_swin_stage_matches_pyiqa() -> None:
    # released sizes (768 channels on the 28x28 token grid, window 4 with the shifted block's mask,
    # scale 0.8 as KonIQ/KADID); float32 rounding of a different op order (fused attention): 1e-4
    swin = pytest.importorskip("pyiqa.archs.maniqa_swin")
    torch.manual_seed(0)
    ref = swin.SwinTransformer(patches_resolution=(28, 28), depths=[2, 2], num_heads=[4, 4], embed_dim=768,
                               window_size=4, dim_mlp=768, scale=0.8).eval()  # fmt: skip
    ours = SwinTransformer(release_config("koniq"), 768).eval()
    state = _random_state(ref, 1)
    ref.load_state_dict(state)
    ours.load_state_dict(state)
    x = torch.randn(1, 768, 28, 28, generator=torch.Generator().manual_seed(2))
    with torch.no_grad():
        want, got = ref(x), ours(x)
    assert not torch.equal(want, x)  # the stage did something
    torch.testing.assert_close(got, want, atol=1e-4, rtol=1e-4)


def test_transposed_attention_matches_pyiqa() -> None:
    # TAB on (B, 3072 channels, 784 positions) at the released size, including the release's
    # transpose-then-reshape of the attention output; float32 (fused attention here): 1e-5
    torch.manual_seed(0)
    ref, ours = pyiqa_arch().TABlock(784).eval(), TABlock(784)
    ours.load_state_dict(ref.state_dict())
    x = torch.randn(1, 3072, 784, generator=torch.Generator().manual_seed(3))
    with torch.no_grad():
        torch.testing.assert_close(ours(x), ref(x), atol=1e-5, rtol=1e-5)


def test_release_files_are_read_as_released(tmp_path: Path) -> None:
    # the authors' DataParallel prefix and pyiqa's {"params": ...} wrapper are both read; a file of
    # another network is refused naming the release's file
    state = {"module.fc_score.0.weight": torch.ones(2, 2)}
    torch.save(state, tmp_path / "a.pt")
    torch.save({"params": {"fc_score.0.weight": torch.ones(2, 2)}}, tmp_path / "b.pt")
    assert list(read_release(str(tmp_path / "a.pt"))) == ["fc_score.0.weight"]
    assert list(read_release(str(tmp_path / "b.pt"))) == ["fc_score.0.weight"]
    with pytest.raises(WeightsError, match="does not fit the MANIQA network.*ckpt_kadid10k.pt"):
        load_maniqa("kadid", str(tmp_path / "a.pt"))
