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
