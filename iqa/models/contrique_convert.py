"""``iqa weights convert contrique``: the released checkpoint and regressors -> verified safetensors.

``CONTRIQUE_checkpoint25.tar`` is a plain ``model.state_dict()`` (``model_io.py``; ``module.`` keys
when saved from DataParallel): it is read with ``weights_only=True`` and every key and shape is
checked against :class:`ContriqueModel`. The regressors ``models/*.save`` are pickled sklearn Ridge
objects: they are read once by the restricted reader (:mod:`iqa.weights.sklearn_pickle`) and written
as ``coef``/``intercept`` tensors with alpha, label scale and direction in the record.
"""

from __future__ import annotations

from pathlib import Path

import torch

from iqa.errors import InputError
from iqa.metrics._quality_heads import RELEASE_HEADS, build_encoder
from iqa.metrics.nr._tanet import strip_module
from iqa.weights.converted import read_release_checkpoint, save_converted
from iqa.weights.sklearn_pickle import read_sklearn_ridge


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
    source: Path, head: str, out_dir: Path | None = None, model: str = "contrique", **info: object
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
        found = [(h, folder / f) for h, (f, _, _) in RELEASE_HEADS.items() if (folder / f).is_file()]
        if not found:
            raise InputError(
                f"{folder}: none of {', '.join(f for f, _, _ in RELEASE_HEADS.values())} found (the release's models/ folder)"
            )
        for head, path in found:
            _, hib, scale = RELEASE_HEADS[head]
            written.append(convert_regressor(path, head, out_dir, higher_is_better=hib, scale=scale, dataset=head))
    if not written:
        raise InputError("nothing to convert: give the checkpoint and/or --regressors DIR")
    return written
