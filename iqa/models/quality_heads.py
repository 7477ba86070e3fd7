"""Encoders and ridge heads of the self-supervised quality models (the ``contrique*`` and ``qpt*`` metrics).

Both live in the converted-weights store (:mod:`iqa.weights.converted`) as safetensors with a JSON
record, never as pickles: ``<model>_encoder`` (the network) and ``<model>_head_<name>`` (``coef``,
``intercept``; the record's options carry the dataset, alpha and the label direction). A head or an
encoder can also be given as a path to such a .safetensors file (its record beside it).

A registered metric has one fixed spec, so one direction: :func:`load_parts` refuses a head whose
recorded direction differs from the metric's and names the metric to use instead.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

import torch

from iqa.errors import InputError, WeightsError, WeightsHashError
from iqa.models.contrique import TRUNKS, ContriqueModel
from iqa.weights.converted import load_converted


def _load(name_or_path: str | Path, store_name: str, how_to: str) -> tuple[dict[str, torch.Tensor], dict[str, Any]]:
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
    """``score = features @ coef + intercept`` (a fitted sklearn Ridge, float64 as sklearn predicts).

    Args:
        coef: the (d,) coefficients.
        intercept: the intercept.
        info: the record's options: ``higher_is_better`` (the label direction), ``scale``, ``dataset``, ...
        name: what it was loaded as (a store name or a path); None for a head built in memory.
    """

    coef: torch.Tensor

    def __init__(self, coef: torch.Tensor, intercept: float, info: dict[str, Any], name: str | None = None) -> None:
        super().__init__()
        self.register_buffer("coef", coef.double().reshape(-1))
        self.intercept = float(intercept)
        self.info = dict(info)
        self.name = name

    @property
    def higher_is_better(self) -> bool | None:
        """The direction of the labels it was fitted to; None when its record does not say."""
        value = self.info.get("higher_is_better")
        return None if value is None else bool(value)

    def cache_key(self) -> str:
        """What identifies the head in reports and resume keys: its name, else a digest of its numbers."""
        if self.name is not None:
            return self.name
        digest = hashlib.sha256(self.coef.detach().cpu().numpy().tobytes() + repr(self.intercept).encode())
        return f"ridge:{digest.hexdigest()[:16]}"

    def forward(self, feats: torch.Tensor) -> torch.Tensor:
        if feats.shape[-1] != self.coef.numel():
            raise WeightsError(f"head expects {self.coef.numel()} features, the encoder gives {feats.shape[-1]}: "
                               "was it fitted on another encoder?")  # fmt: skip
        return feats.to(self.coef.device).double() @ self.coef + self.intercept


def load_head(model_name: str, head: str | Path, how_to: str) -> RidgeHead:
    """Head by name (``<model_name>_head_<head>`` in the store) or by .safetensors path."""
    tensors, record = _load(head, f"{model_name}_head_{head}", how_to)
    if "coef" not in tensors or "intercept" not in tensors:
        raise WeightsError(f"{head}: not a ridge head (needs 'coef' and 'intercept' tensors)")
    intercept = float(tensors["intercept"].reshape(-1)[0])
    return RidgeHead(tensors["coef"], intercept, dict(record.get("options", {})), name=str(head))


def _direction(higher_is_better: bool) -> str:
    return "higher is better (MOS-like)" if higher_is_better else "lower is better (DMOS-like)"


def check_direction(metric: str, higher_is_better: bool, head: RidgeHead, use: str) -> None:
    """Refuse a head fitted to labels of the other direction than ``metric``'s spec, naming ``use`` instead.

    A head whose record does not state its direction is taken as the metric's.
    """
    recorded = head.higher_is_better
    if recorded is None or recorded == higher_is_better:
        return
    scale = head.info.get("scale") or head.info.get("dataset") or "its labels"
    raise InputError(
        f"{metric}: head {head.cache_key()!r} predicts {scale}, where {_direction(recorded)}; {metric} is declared "
        f"{_direction(higher_is_better)}. Use {use} instead, e.g. iqa.create({use!r}, head={head.cache_key()!r})"
    )


def load_parts(
    metric: str,
    higher_is_better: bool,
    *,
    prefix: str,
    head: str | Path | RidgeHead | None,
    weights: str | Path | None,
    model: ContriqueModel | None,
    how_to: str,
    variant_for: Callable[[RidgeHead], str],
) -> tuple[ContriqueModel, RidgeHead]:
    """The encoder and the ridge head of a quality metric, the head's direction checked against the metric's.

    Args:
        metric: the registered name (for messages).
        higher_is_better: the metric's declared direction.
        prefix: store prefix of its encoder and heads (``contrique`` or ``qpt``).
        head: a head by store name, a .safetensors path, or a :class:`RidgeHead`; None is refused.
        weights: the encoder's .safetensors file; None: the store's ``<prefix>_encoder``.
        model: an encoder to use as it is (``weights`` is then not read).
        how_to: where the weights come from, for the errors when they are missing.
        variant_for: the registered name that fits a head (named in the error for a head of the other direction).
    """
    if head is None:
        raise InputError(
            f"{metric} needs a head: give head=NAME (from `iqa fit-head`), a .safetensors path or a RidgeHead"
        )
    encoder = model.eval() if model is not None else load_encoder(prefix, weights, how_to)
    ridge = head if isinstance(head, RidgeHead) else load_head(prefix, head, how_to)
    check_direction(metric, higher_is_better, ridge, variant_for(ridge))
    return encoder, ridge
