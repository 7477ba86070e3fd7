"""TANet weights: build the network for a trained or released model, load it, convert released checkpoints.

The released checkpoints (``woshidandan/TANet`` README: ``SRCC_513_LCC_531_MSE_016.pth`` for
TAD66k, ``SRCC_758_LCC_765.pth`` for AVA) are read without unpickling code, checked key by key and
shape by shape against :class:`iqa.models.tanet.TANet`, and written once as verified safetensors
(``tanet_<variant>`` in the converted-weights store). ``iqa weights convert tanet FILE --variant V``
is the converter registered here.

The record of every converted file names the theme-branch mode its weights were trained in
(``options["mode"]``): ``compat`` for the releases (their batch-coupled forward), the training
config's mode for ``iqa train tunet``. Loading runs that mode; asking for the other one is refused,
since those weights never computed it (docs/tunet.md measures how far it falls).
"""

from __future__ import annotations

import json
import warnings
from pathlib import Path
from typing import Any

import torch

from iqa.errors import InputError, WeightsError
from iqa.models.tanet import MODES, VARIANTS, Mode, TANet, Variant
from iqa.weights.converted import load_converted, read_release_checkpoint, save_converted, strip_module
from iqa.weights.converters import Converter, ConverterArg, register_converter

RELEASES: dict[Variant, str] = {"tad66k": "SRCC_513_LCC_531_MSE_016.pth", "ava": "SRCC_758_LCC_765.pth"}
RELEASE_TRUNKS = ("resnet18_places365", "mobilenet_v2_nima")
RELEASE_MODE: Mode = "compat"  # the releases were trained and tested with the batch-coupled forward
TRAINER = "iqa train tunet"  # the record's converter name for weights trained here (always per_image before modes were recorded)


def converted_name(variant: Variant) -> str:
    """Name of the converted release in the store."""
    return f"tanet_{variant}"


def how_to_get(variant: Variant) -> str:
    """Where the released checkpoint is and the command that converts it (for error messages)."""
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


def build_tanet(variant: Variant, mode: Mode, theme_trunk: str = RELEASE_TRUNKS[0],
                aes_trunk: str = RELEASE_TRUNKS[1]) -> TANet:  # fmt: skip
    """The release's architecture, or other trunks (a model trained with ``iqa train tunet --*-trunk``)."""
    if (theme_trunk, aes_trunk) == RELEASE_TRUNKS:
        return TANet(variant=variant, mode=mode)
    from iqa.models.tanet_trunks import aesthetics_trunk
    from iqa.models.tanet_trunks import theme_trunk as build_theme

    t, t_dim = build_theme(theme_trunk)
    a, a_dim = aesthetics_trunk(aes_trunk)
    return TANet(variant=variant, mode=mode, theme_trunk=t, theme_dim=t_dim, aes_trunk=a, aes_dim=a_dim)


def recorded_mode(record: dict[str, Any] | None, source: str) -> Mode | None:
    """The mode a converted file's weights were trained in, from its record; None when the record cannot tell.

    A release converted before the mode was recorded (converter ``tanet``) is known to be compat: it is
    run so, with a warning asking to convert it again so that its record says so.
    """
    if record is None:
        return None
    options = record.get("options") or {}
    mode = options.get("mode")
    if mode is not None:
        if mode not in MODES:
            raise WeightsError(f"{source}: its record names mode {mode!r}, not one of {MODES}; convert it again")
        return mode  # checked against MODES just above
    if record.get("converter") == "tanet":
        variant = options.get("variant", "tad66k")
        warnings.warn(f"{source} was converted before conversions recorded their mode; it is the TANet release, so it "
                      f"runs in {RELEASE_MODE!r} mode. Record it: iqa weights convert tanet "
                      f"{record.get('source', 'FILE')} --variant {variant}", stacklevel=3)  # fmt: skip
        return RELEASE_MODE
    if record.get("converter") == TRAINER:
        return "per_image"  # training ran per_image only until the mode was recorded
    return None


