"""``iqa weights convert contrique``: the released checkpoint and regressors -> verified safetensors.

``CONTRIQUE_checkpoint25.tar`` is a plain ``model.state_dict()`` (``model_io.py``; ``module.`` keys
when saved from DataParallel): it is read with ``weights_only=True`` and every key and shape is
checked against :class:`iqa.models.contrique.ContriqueModel`. The regressors ``models/*.save`` are
pickled sklearn Ridge objects: they are read once by the restricted reader
(:mod:`iqa.weights.sklearn_pickle`) and written as ``coef``/``intercept`` tensors with alpha, label
scale and direction in the record. Each released head is scored by its own registered metric
(:data:`RELEASE_HEADS`), whose spec carries the head's direction.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

import torch

from iqa.errors import InputError
from iqa.models.quality_heads import build_encoder
from iqa.weights.converted import read_release_checkpoint, save_converted, strip_module
from iqa.weights.converters import Converter, ConverterArg, register_converter
from iqa.weights.sklearn_pickle import read_sklearn_ridge


@dataclass(frozen=True)
class ReleaseHead:
    """One released regressor.

    Attributes:
        file: its file in the release's ``models/`` folder.
        higher_is_better: direction of the labels it was fitted to (LIVE and CSIQ: DMOS, lower is better).
        scale: the labels it predicts.
        metric: the registered metric that scores it.
    """

    file: str
    higher_is_better: bool
    scale: str
    metric: str


# head name (``contrique_head_<name>`` in the store) -> the release's regressor
RELEASE_HEADS = {
    "koniq": ReleaseHead("Koniq.save", True, "KonIQ-10k MOS, 0-100", "contrique"),
    "clive": ReleaseHead("CLIVE.save", True, "LIVE Challenge MOS, 0-100", "contrique_clive"),
    "live": ReleaseHead("LIVE.save", False, "LIVE IQA DMOS", "contrique_live"),
    "csiq": ReleaseHead("CSIQ.save", False, "CSIQ DMOS, 0-1", "contrique_csiq"),
    "live_fr": ReleaseHead("LIVE_FR.save", False, "LIVE IQA DMOS (full-reference)", "contrique_fr"),
    "csiq_fr": ReleaseHead("CSIQ_FR.save", False, "CSIQ DMOS, 0-1 (full-reference)", "contrique_fr_csiq"),
}


def convert_checkpoint(source: Path, out_dir: Path | None = None, name: str = "contrique_encoder") -> Path:
    """The encoder + projector state dict, checked against the release layout."""
    state = strip_module(
        read_release_checkpoint(source, "Expected CONTRIQUE_checkpoint25.tar from the release (see its README).")
    )
    model = build_encoder(state, str(source))
    tensors = {k: v for k, v in state.items() if k in model.state_dict()}
    return save_converted(
        name, tensors, source=source, converter="contrique", options={"trunk": model.trunk}, out_dir=out_dir
    )


def convert_regressor(
    source: Path, head: str, out_dir: Path | None = None, model: str = "contrique", **info: Any
) -> Path:
    """One pickled Ridge -> ``<model>_head_<head>`` (coef, intercept); ``info`` goes into the record's options."""
    r = read_sklearn_ridge(source)
    tensors = {"coef": torch.from_numpy(r["coef"]), "intercept": torch.tensor([r["intercept"]], dtype=torch.float64)}
    options = {"alpha": r["alpha"], "sklearn_version": r["sklearn_version"], **info}
    return save_converted(
        f"{model}_head_{head}", tensors, source=source, converter="sklearn_ridge", options=options, out_dir=out_dir
    )


def convert_contrique(
    checkpoint: str | Path | None, regressors: str | Path | None = None, *, out_dir: Path | None = None
) -> list[Path]:
    """Convert the checkpoint and every release regressor found in the ``regressors`` folder."""
    written = [convert_checkpoint(Path(checkpoint), out_dir)] if checkpoint else []
    if regressors is not None:
        folder = Path(regressors)
        found = [(h, folder / r.file) for h, r in RELEASE_HEADS.items() if (folder / r.file).is_file()]
        if not found:
            raise InputError(
                f"{folder}: none of {', '.join(r.file for r in RELEASE_HEADS.values())} found (the release's models/ folder)"
            )
        for head, path in found:
            r = RELEASE_HEADS[head]
            written.append(
                convert_regressor(path, head, out_dir, higher_is_better=r.higher_is_better, scale=r.scale, dataset=head)
            )
    if not written:
        raise InputError("nothing to convert: give the checkpoint and/or --regressors DIR")
    return written


register_converter(
    Converter(
        name="contrique",
        convert=convert_contrique,
        help="CONTRIQUE: CONTRIQUE_checkpoint25.tar and/or the release's models/*.save regressors -> safetensors. "
        "The sklearn pickles are decoded by a reader that refuses any code.",
        args=(
            ConverterArg("checkpoint", "CONTRIQUE_checkpoint25.tar from the release.", positional=True),
            ConverterArg(
                "regressors",
                "The release's models/ folder (Koniq.save, CLIVE.save, LIVE.save, CSIQ.save, *_FR.save).",
                kind="dir",
            ),
        ),
        usage="score them with " + ", ".join(dict.fromkeys(r.metric for r in RELEASE_HEADS.values())),
    )
)
