"""``iqa fit-head``: a ridge head on frozen quality features of a MOS dataset, saved with its sha256.

Features are CONTRIQUE's two-scale vectors (``contrique``, ``qpt``) or their reference difference
(``contrique_fr``), extracted once per image and cached in ``<out>/features_<model>_<dataset>.npz``
(rewritten atomically every ``save_every`` images, so an interrupted run resumes where it stopped;
unreadable images are listed and left out). Alpha is chosen by content-grouped cross-validation
(:func:`iqa.training.ridge.fit_ridge_cv`) on the train (+ val) split; the test split, when the
dataset has one, gets SRCC/PLCC in the record.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import numpy as np
import torch

from iqa.atomic import atomic_write
from iqa.datasets.base import MOSDataset
from iqa.errors import InputError
from iqa.io.images import read_image
from iqa.models.contrique import ContriqueModel, fr_features, two_scale_features
from iqa.training.ridge import RidgeFit, fit_ridge_cv

MODELS = ("contrique", "contrique_fr", "qpt")


def store_prefix(model: str) -> str:
    """Encoders and heads of ``contrique_fr`` live under ``contrique``."""
    return "qpt" if model == "qpt" else "contrique"


def _save_npz(path: Path, names: list[str], feats: list[np.ndarray]) -> None:
    features = np.stack(feats) if feats else np.zeros((0, 0), np.float32)
    atomic_write(path, lambda f: np.savez(f, names=np.array(names), features=features))


def dataset_features(model: str, encoder: ContriqueModel, data: MOSDataset, cache: Path, *, save_every: int = 20,
                     progress: Callable[[str, int, int], None] | None = None) -> tuple[dict[str, np.ndarray], list[str]]:  # fmt: skip
    """{relative image name: feature} for every readable record, and the failures (``file: reason``)."""
    if model == "contrique_fr" and not data.full_reference:
        raise InputError(f"contrique_fr needs a full-reference dataset; {data.name} has no reference images")
    done: dict[str, np.ndarray] = {}
    if cache.is_file():
        with np.load(cache) as z:
            done = dict(zip(z["names"].tolist(), z["features"]))
    failed, records = [], data.records()
    for i, r in enumerate(records):
        key = str(r.image.relative_to(data.root))
        if key not in done:
            try:
                img = read_image(r.image)[None]
                ref = read_image(r.ref)[None] if model == "contrique_fr" and r.ref is not None else None
            except Exception as e:  # noqa: BLE001 - one bad file is listed, the others go on
                failed.append(f"{r.image}: {type(e).__name__}: {e}")
                continue
            f = fr_features(encoder, img, ref) if ref is not None else two_scale_features(encoder, img)
            done[key] = f[0].numpy()
            if len(done) % save_every == 0:
                _save_npz(cache, list(done), list(done.values()))
        if progress:
            progress(f"{model} features", i + 1, len(records))
    _save_npz(cache, list(done), list(done.values()))
    return done, failed


def _correlations(pred: np.ndarray, mos: np.ndarray) -> dict[str, float]:
    from scipy.stats import pearsonr, spearmanr

    if np.ptp(pred) == 0 or np.ptp(mos) == 0:
        return {"srcc": float("nan"), "plcc": float("nan"), "n": int(len(mos))}  # undefined for a constant side
    return {"srcc": float(spearmanr(pred, mos)[0]), "plcc": float(pearsonr(pred, mos)[0]), "n": int(len(mos))}


def fit_head(data: MOSDataset, feats: dict[str, np.ndarray], *, k: int = 5, seed: int = 0) -> tuple[RidgeFit, dict]:
    """Ridge (CV alpha) on the train (+ val) split, or on everything without splits; test correlations if any."""
    rows = [(str(r.image.relative_to(data.root)), r) for r in data.records()]
    rows = [(n, r) for n, r in rows if n in feats]
    splits = {r.split for _, r in rows}
    test = [(n, r) for n, r in rows if r.split == "test"]
    train = [(n, r) for n, r in rows if r.split != "test"] if test and len(splits) > 1 else rows
    if len(train) < 4:
        raise InputError(f"{data.name}: only {len(train)} usable training images; a head needs more")
    groups = np.array(
        [str(r.ref) if r.ref is not None else n for n, r in train]
    )  # distorted versions of one content stay together
    x = np.stack([feats[n] for n, _ in train])
    y = np.array([r.mos for _, r in train])
    fit = fit_ridge_cv(x, y, k=k, groups=groups, seed=seed)
    report = {"n_train": len(train), "alpha": fit.alpha, "train": _correlations(fit.predict(x), y)}
    if test and train is not rows:
        xt = np.stack([feats[n] for n, _ in test])
        report["test"] = _correlations(fit.predict(xt), np.array([r.mos for _, r in test]))
    return fit, report


def head_tensors(fit: RidgeFit) -> dict[str, torch.Tensor]:
    return {"coef": torch.from_numpy(fit.coef), "intercept": torch.tensor([fit.intercept], dtype=torch.float64)}
