"""The ``hpsv2`` package (PyPI 1.2.0, tgxs002/HPSv2) as a test-time reference, importable offline.

Two packaging defects of hpsv2 1.2.0 stop ``import hpsv2.src.open_clip`` here, neither touching the
code under test: ``hpsv2/__init__.py`` imports ``clint`` (a progress bar for downloads, not a declared
dependency), and the wheel lacks the vendored tokenizer's ``bpe_simple_vocab_16e6.txt.gz``. Where
they bite, a stand-in ``clint.textui`` module is registered and the missing BPE file is read from
open_clip's copy (the same CLIP BPE file) while the vendored package is imported; nothing else changes.
Install it with ``pip install --no-deps hpsv2`` (its pins would otherwise change torch/open_clip).
"""

from __future__ import annotations

import gzip
import importlib.util
import sys
import types
from typing import Any

import pytest


def import_hpsv2_open_clip() -> Any:
    """``hpsv2.src.open_clip`` (skips when hpsv2 is not installed)."""
    if "hpsv2.src.open_clip" in sys.modules:
        return sys.modules["hpsv2.src.open_clip"]
    if importlib.util.find_spec("hpsv2") is None:
        pytest.skip("hpsv2 is not installed (pip install --no-deps hpsv2)")
    if not _has_clint():
        _shim_clint()
    open_clip_tokenizer = pytest.importorskip("open_clip.tokenizer")
    real_open = gzip.open

    def bpe_fallback(path: Any, *args: Any, **kwargs: Any) -> Any:
        p = str(path)
        if p.endswith("hpsv2/src/open_clip/bpe_simple_vocab_16e6.txt.gz"):
            try:
                return real_open(path, *args, **kwargs)
            except FileNotFoundError:
                return real_open(open_clip_tokenizer.default_bpe(), *args, **kwargs)
        return real_open(path, *args, **kwargs)

    gzip.open = bpe_fallback  # type: ignore[assignment]
    try:
        import hpsv2.src.open_clip as ref
    except ImportError as e:
        pytest.skip(f"hpsv2 is not importable ({e}); pip install --no-deps hpsv2")
    finally:
        gzip.open = real_open  # type: ignore[assignment]
    return ref


def _has_clint() -> bool:
    try:
        import clint.textui  # noqa: F401
    except ImportError:
        return False
    return True


def _shim_clint() -> None:
    clint = types.ModuleType("clint")
    textui = types.ModuleType("clint.textui")
    textui.progress = None  # type: ignore[attr-defined]  # used only by the package's downloads
    clint.textui = textui  # type: ignore[attr-defined]
    sys.modules.setdefault("clint", clint)
    sys.modules.setdefault("clint.textui", textui)


def reference_model(ref: Any) -> Any:
    """The release's ``create_model_and_transforms`` call (hpsv2/img_score.py ``initialize_model``), on the
    meta device and without the laion download (``pretrained=None``): (model, preprocess_val)."""
    import torch

    with torch.device("meta"):
        model, _, preprocess_val = ref.create_model_and_transforms(
            "ViT-H-14", None, precision="amp", device="meta", jit=False, force_quick_gelu=False,
            force_custom_text=False, force_patch_dropout=False, force_image_size=None, pretrained_image=False,
            image_mean=None, image_std=None, light_augmentation=True, aug_cfg={}, output_dict=True,
            with_score_predictor=False, with_region_predictor=False,
        )  # fmt: skip
    return model, preprocess_val
