"""Batches for quality-aware pre-training, drawn on the fly from pristine images and the distortion bank.

CONTRIQUE (``train.py`` of pavancm/CONTRIQUE): each step takes B *synthetic* images, each a region
of a pristine image under one of 126 classes (25 bank types x 5 levels, plus "pristine"; KADIS-700k
in the paper, generated here by :mod:`iqa.augment.bank`), and B *authentic* regions, each its own
class. Both get a full-scale and a half-scale view (:mod:`iqa.training.views`). Labels are
(2B, 126 + B): the synthetic class, or the authentic image's identity column. The paper's authentic
images carry real distortions; regions of pristine photos carry none, and as their own classes they
only teach content, so ``authentic`` can lower their number (docs/quality_pretraining.md: runs 1-2
used 16, run 3 none).

QPT-style: each of B regions is degraded twice by independent chains (:func:`iqa.augment.chains.sample_chain`,
one to ``max_ops`` steps in random order), and two overlapping crops are cut from each degraded copy
(:mod:`iqa.training.crops`): 4B crops with content and degradation ids for
:func:`iqa.training.contrastive.quality_aware_nce`.

A step's draws come from ``numpy.random.default_rng([seed, step])``, so a resumed run sees the same
batches as an uninterrupted one.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import torch
from PIL import Image

from iqa.augment.bank import distort, list_distortions
from iqa.augment.chains import N_CLASSES, apply_chain, sample_chain
from iqa.errors import InputError
from iqa.training.crops import pair_crops
from iqa.training.views import view_pair


def region(src: np.ndarray, size: int, rng: np.random.Generator) -> np.ndarray:
    """A random ``size`` x ``size`` region of an HxWx3 uint8 image."""
    h, w = src.shape[:2]
    if h < size or w < size:
        raise InputError(f"a {h}x{w} training image is smaller than the {size}-pixel region; use a smaller crop")
    y, x = int(rng.integers(0, h - size + 1)), int(rng.integers(0, w - size + 1))
    return src[y : y + size, x : x + size]


def _to_float(a: np.ndarray) -> torch.Tensor:
    return torch.from_numpy(a.copy()).permute(2, 0, 1).float() / 255


def _to_uint8(t: torch.Tensor) -> np.ndarray:
    return (t.clamp(0, 1) * 255).round().to(torch.uint8).permute(1, 2, 0).numpy()


def synthetic_class(a: np.ndarray, k: int, seed: int) -> np.ndarray:
    """Class k of 126: type k // 5 + 1 at level k % 5 + 1 (the bank's KADID order), or 125 = pristine."""
    if k == N_CLASSES - 1:
        return a
    name = list_distortions()[k // 5]
    return _to_uint8(distort(_to_float(a), name, level=k % 5 + 1, seed=seed))


def synthetic_classes(batch: int, repeats: int, rng: np.random.Generator) -> list[int]:
    """``batch`` class draws: uniform and independent (``repeats`` = 1, the release), or ceil(B / repeats)
    distinct classes each given to ``repeats`` images of (usually) different contents.

    With the release's batch of 256 synthetic images, most of the 126 classes occur twice or more, so
    every batch holds positives of the same distortion across contents. With a CPU batch of 16 almost
    every class is drawn once, and its only positives are its own patches: the loss then rewards content,
    not quality. Repeats restore the cross-content positives at small batches.
    """
    if repeats <= 1:
        return [int(rng.integers(0, N_CLASSES)) for _ in range(batch)]
    n = -(-batch // repeats)
    classes = rng.choice(N_CLASSES, size=n, replace=False)
    return [int(k) for k in np.repeat(classes, repeats)[:batch]]


def contrique_batch(sources: list[np.ndarray], batch: int, crop: int, rng: np.random.Generator,
                    class_repeats: int = 1, authentic: int | None = None) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:  # fmt: skip
    """(views A (B + U, 3, c, c), views B, labels (B + U, 126 + U)): rows 0..B-1 synthetic, then U authentic
    (U = B by default, as the release).
    """
    u = batch if authentic is None else authentic
    va, vb = [], []
    labels = torch.zeros(batch + u, N_CLASSES + u)
    classes = synthetic_classes(batch, class_repeats, rng)
    for i in range(batch + u):
        a = region(sources[int(rng.integers(0, len(sources)))], 2 * crop, rng)
        if i < batch:
            k = classes[i]
            a = synthetic_class(a, k, int(rng.integers(0, 2**31)))
            labels[i, k] = 1
        else:
            labels[i, N_CLASSES + i - batch] = 1
        x, y = view_pair(Image.fromarray(a), crop, rng)
        va.append(x)
        vb.append(y)
    return torch.stack(va), torch.stack(vb), labels


def qpt_batch(
    sources: list[np.ndarray], batch: int, crop: int, rng: np.random.Generator, max_ops: int = 3
) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor, int]:
    """(crops (4B, 3, c, c), content ids, degradation ids, number of IoU fallbacks)."""
    crops, content, degr, fallbacks = [], [], [], 0
    for i in range(batch):
        a = _to_float(region(sources[int(rng.integers(0, len(sources)))], 2 * crop, rng))
        c1 = sample_chain(rng, min_ops=1, max_ops=max_ops, one_per_family=False)
        c2 = sample_chain(rng, min_ops=1, max_ops=max_ops, one_per_family=False)
        while c2 == c1:  # identical degradations would make a "degradation negative" a positive
            c2 = sample_chain(rng, min_ops=1, max_ops=max_ops, one_per_family=False)
        for j, chain in enumerate((c1, c2)):
            d = apply_chain(a, chain, seed=int(rng.integers(0, 2**31))).clamp(0, 1)
            p, q, ok = pair_crops(d.shape[1], d.shape[2], crop, rng)
            fallbacks += not ok
            for y, x in (p, q):
                c = d[:, y : y + crop, x : x + crop]
                crops.append(c.flip(-1) if rng.random() < 0.5 else c)
                content.append(i)
                degr.append(j)
    return torch.stack(crops), torch.tensor(content), torch.tensor(degr), fallbacks


def load_sources(folders: list[str], min_side: int) -> tuple[list[np.ndarray], list[str]]:
    """8-bit RGB arrays of every image under ``folders`` (recursive) at least ``min_side`` on each side.

    Returns (images, skipped) where ``skipped`` names each unreadable or too-small file and why.
    """
    from iqa.io.folders import list_images

    if not folders:
        raise InputError('no image folders given: set images = ["DIR", ...] in the config')
    images, skipped = [], []
    for folder in folders:
        if not Path(folder).is_dir():
            raise InputError(f"image folder {folder} does not exist")
        for rel in list_images(folder, recursive=True):
            p = Path(folder) / rel
            try:
                with Image.open(p) as im:
                    a = np.asarray(im.convert("RGB"))
            except Exception as e:  # noqa: BLE001 - any unreadable file is listed, the run goes on
                skipped.append(f"{p}: unreadable ({type(e).__name__}: {e})")
                continue
            if min(a.shape[:2]) < min_side:
                skipped.append(f"{p}: {a.shape[1]}x{a.shape[0]} is smaller than {min_side} (twice the crop)")
                continue
            images.append(a)
    if not images:
        raise InputError(f"no usable training images in {folders} ({len(skipped)} skipped)")
    return images, skipped
