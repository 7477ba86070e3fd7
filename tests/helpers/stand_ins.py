"""Builders for the :data:`iqa.registry.StandIn` kinds a metric's ``spec.offline`` names.

Each builder takes the metric's spec and the options the test passes, and returns what the named
constructor option takes. Random networks are seeded, so every build of a stand-in is the same
network; they check plumbing, never published numbers.
"""

from __future__ import annotations

import copy
import functools
from collections.abc import Callable
from typing import get_args

import torch

import iqa
from iqa.registry import MetricSpec, StandIn


def _alexnet_trunk(spec: MetricSpec, options: dict[str, object]) -> object:
    import torchvision

    from iqa.features.imagenet_trunks import StagedTrunk
    from tests.helpers.random_weights import randomize

    return StagedTrunk("alex", randomize(torchvision.models.alexnet(weights=None), 0))


def _vgg16_dists_trunk(spec: MetricSpec, options: dict[str, object]) -> object:
    import torchvision

    from iqa.models.dists import DISTSTrunk
    from tests.helpers.random_weights import randomize

    return DISTSTrunk(randomize(torchvision.models.vgg16(weights=None), 0))


def _tanet(spec: MetricSpec, options: dict[str, object]) -> object:
    from iqa.models.tanet import TANet

    torch.manual_seed(0)
    # random weights trained in no mode: per_image unless a test asks for compat (the metric runs the model's mode)
    mode = options.get("mode") or "per_image"
    return TANet(variant=str(options.get("variant", "tad66k")), mode=str(mode))


def _contrique_encoder(spec: MetricSpec, options: dict[str, object]) -> object:
    from tests.helpers.quality_heads import fitted

    return fitted(spec.kind == "fr", spec.higher_is_better)[0]


def _quality_head(spec: MetricSpec, options: dict[str, object]) -> object:
    from tests.helpers.quality_heads import fitted

    return fitted(spec.kind == "fr", spec.higher_is_better)[1]


@functools.cache
def _arniqa_on_noise(dmos: bool) -> object:
    """ARNIQA plumbing with a small seeded conv trunk in place of the ResNet-50 (the contract runs it
    ~100 times; parity tests use the released architecture); regressor fitted to noise levels."""
    from torch import nn

    from iqa.models.arniqa import ARNIQANet, Encoder, half_scale, normalise
    from tests.helpers.distort import noisy
    from tests.helpers.quality_heads import LEVELS, _photos

    torch.manual_seed(0)
    trunk = nn.Sequential(
        nn.Conv2d(3, 16, 3, 2), nn.ReLU(), nn.Conv2d(16, 32, 3, 2), nn.ReLU(), nn.AdaptiveAvgPool2d(1)
    )
    net, x = ARNIQANet(encoder=Encoder(trunk, feat_dim=32)).eval().requires_grad_(False), _photos()
    with torch.no_grad():
        f = torch.cat([net.features(normalise(y), normalise(half_scale(y))) for y in (noisy(x, s) for s in LEVELS)])
    target = torch.tensor(LEVELS).repeat_interleave(len(x)).double() * (1 if dmos else -1)
    a = torch.cat([f.double(), torch.ones(len(f), 1, dtype=torch.float64)], 1)
    w = a.T @ torch.linalg.solve(a @ a.T + 1e-3 * torch.eye(len(a), dtype=torch.float64), target)  # dual ridge
    net.regressor.load_state_dict({"weights": w[None, :-1].float(), "biases": w[-1].float()})
    return net


def _arniqa(spec: MetricSpec, options: dict[str, object]) -> object:
    from iqa.models.arniqa import LABELS, ARNIQANet

    dataset = iqa.registry.get_metric_class(spec.name).dataset  # type: ignore[attr-defined]
    net = copy.deepcopy(_arniqa_on_noise(LABELS[dataset].dmos))
    assert isinstance(net, ARNIQANet)
    net.dataset = dataset
    return net


