"""MUSIQ network: the released key layout and the release's tokenisation (pyiqa as the test-time reference)."""

from __future__ import annotations

import pytest
import torch

from iqa.models.musiq import MUSIQ, hashed_positions, multiscale_tokens, resize

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


# tf.image.resize(x, size, method=tf.image.ResizeMethod.GAUSSIAN) in TensorFlow 2.21.0 (tensorflow-cpu,
# run once outside the suite), the call of the authors' musiq/model/preprocessing.py, on
# x[i, j] = round(sin(1.3 i + 0.7 j), 4): a downsample (7x11 -> 4x6) and an upsample (5x3 -> 8x5).
TF_GAUSSIAN = {
    ((7, 11), (4, 6)): [
        [0.5226251, 0.6870207, -0.1321678, -0.7648788, -0.2767926, 0.5935819],
        [0.09941831, -0.7139665, -0.5163967, 0.4430493, 0.7474737, -0.008183688],
        [-0.624615, 0.2666828, 0.7906017, 0.1561563, -0.6997084, -0.5534316],
        [0.7419534, 0.3899185, -0.5281187, -0.6779455, 0.161721, 0.7587839],
    ],
    ((5, 3), (8, 5)): [
        [0.09242179, 0.2995816, 0.6270599, 0.8347917, 0.9351476],
        [0.441284, 0.5576829, 0.7221851, 0.7487886, 0.7421935],
        [0.818696, 0.7908939, 0.7053163, 0.4850699, 0.3371547],
        [0.5977356, 0.4359532, 0.1466457, -0.1706761, -0.3574447],
        [0.1197603, -0.06685527, -0.3720348, -0.6061976, -0.729472],
        [-0.5570022, -0.6562783, -0.7875379, -0.7684366, -0.7336032],
        [-0.7890727, -0.7365956, -0.612946, -0.372273, -0.2154212],
        [-0.8453375, -0.6868968, -0.3905523, -0.019651, 0.2052878],
    ],
}


@pytest.mark.parametrize(("size", "out"), list(TF_GAUSSIAN))
def test_gaussian_resize_is_tensorflows(size: tuple[int, int], out: tuple[int, int]) -> None:
    i, j = torch.meshgrid(torch.arange(size[0]), torch.arange(size[1]), indexing="ij")
    x = torch.round(torch.sin(1.3 * i + 0.7 * j).double() * 1e4) / 1e4
    # float32 in TF (weights and sums): measured 5e-7 here; 2e-6 covers the rounding of either side
    torch.testing.assert_close(
        resize(x[None, None], out, "gaussian")[0, 0],
        torch.tensor(TF_GAUSSIAN[(size, out)], dtype=torch.float64),
        atol=2e-6,
        rtol=0,
    )
    assert (
        resize(x[None, None], out, "bicubic") - resize(x[None, None], out, "gaussian")
    ).abs().max() > 0.05  # not pyiqa's
