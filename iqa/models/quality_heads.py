"""Encoders and ridge heads of the self-supervised quality models (``contrique``, ``contrique_fr``, ``qpt``).

Both live in the converted-weights store (:mod:`iqa.weights.converted`) as safetensors with a JSON
record, never as pickles: ``<model>_encoder`` (the network) and ``<model>_head_<name>`` (``coef``,
``intercept``; the record's options carry the dataset, alpha and the label direction). A head or an
encoder can also be given as a path to such a .safetensors file (its record beside it).

CONTRIQUE's released regressors (``models/*.save`` in pavancm/CONTRIQUE) map to the head names
below; LIVE and CSIQ were fitted to DMOS, so those heads score lower-is-better in DMOS units.
"""

from __future__ import annotations

import dataclasses
import json
from pathlib import Path

import torch

from iqa.errors import InputError, WeightsError, WeightsHashError
from iqa.metrics.nr._contrique import TRUNKS, ContriqueModel
from iqa.registry import MetricSpec
from iqa.weights.converted import load_converted

# head name -> (release file, higher_is_better, label scale)
RELEASE_HEADS = {
    "koniq": ("Koniq.save", True, "KonIQ-10k MOS, 0-100"),
    "clive": ("CLIVE.save", True, "LIVE Challenge MOS, 0-100"),
    "live": ("LIVE.save", False, "LIVE IQA DMOS"),
    "csiq": ("CSIQ.save", False, "CSIQ DMOS, 0-1"),
    "live_fr": ("LIVE_FR.save", False, "LIVE IQA DMOS (full-reference)"),
    "csiq_fr": ("CSIQ_FR.save", False, "CSIQ DMOS, 0-1 (full-reference)"),
}


def _load(name_or_path: str | Path, store_name: str, how_to: str) -> tuple[dict[str, torch.Tensor], dict]:
    p = Path(name_or_path)
    if p.suffix == ".safetensors":
        from safetensors.torch import load_file

        from iqa.weights.store import sha256_file

        if not p.is_file():
            raise InputError(f"{p}: no such weights file. {how_to}")
        rec_path = p.with_suffix(".json")
        record = json.loads(rec_path.read_text()) if rec_path.is_file() else {}
        if record.get("sha256") and sha256_file(p) != record["sha256"]:
            raise WeightsHashError(f"{p}: sha256 differs from its record {rec_path.name}; the file is corrupt or was edited: "
                                   "write it again (iqa train / iqa fit-head / iqa weights convert)")  # fmt: skip
        try:
            return load_file(str(p)), record
        except Exception as e:  # noqa: BLE001 - safetensors' own errors do not name the file
            raise WeightsError(f"{p}: not a readable safetensors file ({e}). {how_to}") from e
    return load_converted(store_name, how_to=how_to)


def trunk_of(state: dict[str, torch.Tensor], source: str) -> str:
    """The ResNet the state dict belongs to (bottleneck blocks have conv3), checked against its fc-less layout."""
    if "encoder.0.weight" not in state or "projector.0.weight" not in state:
        raise WeightsError(f"{source} is not a CONTRIQUE-layout state dict (encoder.*, projector.*)")
    trunk = "resnet50" if "encoder.4.0.conv3.weight" in state else "resnet18"
    if state["projector.0.weight"].shape[0] != TRUNKS[trunk]:
        raise WeightsError(
            f"{source}: projector width {state['projector.0.weight'].shape[0]} does not fit a {trunk} encoder"
        )
    return trunk


def build_encoder(state: dict[str, torch.Tensor], source: str) -> ContriqueModel:
    """A ContriqueModel holding ``state``; every key and shape must match (errors name the first differences)."""
    model = ContriqueModel(trunk_of(state, source), proj_dim=state["projector.3.weight"].shape[0])
    own = model.state_dict()
    missing = [k for k in own if k not in state]
    extra = [k for k in state if k not in own]
    shapes = [k for k in own if k in state and state[k].shape != own[k].shape]
    if missing or extra or shapes:
        raise WeightsError(
            f"{source} does not fit the CONTRIQUE layout: missing {missing[:4]}, unexpected {extra[:4]}, shapes {shapes[:3]}"
        )
    model.load_state_dict(state)
    return model.eval()


def load_encoder(model_name: str, weights: str | Path | None, how_to: str) -> ContriqueModel:
    """``weights`` (a .safetensors path) or the store's ``<model_name>_encoder``."""
    state, _ = _load(weights or f"{model_name}_encoder", f"{model_name}_encoder", how_to)
    return build_encoder(state, str(weights or f"{model_name}_encoder"))


class RidgeHead(torch.nn.Module):
    """``score = features @ coef + intercept`` (a fitted sklearn Ridge, float64 as sklearn predicts)."""

    def __init__(self, coef: torch.Tensor, intercept: float, info: dict) -> None:
        super().__init__()
        self.register_buffer("coef", coef.double().reshape(-1))
        self.intercept = float(intercept)
        self.info = info

    @property
    def higher_is_better(self) -> bool:
        return bool(self.info.get("higher_is_better", True))

    def forward(self, feats: torch.Tensor) -> torch.Tensor:
        if feats.shape[-1] != self.coef.numel():
            raise WeightsError(f"head expects {self.coef.numel()} features, the encoder gives {feats.shape[-1]}: "
                               "was it fitted on another encoder?")  # fmt: skip
        return feats.double() @ self.coef + self.intercept


def load_head(model_name: str, head: str | Path, how_to: str) -> RidgeHead:
    """Head by name (``<model_name>_head_<head>`` in the store) or by .safetensors path."""
    tensors, record = _load(head, f"{model_name}_head_{head}", how_to)
    if "coef" not in tensors or "intercept" not in tensors:
        raise WeightsError(f"{head}: not a ridge head (needs 'coef' and 'intercept' tensors)")
    return RidgeHead(tensors["coef"], float(tensors["intercept"].reshape(-1)[0]), dict(record.get("options", {})))


def oriented_spec(spec: MetricSpec, higher_is_better: bool) -> MetricSpec:
    """The class spec with the head's direction (a DMOS head scores lower-is-better)."""
    return (
        spec
        if spec.higher_is_better == higher_is_better
        else dataclasses.replace(spec, higher_is_better=higher_is_better)
    )


def attach(metric: torch.nn.Module, prefix: str, head: str | Path | RidgeHead, weights: str | Path | None,
           model: ContriqueModel | None, how_to: str) -> None:  # fmt: skip
    """Give ``metric`` its encoder (``net``), ridge head (``regressor``) and the head's direction (``spec``)."""
    metric.head = "<RidgeHead>" if isinstance(head, RidgeHead) else head
    metric.weights = weights
    metric.net = model.eval() if model is not None else load_encoder(prefix, weights, how_to)
    metric.regressor = head if isinstance(head, RidgeHead) else load_head(prefix, head, how_to)
    released = isinstance(head, str) and head in RELEASE_HEADS and prefix == "contrique"
    metric.spec = oriented_spec(
        type(metric).spec, RELEASE_HEADS[head][1] if released else metric.regressor.higher_is_better
    )
