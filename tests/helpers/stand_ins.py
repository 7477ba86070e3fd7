"""Builders for the :data:`iqa.registry.StandIn` kinds a metric's ``spec.offline`` names.

Each builder takes the metric's spec and the options the test passes, and returns what the named
constructor option takes. Random networks are seeded, so every build of a stand-in is the same
network; they check plumbing, never published numbers.
"""

from __future__ import annotations

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


BUILDERS: dict[str, Callable[[MetricSpec, dict[str, object]], object]] = {
    "imagenet_alexnet_trunk": _alexnet_trunk,
    "imagenet_vgg16_dists_trunk": _vgg16_dists_trunk,
    "tanet_release": _tanet,
    "contrique_encoder": _contrique_encoder,
    "quality_head_on_noise": _quality_head,
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
