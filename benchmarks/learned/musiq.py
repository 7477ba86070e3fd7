"""MUSIQ: iqa's ``musiq_koniq`` / ``musiq_ava`` against pyiqa's ``MUSIQ`` (test-time reference).

Both networks load the same random state dict in the released key layout (the released sizes);
each runs its own preprocessing from the same decoded image (pyiqa: multi-scale patches padded to
49 + 144 tokens with an attention mask; iqa: the same tokens without the padding). The koniq case
stands for spaq and paq2piq (same network, other weights).
"""

from __future__ import annotations

import torch

from benchmarks.learned import Case


def _pair(variant: str, num_class: int) -> tuple[torch.nn.Module, torch.nn.Module | None]:
    import iqa
    from iqa.models.musiq import MUSIQ
    from tests.helpers.random_weights import randomize

    state = randomize(MUSIQ(variant), 0)  # type: ignore[arg-type]
    net = MUSIQ(variant)  # type: ignore[arg-type]
    net.load_state_dict(state, strict=True)
    ours = iqa.create(f"musiq_{variant}", model=net.eval())
    try:
        from pyiqa.archs.musiq_arch import MUSIQ as PyiqaMUSIQ
    except ImportError:
        return ours, None
    theirs = PyiqaMUSIQ(pretrained=False, num_class=num_class).eval()
    theirs.load_state_dict(state, strict=True)
    return ours, theirs


def cases(img: torch.Tensor, ref: torch.Tensor) -> list[Case]:
    out = []
    for variant, num_class in (("koniq", 1), ("ava", 10)):
        ours, theirs = _pair(variant, num_class)
        out.append(
            Case(
                name=f"musiq_{variant}",
                ours=lambda m=ours: m(img),
                reference=(lambda t=theirs: t(img).reshape(-1)) if theirs is not None else None,
                reference_name="pyiqa 0.1.16 MUSIQ (test-time reference)",
            )
        )
    return out