def resolve_mode(requested: Mode | None, trained: Mode | None, source: str) -> Mode:
    """The mode to run: the one the weights were trained in; a different explicit request is refused."""
    if requested is not None and requested not in MODES:
        raise InputError(f"tunet: mode must be one of {MODES} or None (the weights' own), got {requested!r}")
    if trained is None:
        if requested is None:
            raise InputError(f"tunet: {source} does not record the mode its weights were trained in; pass "
                             "mode='compat' (the TANet release's batch-coupled forward) or mode='per_image' "
                             "(weights trained per image)")  # fmt: skip
        return requested
    if requested is not None and requested != trained:
        why = ("the release's theme branch mixes the weights generated for all images of a batch; per-image "
               "scores from those weights are not what the network learnt (docs/tunet.md measures the gap)"
               if trained == "compat" else "compat mode would couple images these weights learnt to score alone")  # fmt: skip
        raise InputError(f"tunet: {source} was trained in {trained!r} mode and cannot run mode={requested!r}: {why}. "
                         f"Leave mode unset (it follows the weights) or use weights trained in {requested!r} mode.")  # fmt: skip
    return trained


def _sibling_record(weights: Path) -> dict[str, Any] | None:
    rec = weights.with_suffix(".json")
    return json.loads(rec.read_text()) if rec.is_file() else None


def load_tanet(variant: Variant, mode: Mode | None = None, weights: str | Path | None = None,
               theme_trunk: str = RELEASE_TRUNKS[0], aes_trunk: str = RELEASE_TRUNKS[1]) -> TANet:  # fmt: skip
    """A TANet holding ``weights`` (a .safetensors file) or the store's converted release, in eval mode.

    It runs the mode its record names (``mode=None``); an explicit other mode is refused
    (:func:`resolve_mode`). A file without a record needs an explicit mode.
    """
    from safetensors.torch import load_file

    if weights is not None:
        path = Path(weights)
        if not path.is_file():
            raise InputError(f"tunet: weights file {weights} not found. {how_to_get(variant)}")
        state, source, record = load_file(str(path)), str(path), _sibling_record(path)
    else:
        state, record = load_converted(converted_name(variant), how_to=how_to_get(variant))
        source = converted_name(variant)
    model = build_tanet(variant, resolve_mode(mode, recorded_mode(record, source), source), theme_trunk, aes_trunk)
    check_state(model, state, source)
    model.load_state_dict(state)
    return model.eval()


def convert_tanet(source: str | Path, variant: Variant = "tad66k", *, out_dir: Path | None = None) -> Path:
    """Released TANet checkpoint (.pth, read without unpickling code) -> verified safetensors.

    The key layout and every shape are checked against :class:`TANet` before anything is written.
    """
    if variant not in VARIANTS:
        raise InputError(f"TANet variant must be one of {VARIANTS}, got {variant!r}")
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
        options={"variant": variant, "mode": RELEASE_MODE},
        out_dir=out_dir,
    )


def _convert_release(file: Path, variant: Variant, *, out_dir: Path | None = None) -> list[Path]:
    return [convert_tanet(file, variant, out_dir=out_dir)]


register_converter(
    Converter(
        name="tanet",
        convert=_convert_release,
        help="TANet (tunet): a released checkpoint FILE (.pth) -> tanet_<variant>.safetensors.",
        args=(
            ConverterArg("file", "The released .pth checkpoint.", positional=True, required=True),
            ConverterArg(
                "variant",
                "tad66k: SRCC_513_LCC_531_MSE_016.pth; ava: SRCC_758_LCC_765.pth.",
                kind="choice",
                choices=VARIANTS,
                default="tad66k",
            ),
        ),
        usage="use it with iqa.create('tunet', variant='{variant}') (it runs the release's batch-coupled mode 'compat')",
    )
)
