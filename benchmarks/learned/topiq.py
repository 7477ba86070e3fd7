"""TOPIQ: iqa's ``topiq_*`` against pyiqa's ``CFANet`` (test-time reference) with the same random weights.

Each variant's released layout gets one seeded random state dict, saved as the release is
(``{"params": state}``) and loaded by iqa through ``weights=FILE``; pyiqa's network gets the same state
dict. Both run their own input path (flive and the aesthetics model resize the shorter side to 384).
topiq_nr_spaq and topiq_fr_pipal compute exactly as topiq_nr and topiq_fr (other weights): not repeated.
"""

from __future__ import annotations

import tempfile
from pathlib import Path

import torch

from benchmarks.learned import Case

# iqa name, pyiqa name, iqa.models.topiq variant
VARIANTS = (
    ("topiq_nr", "topiq_nr", "nr_koniq"),
    ("topiq_nr_flive", "topiq_nr-flive", "nr_flive"),
    ("topiq_fr", "topiq_fr", "fr_kadid"),
    ("topiq_iaa_res50", "topiq_iaa_res50", "iaa_ava_res50"),
)


def _pyiqa(name: str, state: dict[str, torch.Tensor]) -> torch.nn.Module | None:
    try:
        import pyiqa
    except ImportError:
        return None
    net = pyiqa.create_metric(name, pretrained=False, backbone_pretrain=False, device="cpu").net
    net.load_state_dict(state, strict=True)
    return net.eval()


def _case(name: str, pyiqa_name: str, variant: str, img: torch.Tensor, ref: torch.Tensor) -> Case:
    import iqa
    from iqa.models.topiq import TopIQ
    from tests.helpers.random_weights import randomize

    state = randomize(TopIQ(variant), 0)  # type: ignore[arg-type]
    with tempfile.TemporaryDirectory() as d:
        f = Path(d) / "cfanet.pth"
        torch.save({"params": state}, f)
        ours = iqa.create(name, weights=f)
    theirs = _pyiqa(pyiqa_name, state)
    args = (img, ref) if variant.startswith("fr") else (img,)
    return Case(
        name=name,
        ours=lambda: ours(*args),
        reference=None if theirs is None else lambda: theirs(*args).reshape(-1),
        reference_name="pyiqa 0.1.16 CFANet (test-time reference)",
    )


def cases(img: torch.Tensor, ref: torch.Tensor) -> list[Case]:
    return [_case(*v, img, ref) for v in VARIANTS]