def _fit_to_noise(features: Callable[[torch.Tensor], torch.Tensor]) -> tuple[torch.Tensor, torch.Tensor]:
    """Dual ridge from ``features`` of noisy copies of the photos to -noise level: (weights (D,), bias)."""
    from tests.helpers.distort import noisy
    from tests.helpers.quality_heads import LEVELS, _photos

    x = _photos()
    with torch.no_grad():
        f = torch.cat([features(noisy(x, s)) for s in LEVELS]).double()
    target = -torch.tensor(LEVELS).repeat_interleave(len(x)).double()
    a = torch.cat([f, torch.ones(len(f), 1, dtype=torch.float64)], 1)
    w = a.T @ torch.linalg.solve(a @ a.T + 1e-3 * torch.eye(len(a), dtype=torch.float64), target)
    return w[:-1].float(), w[-1].float()


@functools.cache
def _nima_on_noise(outputs: int) -> object:
    """NIMA on timm's small mobilenetv3_small_050 trunk (the released trunks are too slow for the contract),
    seeded random; its linear head fitted so the score falls with the noise level (10 bins: logits (k - 5.5) s)."""
    from iqa.models.nima import NIMA

    torch.manual_seed(0)
    net = NIMA("mobilenetv3_small_050", outputs).eval()
    w, b = _fit_to_noise(lambda y: net.base_model(net.preprocess(y))[-1].mean((2, 3)))
    k = torch.ones(1, 1) if outputs == 1 else torch.arange(1.0, outputs + 1)[:, None] - (outputs + 1) / 2
    net.classifier[2].load_state_dict({"weight": k * w[None], "bias": k[:, 0] * b})
    return net


def _nima(spec: MetricSpec) -> object:
    from iqa.models.nima import RELEASES

    release = iqa.registry.get_metric_class(spec.name).release  # type: ignore[attr-defined]
    return copy.deepcopy(_nima_on_noise(RELEASES[release].outputs))


@functools.cache
def _paq2piq_fitted() -> object:
    """Seeded random PaQ-2-PiQ; its last linear layer fitted so the score falls with the noise level."""
    from iqa.models.paq2piq import PaQ2PiQ

    torch.manual_seed(0)
    net = PaQ2PiQ().eval()
    w, b = _fit_to_noise(lambda y: net.head[:-1](net.pooled(y)))
    net.head[-1].load_state_dict({"weight": w[None], "bias": b[None]})
    return net


def _paq2piq_on_noise() -> object:
    return copy.deepcopy(_paq2piq_fitted())


_MUSIQ_SMALL = {"hidden": 32, "mlp_dim": 64, "heads": 2, "layers": 1, "stem_width": 8}


@functools.cache
def _musiq_trunk_on_noise() -> tuple[dict[str, torch.Tensor], torch.Tensor]:
    """A seeded reduced MUSIQ's state and its ridge weights from CLS features to minus the noise level.

    The release's layers and tokenisation at a fraction of its width and depth (stem 8, hidden 32,
    one block): the released size costs ~70 GFLOP per contract call on four 256x256 photos.
    """
    from iqa.models.musiq import MUSIQ, multiscale_tokens
    from tests.helpers.distort import noisy
    from tests.helpers.quality_heads import LEVELS, _photos

    torch.manual_seed(0)
    net, x = MUSIQ("koniq", **_MUSIQ_SMALL).eval(), _photos()  # type: ignore[arg-type]
    enc = net.transformer_encoder
    with torch.no_grad():
        f = torch.cat([enc(net.embed_patches((t := multiscale_tokens(y * 2 - 1)).patches), t.spatial, t.scale)[:, 0]
                       for y in (noisy(x, s) for s in LEVELS)])  # fmt: skip
    target = -torch.tensor(LEVELS).repeat_interleave(len(x)).double()
    a = torch.cat([f.double(), torch.ones(len(f), 1, dtype=torch.float64)], 1)
    w = a.T @ torch.linalg.solve(a @ a.T + 1e-3 * torch.eye(len(a), dtype=torch.float64), target)  # dual ridge
    return net.state_dict(), w


