"""MUSIQ network: the released key layout and the release's tokenisation (pyiqa as the test-time reference)."""

from __future__ import annotations

import pytest
import torch

from iqa.models.musiq import MUSIQ, hashed_positions, multiscale_tokens

pyiqa_musiq = pytest.importorskip("pyiqa.archs.musiq_arch")
pyiqa_tokens = pytest.importorskip("pyiqa.data.multiscale_trans_util")

# Every key of the converted release (pyiqa's MUSIQ with the released sizes; the 14 encoder blocks
# repeat the block-0 keys). The files pyiqa downloads load strictly into this layout.
STEM_AND_EMBEDDING = {
    "conv_root.weight": (64, 3, 7, 7),
    "gn_root.weight": (64,),
    "gn_root.bias": (64,),
    "block1.conv1.weight": (64, 64, 1, 1),
    "block1.gn1.weight": (64,),
    "block1.gn1.bias": (64,),
    "block1.conv2.weight": (64, 64, 3, 3),
    "block1.gn2.weight": (64,),
    "block1.gn2.bias": (64,),
    "block1.conv3.weight": (256, 64, 1, 1),
    "block1.gn3.weight": (256,),
    "block1.gn3.bias": (256,),
    "block1.conv_proj.weight": (256, 64, 1, 1),
    "block1.gn_proj.weight": (256,),
    "block1.gn_proj.bias": (256,),
    "embedding.weight": (384, 16384),
    "embedding.bias": (384,),
    "transformer_encoder.cls": (1, 1, 384),
    "transformer_encoder.posembed_input.position_emb": (1, 100, 384),
    "transformer_encoder.scaleembed_input.scale_emb": (3, 384),
    "transformer_encoder.encoder_norm.weight": (384,),
    "transformer_encoder.encoder_norm.bias": (384,),
}
BLOCK = {
    "norm1.weight": (384,),
    "norm1.bias": (384,),
    **{
        f"attention.{p}.{t}": (384, 384) if t == "weight" else (384,)
        for p in ("query", "key", "value", "out")
        for t in ("weight", "bias")
    },  # fmt: skip
    "norm2.weight": (384,),
    "norm2.bias": (384,),
    "mlp.fc1.weight": (1152, 384),
    "mlp.fc1.bias": (1152,),
    "mlp.fc2.weight": (384, 1152),
    "mlp.fc2.bias": (384,),
}
HEADS = {
    "koniq": {"head.weight": (1, 384), "head.bias": (1,)},
    "ava": {"head.0.weight": (10, 384), "head.0.bias": (10,)},
}


def released_keys(variant: str) -> dict[str, tuple[int, ...]]:
    blocks = {f"transformer_encoder.transformer.encoderblock_{i}.{k}": s for i in range(14) for k, s in BLOCK.items()}
    return {**STEM_AND_EMBEDDING, **blocks, **HEADS[variant]}


@pytest.mark.parametrize(("variant", "num_class"), [("koniq", 1), ("ava", 10)])
def test_key_layout_is_the_release(variant: str, num_class: int) -> None:
    # koniq stands for the three one-output heads (spaq, paq2piq: the same layout, other values)
    with torch.device("meta"):  # shapes only: no 27M-parameter initialisation
        ours = {k: tuple(v.shape) for k, v in MUSIQ(variant).state_dict().items()}  # type: ignore[arg-type]
        ref_net = pyiqa_musiq.MUSIQ(pretrained=False, num_class=num_class)
    ref = {k: tuple(v.shape) for k, v in ref_net.state_dict().items()}
    assert ours == released_keys(variant) == ref
    assert len(ours) == 248  # the count in the manifest's notes


def test_hashed_positions_are_the_release() -> None:
    # pyiqa's port of the release's nearest-neighbour hash, for grids smaller and larger than 10x10
    for rows in range(1, 33):
        for cols in (1, 2, 7, 10, 12, 31):
            ref = pyiqa_tokens.get_hashed_spatial_pos_emb_index(10, rows, cols).long().flatten()
            assert torch.equal(hashed_positions(rows, cols), ref), (rows, cols)


@pytest.mark.parametrize(("size", "max_original"), [((64, 96), -1), ((100, 37), -1), ((70, 70), 2), ((64, 96), 0)])
def test_tokens_are_the_released_ones_without_padding(size: tuple[int, int], max_original: int) -> None:
    # pyiqa pads each resized scale to ceil(L/32)^2 tokens with mask 0; ours are its mask-1 tokens, in order
    x = torch.rand(2, 3, *size, generator=torch.Generator().manual_seed(0)) * 2 - 1
    ref = pyiqa_tokens.get_multiscale_patches(x, max_seq_len_from_original_res=max_original)
    assert (ref[:, :, -1] == ref[:1, :, -1]).all()  # the same mask for every image of the batch
    kept = ref[0, :, -1].bool()
    ours = multiscale_tokens(x, max_original_patches=max_original)
    assert torch.equal(ours.patches.flatten(2), ref[:, kept, :-3])  # same bicubic, padding and order: exact
    assert torch.equal(ours.spatial, ref[0, kept, -3].long())
    assert torch.equal(ours.scale, ref[0, kept, -2].long())


def test_released_sizes_are_the_default_and_smaller_ones_only_on_request() -> None:
    small = MUSIQ("spaq", hidden=64, mlp_dim=128, heads=2, layers=2, stem_width=32)
    assert small.embedding.weight.shape == (64, 128 * 64) and len(small.transformer_encoder.transformer) == 2
    with pytest.raises(ValueError, match="unknown variant"):
        MUSIQ("koniq10k")  # type: ignore[arg-type]
