"""MANIQA: iqa's ``maniqa_koniq`` against pyiqa's ``MANIQA`` (test-time reference).

Both networks hold the same random state dict in the released key layout (the released sizes:
ViT-B/8 at 224 px, 136M parameters); each runs its own preprocessing from the same decoded image:
normalisation to [-1, 1] and the 20 uniform 224 px crops of pyiqa's test protocol (iqa's default
``crops="grid"``), one weighted mean over all patches. The koniq case stands for kadid and pipal
(same network, other weights and Swin scale).

``MANIQA_BENCH_CROPS=N`` scores N crops per image on both sides instead of the released 20 (time is
linear in crops: ~80 GFLOP each); the ratio holds, the absolute times scale.
"""

from __future__ import annotations

import os

import torch

from benchmarks.learned import Case

CROPS = int(os.environ.get("MANIQA_BENCH_CROPS", "20"))  # the released protocol's 20 unless asked


def _pair() -> tuple[torch.nn.Module, torch.nn.Module | None]:
    import iqa
    from iqa.models.maniqa import MANIQA

    try:
        import timm
        from pyiqa.archs.maniqa_arch import MANIQA as PyiqaMANIQA
    except ImportError:
        PyiqaMANIQA = None  # noqa: N806
    with torch.device("meta"):  # no random init of 136M parameters that are assigned below
        net = MANIQA("koniq")
    theirs = None
    if PyiqaMANIQA is not None:
        real = timm.create_model
        timm.create_model = lambda name, **kw: real(name, **{**kw, "pretrained": False})  # never download
        try:
            theirs = PyiqaMANIQA(pretrained=False, train_dataset="koniq", scale=0.8, test_sample=CROPS).eval()
        finally:
            timm.create_model = real
    layout = (theirs or net).state_dict()
    g = torch.Generator().manual_seed(0)
    from iqa.models.maniqa import _relative_position_index, _shift_mask

    state = {}
    for k, v in layout.items():  # random floats; the index and shift-mask buffers as built
        if k.endswith("relative_position_index"):
            state[k] = _relative_position_index(4)
        elif k.endswith("attn_mask"):
            state[k] = _shift_mask(28, 28, 4, 2)
        else:
            state[k] = 0.02 * torch.randn(v.shape, generator=g)
    state["fc_score.3.bias"] = torch.tensor([0.5])
    net.load_state_dict(state, strict=True, assign=True)
    if theirs is not None:
        theirs.load_state_dict(state, strict=True)
    return iqa.create("maniqa_koniq", model=net.eval(), num_crops=CROPS), theirs


def cases(img: torch.Tensor, ref: torch.Tensor) -> list[Case]:
    ours, theirs = _pair()
    return [
        Case(
            name="maniqa_koniq",
            ours=lambda: ours(img),
            reference=(lambda: theirs(img).reshape(-1)) if theirs is not None else None,
            reference_name="pyiqa 0.1.16 MANIQA (test-time reference)",
        )
    ]