def _musiq(spec: MetricSpec, options: dict[str, object]) -> object:
    """The reduced MUSIQ of the name's variant, its head making scores fall with noise.

    One output: the ridge fit. AVA's 10 bins get logits i * s (s the ridge output): their mean rises with s.
    """
    from iqa.models.musiq import MUSIQ
    from iqa.registry import get_metric_class

    variant = get_metric_class(spec.name).variant  # type: ignore[attr-defined]
    state, w = _musiq_trunk_on_noise()
    net = MUSIQ(variant, **_MUSIQ_SMALL).eval()  # type: ignore[arg-type]
    net.load_state_dict({k: v for k, v in state.items() if not k.startswith("head")}, strict=False)
    bins = (
        torch.arange(1, 11, dtype=torch.float64)[:, None] if variant == "ava" else torch.ones(1, 1, dtype=torch.float64)
    )
    linear = net.head[0] if variant == "ava" else net.head
    assert isinstance(linear, torch.nn.Linear)
    linear.load_state_dict({"weight": (bins * w[None, :-1]).float(), "bias": (bins[:, 0] * w[-1]).float()})
    return net


@functools.cache
def _maniqa_on_noise(variant: str) -> object:
    """A seeded MANIQA of reduced size (32 px crops, width 64, features of ViT blocks 0-3): the release's
    layers at a sliver of ViT-B/8's ~80 GFLOP per 224 px crop (parity tests use the released size). Its
    last score layer is fitted so the patch-weighted mean over the grid crops is 5 - noise level
    (centred ridge on the pooled hidden features; the offset keeps every patch clear of the ReLU)."""
    from iqa.metrics.nr.maniqa import maniqa
    from iqa.models.maniqa import MANIQA, SWIN_SCALE, MANIQAConfig
    from tests.helpers.distort import noisy
    from tests.helpers.quality_heads import LEVELS, _photos

    torch.manual_seed(0)
    cfg = MANIQAConfig(img_size=32, vit_dim=64, vit_depth=4, vit_heads=2, feature_blocks=(0, 1, 2, 3), window_size=2,
                       swin_heads=(2, 2), dim_mlp=64, scale=SWIN_SCALE[variant])  # type: ignore[index]  # fmt: skip
    net, x, seen = MANIQA(variant, cfg).eval(), _photos(), []  # type: ignore[arg-type]
    hooks = [net.fc_score[2].register_forward_hook(lambda m, i, o: seen.append(("h", o))),
             net.fc_weight.register_forward_hook(lambda m, i, o: seen.append(("w", o)))]  # fmt: skip
    with torch.no_grad():
        for s in LEVELS:
            maniqa(noisy(x, s), model=net)
    for h in hooks:
        h.remove()
    n = len(LEVELS) * len(x)
    h = torch.cat([o for k, o in seen if k == "h"]).view(n, -1, cfg.vit_dim // 2).double()
    w = torch.cat([o for k, o in seen if k == "w"]).view(n, -1, 1).double()
    f = (h * w).sum(1) / w.sum(1)  # pooled hidden features: the score is linear in them while the ReLU stays open
    target = -torch.tensor(LEVELS).repeat_interleave(len(x)).double()
    fc, tc = f - f.mean(0), target - target.mean()
    a = fc.T @ torch.linalg.solve(fc @ fc.T + 1e-4 * torch.eye(n, dtype=torch.float64), tc)  # dual ridge
    bias = 5 - a @ f.mean(0)
    assert float((h @ a + bias).min()) > 0.5, "a patch would hit the score ReLU"
    net.fc_score[3].load_state_dict({"weight": a[None].float(), "bias": bias[None].float()})
    return net


def _maniqa(spec: MetricSpec, options: dict[str, object]) -> object:
    return copy.deepcopy(_maniqa_on_noise(iqa.registry.get_metric_class(spec.name).variant))  # type: ignore[attr-defined]


@functools.cache
def _topiq_on_noise(variant: str) -> object:
    """TOPIQ with a small seeded 5-stage conv trunk in place of the ResNet-50 (the contract runs it ~100
    times; parity tests use the released architecture); the last linear fitted so scores fall with noise
    (AVA's 10 bins get logits (k - 5.5) s, whose mean rating rises with s)."""
    import dataclasses

    from torch import nn

    from iqa.models.topiq import CONFIGS, TopIQ, preprocess
    from tests.helpers.distort import noisy
    from tests.helpers.quality_heads import LEVELS, _photos

    class Trunk(nn.Module):  # five maps at strides 8, 16, 32, 32, 32 (the released gates at stride 2 cost most)
        channels = (8, 16, 16, 32, 32)

        def __init__(self) -> None:
            super().__init__()
            ins, strides = (3, *self.channels[:-1]), (8, 2, 2, 1, 1)
            self.stages = nn.ModuleList(
                nn.Sequential(nn.Conv2d(i, o, 3, s, 1), nn.ReLU()) for i, o, s in zip(ins, self.channels, strides)
            )

        def forward(self, x: torch.Tensor) -> list[torch.Tensor]:
            out = []
            for stage in self.stages:
                x = stage(x)
                out.append(x)
            return out

    torch.manual_seed(0)
    small = dataclasses.replace(CONFIGS[variant], inter_dim=32, num_heads=2)  # type: ignore[index]
    net, x = TopIQ(variant, trunk=Trunk(), config=small).eval(), _photos()  # type: ignore[arg-type]
    ref = preprocess(x, net.config) if net.config.use_ref else None
    with torch.no_grad():
        f = torch.cat([net.score_linear[:-1](net.features(preprocess(noisy(x, s), net.config), ref)) for s in LEVELS])
    target = -torch.tensor(LEVELS).repeat_interleave(len(x)).double()
    a = torch.cat([f.double(), torch.ones(len(f), 1, dtype=torch.float64)], 1)
    w = a.T @ torch.linalg.solve(a @ a.T + 1e-3 * torch.eye(len(a), dtype=torch.float64), target)  # dual ridge
    k = (
        torch.arange(1, 11, dtype=torch.float64)[:, None] - 5.5
        if net.config.num_class > 1
        else torch.ones(1, 1, dtype=torch.float64)
    )
    net.score_linear[-1].load_state_dict({"weight": (k * w[None, :-1]).float(), "bias": (k[:, 0] * w[-1]).float()})
    return net


def _topiq(spec: MetricSpec, options: dict[str, object]) -> object:
    return copy.deepcopy(_topiq_on_noise(iqa.registry.get_metric_class(spec.name).variant))  # type: ignore[attr-defined]


def _hyperiqa_on_noise() -> object:
    """HyperIQANet's interface (normalised 224 crops -> (N,)) scoring minus the crops' high-frequency energy:
    the release's head costs ~70M MAC per crop and the contract runs 25 crops x 4 images ~40 times; the
    architecture is covered by the parity tests."""
    import torch.nn.functional as F
    from torch import nn

    from iqa.models.hyperiqa import HyperIQANet

    class OnNoise(HyperIQANet):
        def __init__(self) -> None:
            nn.Module.__init__(self)
            self.gain = nn.Parameter(torch.ones(()), requires_grad=False)

        def forward(self, x: torch.Tensor) -> torch.Tensor:
            return -self.gain * (x - F.avg_pool2d(x, 3, 1, 1, count_include_pad=False)).abs().mean((1, 2, 3))

    return OnNoise()


def _dbcnn_on_noise(spec: MetricSpec) -> object:
    """DBCNNNet's interface (normalised whole images -> (N,)) scoring the images' high-frequency energy,
    negated where the spec is higher-is-better: two VGG-16 passes per call over the contract's 4 photos
    ~50 times is too slow on a CPU; the architecture is covered by the parity tests."""
    import torch.nn.functional as F
    from torch import nn

    from iqa.models.dbcnn import DBCNNNet

    sign = -1.0 if spec.higher_is_better else 1.0

    class OnNoise(DBCNNNet):
        def __init__(self) -> None:
            nn.Module.__init__(self)
            self.gain = nn.Parameter(torch.tensor(sign), requires_grad=False)

        def forward(self, x: torch.Tensor) -> torch.Tensor:
            return self.gain * (x - F.avg_pool2d(x, 3, 1, 1, count_include_pad=False)).abs().mean((1, 2, 3))

    return OnNoise()


@functools.cache
def _liqe_on_noise(variant: str) -> object:
    """A seeded LIQE on a reduced CLIP (one 64-wide block per tower, 32-d embeddings; the released 224 px
    patches and 32 px tokens): ViT-B/32 costs ~4.4 GFLOP per patch and the contract runs 4 patches x 4
    photos ~40 times. Its prompt embeddings are set (not encoded) so the quality falls with noise: t_q =
    a_q u + b_q v with a_q rising over the 5 levels, u the unit ridge direction from the patch-averaged
    image embeddings m of noisy photos to minus the noise level, centred (no bias: the logits have none),
    and v a unit vector orthogonal to those
    embeddings, so the logits are s a_q (m . u) and the expected level rises with m . u."""
    from iqa.metrics.nr.liqe import CLIP_MEAN, CLIP_STD, patch_corners
    from iqa.models.liqe import PATCH, QUALITY_LEVELS, LIQENet, clip_vit_b32, prompts
    from tests.helpers.distort import noisy
    from tests.helpers.quality_heads import LEVELS, _photos

    torch.manual_seed(0)
    sizes = {"layers": 1, "width": 64, "heads_v": 1, "text_layers": 1, "text_width": 64, "text_heads": 1}
    net, x = LIQENet(variant, clip_vit_b32(**sizes, embed_dim=32)).eval(), _photos()  # type: ignore[arg-type]
    mean, std = torch.tensor(CLIP_MEAN).view(1, 3, 1, 1), torch.tensor(CLIP_STD).view(1, 3, 1, 1)
    corners = patch_corners(*x.shape[-2:])

    def embedding(y: torch.Tensor) -> torch.Tensor:  # mean over the kept patches of the unit image embeddings
        z = (y - mean) / std
        f = net.clip_model.encode_image(torch.cat([z[..., t : t + PATCH, u : u + PATCH] for t, u in corners]))
        return torch.nn.functional.normalize(f, dim=-1).view(len(corners), len(y), -1).mean(0)

    with torch.no_grad():
        m = torch.cat([embedding(noisy(x, s)) for s in LEVELS]).double()
    target = -torch.tensor(LEVELS).repeat_interleave(len(x)).double()
    tc = target - target.mean()  # no bias term in the logits: fit the centred level (20 points in 32 dimensions)
    a = m.T @ torch.linalg.solve(m @ m.T + 1e-6 * torch.eye(len(m), dtype=torch.float64), tc)  # dual ridge
    u = a / a.norm()
    basis = torch.linalg.svd(m, full_matrices=True).Vh  # rows beyond rank(m) span the orthogonal complement
    v = basis[len(m)]
    z = m @ u
    levels = torch.linspace(-0.8, 0.8, len(QUALITY_LEVELS), dtype=torch.float64)
    t = levels[:, None] * u + (1 - levels[:, None] ** 2).sqrt() * v  # unit rows
    repeat = len(prompts(net.variant)) // len(QUALITY_LEVELS)  # mix: every scene x distortion prompt of a level
    net.text_features = t.repeat_interleave(repeat, 0).float()
    net.clip_model.logit_scale.data.fill_(float(torch.log(4 / (z.max() - z.min()))))
    return net


def _liqe(spec: MetricSpec, options: dict[str, object]) -> object:
    return copy.deepcopy(_liqe_on_noise(iqa.registry.get_metric_class(spec.name).variant))  # type: ignore[attr-defined]


@functools.cache
def _clip_small_text() -> object:
    """A reduced-size CLIP in OpenAI's layout (QuickGELU, 64x64 input, 2+1 layers, the real 49408-token
    vocabulary and 77-token context), seeded: text-image plumbing; parity tests use ViT-B/32 itself."""
    import open_clip

    torch.manual_seed(0)
    vision = {"layers": 2, "width": 64, "patch_size": 16, "image_size": 64}
    text = {"context_length": 77, "vocab_size": 49408, "width": 64, "heads": 1, "layers": 1}
    return open_clip.CLIP(embed_dim=32, vision_cfg=vision, text_cfg=text, quick_gelu=True).eval()


@functools.cache
def _pickscore_small_text() -> object:
    """PickScore's network (transformers' CLIPModel layout) at a reduced size (2+1 layers, 64x64 input, the
    real 49408-token vocabulary and 77-token context), seeded; parity tests use ViT-H/14 itself."""
    from iqa.models.pickscore import CLIPConfig, PickScoreCLIP

    torch.manual_seed(0)
    cfg = CLIPConfig(image_size=64, patch_size=16, vision_width=64, vision_layers=2, vision_heads=2, vision_mlp=128,
                     text_width=64, text_layers=1, text_heads=1, text_mlp=128, embed_dim=32)  # fmt: skip
    return PickScoreCLIP(cfg).eval()


def _pieapp_on_noise() -> object:
    """PieAPPNet's interface (BGR [0, 255] patch pairs -> per-patch errors and weights): error 0.01 x the mean
    absolute difference, weight 1 + the reference patch's contrast. The release's layers cost ~1 GMAC per
    64 px pair and the contract scores ~320 pairs ~40 times; the architecture is covered by the parity tests."""
    from torch import nn

    from iqa.models.pieapp import PieAPPNet

    class OnNoise(PieAPPNet):
        def __init__(self) -> None:
            nn.Module.__init__(self)
            self.gain = nn.Parameter(torch.full((), 0.01), requires_grad=False)

        def forward(self, img: torch.Tensor, ref: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
            return self.gain * (ref - img).abs().mean((1, 2, 3)), 1 + ref.std((1, 2, 3)) / 255

    return OnNoise()


@functools.cache
def _clipiqa_on_noise(vit: bool, learned: bool, pairs: tuple[tuple[str, str], ...], pos: str) -> object:
    """CLIP-IQA(+) plumbing on a seeded tiny open_clip CLIP (a 1-block ResNet or ViT, a 1-layer text tower)
    instead of RN50 / ViT-L/14; every pair's text features set to +u / -u, u fitted so that the cosine
    with the image features falls with the noise level (the release's prompts carry the meaning there)."""
    import math

    import open_clip

    from iqa.models.clipiqa import CLIPIQANet
    from tests.helpers.quality_heads import _photos

    torch.manual_seed(0)
    vit_cfg = {"layers": 1, "width": 32, "head_width": 32, "patch_size": 14, "image_size": 28}
    vision = vit_cfg if vit else {"layers": [1, 1, 1, 1], "width": 8, "image_size": 64}
    text = {"context_length": 77, "vocab_size": 49408, "width": 32, "heads": 1, "layers": 1}
    clip = open_clip.CLIP(embed_dim=32, vision_cfg=vision, text_cfg=text, quick_gelu=True)
    net = CLIPIQANet(clip, None if learned else pairs, learned=learned, pos_embedding=pos).eval()  # type: ignore[arg-type]
    w, _ = _fit_to_noise(lambda y: torch.nn.functional.normalize(net.encode_image(y), dim=-1))
    u = torch.nn.functional.normalize(w, dim=0)
    net.text_features = torch.stack([u, -u] * len(net.pairs))
    with torch.no_grad():  # a logit scale that keeps P(first) away from 0 and 1 on the photos
        spread = (torch.nn.functional.normalize(net.encode_image(_photos()), dim=-1) @ u).abs().max()
        net.clip.logit_scale.fill_(math.log(2.0 / float(spread)))
    return net


def _clipiqa(spec: MetricSpec, options: dict[str, object]) -> object:
    from iqa.models.clipiqa import ATTRIBUTES, PLUS_RELEASES, PYIQA_PAIRS

    pairs = PYIQA_PAIRS if spec.name == "clipiqa_pyiqa" else (ATTRIBUTES[str(options.get("attribute", "quality"))],)
    plus = spec.name in PLUS_RELEASES
    pos = PLUS_RELEASES[spec.name][2] if plus else str(options.get("pos_embedding", "drop"))
    return copy.deepcopy(_clipiqa_on_noise(spec.name.endswith("vitl14_512"), plus, () if plus else pairs, pos))


@functools.cache
def _laion_aes_on_noise(relu: bool) -> object:
    """LAION aesthetic predictor on a reduced CLIP image tower (two 64-wide blocks, 32 px patches at 224 px,
    768-d output; ViT-L/14 costs ~80 GFLOP per image and the contract runs 4 photos ~40 times; parity tests
    use the released size). The head, in the released widths, is set to one affine map u . e + 5 of the unit
    embedding e, u the dual-ridge direction from embeddings of noisy photos to minus the noise level: row 0
    of layers.0 carries it (offset by c to stay clear of the ReLUs of the ReLU head), the next Linears pass
    unit 0 on, the last removes the offset."""
    from open_clip.transformer import QuickGELU, VisionTransformer

    from iqa.models.laion_aes import AestheticMLP, LAIONAesthetic, preprocess
    from tests.helpers.distort import noisy
    from tests.helpers.quality_heads import LEVELS, _photos

    torch.manual_seed(0)
    tower = VisionTransformer(image_size=224, patch_size=32, width=64, layers=2, heads=2, mlp_ratio=4.0,
                              output_dim=768, act_layer=QuickGELU)  # fmt: skip
    net, x = LAIONAesthetic(tower, AestheticMLP(768, relu=relu)).eval().requires_grad_(False), _photos()
    with torch.no_grad():
        e = torch.cat([net.embed(preprocess(noisy(x, s), net.image_size)) for s in LEVELS]).double()
    target = -torch.tensor(LEVELS).repeat_interleave(len(x)).double()
    ec, tc = e - e.mean(0), target - target.mean()
    u = ec.T @ torch.linalg.solve(ec @ ec.T + 1e-6 * torch.eye(len(e), dtype=torch.float64), tc)  # dual ridge
    b = float(target.mean() - u @ e.mean(0))
    c = float(u.norm()) + abs(b) + 1.0  # |u . e| <= |u| for unit e: the first unit stays positive
    linears = [m for m in net.head.layers if isinstance(m, torch.nn.Linear)]
    for i, lin in enumerate(linears):
        weight, bias = torch.zeros_like(lin.weight), torch.zeros_like(lin.bias)
        if i == 0:
            weight[0], bias[0] = u.float(), b + c
        else:
            weight[0, 0] = 1.0
        if i == len(linears) - 1:
            bias[0] = 5.0 - c
        lin.load_state_dict({"weight": weight, "bias": bias})
    return net


def _laion_aes(spec: MetricSpec, options: dict[str, object]) -> object:
    from iqa.models.laion_aes import RELEASES

    variant = iqa.registry.get_metric_class(spec.name).variant  # type: ignore[attr-defined]
    return copy.deepcopy(_laion_aes_on_noise(RELEASES[variant].relu))


BUILDERS: dict[str, Callable[[MetricSpec, dict[str, object]], object]] = {
    "musiq_small_on_noise": _musiq,
    "imagenet_alexnet_trunk": _alexnet_trunk,
    "imagenet_vgg16_dists_trunk": _vgg16_dists_trunk,
    "tanet_release": _tanet,
    "contrique_encoder": _contrique_encoder,
    "quality_head_on_noise": _quality_head,
    "arniqa_small_on_noise": _arniqa,
    "hyperiqa_on_noise": lambda spec, options: _hyperiqa_on_noise(),
    "nima_small_trunk": lambda spec, options: _nima(spec),
    "paq2piq_on_noise": lambda spec, options: _paq2piq_on_noise(),
    "maniqa_small_on_noise": _maniqa,
    "topiq_small_on_noise": _topiq,
    "clipiqa_small_on_noise": _clipiqa,
    "pieapp_on_noise": lambda spec, options: _pieapp_on_noise(),
    "clip_small_text": lambda spec, options: copy.deepcopy(_clip_small_text()),
    "pickscore_small_text": lambda spec, options: copy.deepcopy(_pickscore_small_text()),
    "dbcnn_on_noise": lambda spec, options: _dbcnn_on_noise(spec),
    "liqe_small_on_noise": _liqe,
    "laion_aes_small_on_noise": _laion_aes,
}
assert set(BUILDERS) == set(get_args(StandIn)), "a StandIn kind without a builder (or the reverse)"


def offline_options(name: str, options: dict[str, object]) -> dict[str, object]:
    """The constructor options that build ``name`` without a download, from its ``spec.offline``."""
    from tests.conftest import shared_path

    spec = iqa.get_spec(name)
    if spec.offline is None:
        return {}
    built: dict[str, object] = {opt: shared_path("weights", *rel.split("/")) for opt, rel in spec.offline.files}
    built.update({opt: BUILDERS[kind](spec, options) for opt, kind in spec.offline.stand_ins})
    return built
