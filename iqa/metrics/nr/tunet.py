"""TUNet: theme-aware image aesthetics (TANet), a 1-10 score per image.

Paper: He et al., "Rethinking Image Aesthetics Assessment: Models, Datasets and Benchmarks",
IJCAI 2022 (TANet, trained on TAD66k). Reference implementation: ``woshidandan/TANet``,
``code/TAD66K`` (network in :mod:`iqa.metrics.nr._tanet`). Input path as the release's test
transform: resize to 224 x 224 (bilinear, antialiased as PIL does), ImageNet mean/std; score =
10 x sigmoid output (TAD66k labels are score / 10), or sum_i i p_i for the AVA 10-bin variant.

Weights: the released checkpoints (``SRCC_513_LCC_531_MSE_016.pth`` for TAD66k,
``SRCC_758_LCC_765.pth`` for AVA, links in the repository's README) are converted once with
``iqa weights convert tanet FILE --variant tad66k`` into verified safetensors; a model trained with
``iqa train tunet`` is used the same way. ``mode="per_image"`` (default) scores every image on its
own; ``mode="compat"`` reproduces the release's batch-coupled theme branch, which is what the
released weights were trained and evaluated with (see :mod:`iqa.metrics.nr._tanet`).
"""

from __future__ import annotations

from pathlib import Path

import torch
import torch.nn.functional as F

from iqa.checks import check_image
from iqa.errors import InputError, WeightsError
from iqa.metrics.base import NRMetric
from iqa.metrics.nr._tanet import MODES, VARIANTS, TANet, strip_module
from iqa.registry import MetricSpec, register_metric
from iqa.weights.converted import load_converted

MEAN = (0.485, 0.456, 0.406)
STD = (0.229, 0.224, 0.225)
RELEASES = {"tad66k": "SRCC_513_LCC_531_MSE_016.pth", "ava": "SRCC_758_LCC_765.pth"}


def converted_name(variant: str) -> str:
    return f"tanet_{variant}"


def how_to_get(variant: str) -> str:
    return (f"Download the released TANet checkpoint {RELEASES[variant]} (links in the README of "
            f"github.com/woshidandan/TANet) and run `iqa weights convert tanet FILE --variant {variant}`, "
            "or train one with `iqa train tunet`.")  # fmt: skip


def check_state(model: TANet, state: dict[str, torch.Tensor], source: str) -> None:
    """Raise WeightsError naming the first differences between ``state`` and the network's layout."""
    own = model.state_dict()
    missing = [k for k in own if k not in state]
    extra = [k for k in state if k not in own]
    shapes = [
        f"{k} {tuple(state[k].shape)} != {tuple(v.shape)}"
        for k, v in own.items()
        if k in state and state[k].shape != v.shape
    ]
    if missing or extra or shapes:
        raise WeightsError(f"{source} does not fit TANet ({model.variant}): missing {missing[:4]}, unexpected {extra[:4]}, "
                           f"shapes {shapes[:3]}; is it the other variant?")  # fmt: skip


def preprocess(x: torch.Tensor) -> torch.Tensor:
    """(N, 3, H, W) in [0, 1] -> (N, 3, 224, 224) ImageNet-normalised, float32."""
    x = F.interpolate(x.float(), size=(224, 224), mode="bilinear", align_corners=False, antialias=True)
    mean = torch.tensor(MEAN, device=x.device).view(1, 3, 1, 1)
    std = torch.tensor(STD, device=x.device).view(1, 3, 1, 1)
    return (x - mean) / std


def score_of(out: torch.Tensor, variant: str) -> torch.Tensor:
    """Network output -> 1-10 scale: 10 x sigmoid (TAD66k) or the mean rating of the distribution (AVA)."""
    if variant == "tad66k":
        return 10 * out
    return (out * torch.arange(1, 11, dtype=out.dtype, device=out.device)).sum(1)


