"""TOPIQ: iqa's ``topiq_*`` against pyiqa's ``CFANet`` (test-time reference) with the same random weights.

Each variant's released layout gets one seeded random state dict, saved as the release is
(``{"params": state}``) and loaded by iqa through ``weights=FILE``; pyiqa's network gets the same state
dict. Both run their own input path (flive and the ResNet-50 aesthetics model resize the shorter side to 384, the
Swin-B aesthetics model, ``topiq_iaa``, every image to 384 x 384; pyiqa's Swin trunk is built without its
ImageNet download, and the saved shifted-window masks keep their computed values, as in the release).
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
    ("topiq_iaa", "topiq_iaa", "iaa_ava_swin"),
)


def _pyiqa(name: str, state: dict[str, torch.Tensor]) -> torch.nn.Module | None:
    try:
        import pyiqa
    except ImportError:
        return None
    import pyiqa.archs.topiq_arch as arch

    real = arch.create_swin  # CFANet asks for the Swin trunk with pretrained=True unconditionally: no download
    arch.create_swin = lambda n, **kw: real(n, **{**kw, "pretrained": False})
    try:
        net = pyiqa.create_metric(name, pretrained=False, backbone_pretrain=False, device="cpu").net
    finally:
        arch.create_swin = real
    net.load_state_dict(state, strict=True)
    return net.eval()


def _case(name: str, pyiqa_name: str, variant: str, img: torch.Tensor, ref: torch.Tensor) -> Case:
    import iqa
    from iqa.models.topiq import TopIQ
    from tests.helpers.random_weights import randomize

    net = TopIQ(variant)  # type: ignore[arg-type]
    built = net.state_dict()
    state = {k: built[k] if k.endswith("attn_mask") else v for k, v in randomize(net, 0).items()}
    del net, built
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