def _network(variant: str, mode: str, theme_trunk: str, aes_trunk: str) -> TANet:
    """The release's architecture, or other trunks (a model trained with ``iqa train tunet --*-trunk``)."""
    if theme_trunk == "resnet18_places365" and aes_trunk == "mobilenet_v2_nima":
        return TANet(variant=variant, mode=mode)
    from iqa.metrics.nr._tanet_trunks import aesthetics_trunk
    from iqa.metrics.nr._tanet_trunks import theme_trunk as build_theme

    t, t_dim = build_theme(theme_trunk)
    a, a_dim = aesthetics_trunk(aes_trunk)
    return TANet(variant=variant, mode=mode, theme_trunk=t, theme_dim=t_dim, aes_trunk=a, aes_dim=a_dim)


@register_metric(
    MetricSpec(
        name="tunet",
        kind="nr",
        higher_is_better=True,
        value_range=(0.0, 10.0),
        differentiable=True,
        color="rgb",
        paper="He et al., 'Rethinking Image Aesthetics Assessment: Models, Datasets and Benchmarks' (TANet), IJCAI 2022",
        reference_impl="woshidandan/TANet code/TAD66K train_nni.py (module names kept; compat mode = its batch-coupled forward)",
        tolerance="compat forward 1e-6 vs a transcription of the release on random weights; no released weights offline",
        min_size=8,
        summary="theme-aware aesthetics (TAD66k): Places365 theme, RGB attention and MobileNetV2 branches, 1-10",
    )
)
class TUNet(NRMetric):
    """Aesthetic score per image, (N,), higher is better (1-10 scale)."""

    def __init__(self, *, data_range: float = 1.0, variant: str = "tad66k", mode: str = "per_image",
                 weights: str | Path | None = None, theme_trunk: str = "resnet18_places365",
                 aes_trunk: str = "mobilenet_v2_nima", model: TANet | None = None) -> None:  # fmt: skip
        super().__init__(data_range=data_range)
        if variant not in VARIANTS or mode not in MODES:
            raise InputError(
                f"tunet: variant must be one of {VARIANTS} and mode one of {MODES}, got {variant!r}, {mode!r}"
            )
        self.variant, self.mode = variant, mode
        if model is None:
            model = _network(variant, mode, theme_trunk, aes_trunk)
            if weights is not None:
                from safetensors.torch import load_file

                if not Path(weights).is_file():
                    raise InputError(f"tunet: weights file {weights} not found. {how_to_get(variant)}")
                state, source = load_file(str(weights)), str(weights)
            else:
                state, _ = load_converted(converted_name(variant), how_to=how_to_get(variant))
                source = converted_name(variant)
            check_state(model, state, source)
            model.load_state_dict(state)
        model.mode = mode
        self.net = model.eval()

    def forward(self, img: torch.Tensor) -> torch.Tensor:
        img = check_image(img, "img", data_range=self.data_range, channels=(3,), min_size=self.spec.min_size)
        out = self.net(preprocess(img / self.data_range))
        return score_of(out, self.variant).to(img.dtype)


def convert_tanet(source: str | Path, variant: str = "tad66k", *, out_dir: Path | None = None) -> Path:
    """Released TANet checkpoint (.pth, read without unpickling code) -> verified safetensors.

    The key layout and every shape are checked against :class:`TANet` before anything is written.
    """
    from iqa.weights.converted import read_release_checkpoint, save_converted

    source = Path(source)
    state = strip_module(
        read_release_checkpoint(source, f"Expected the released {RELEASES[variant]}. {how_to_get(variant)}")
    )
    model = TANet(variant=variant)
    check_state(model, state, str(source))
    tensors = {k: v for k, v in state.items() if k in model.state_dict()}
    return save_converted(
        converted_name(variant),
        tensors,
        source=source,
        converter="tanet",
        options={"variant": variant},
        out_dir=out_dir,
    )
