"""CONTRIQUE's multi-positive NT-Xent on small hand-computed cases (issue 8)."""

from __future__ import annotations

import math

import pytest
import torch

from iqa.errors import InputError
from iqa.training.contrastive import multi_positive_nt_xent

E1, E2 = torch.tensor([1.0, 0.0]), torch.tensor([0.0, 1.0])


def test_views_swapped_onto_orthogonal_vectors() -> None:
    # tau = 1; anchors e1 (class 0), e2 (class 1), e2 (class 0), e1 (class 1): every anchor's positive
    # has similarity 0, the others 0 and 1: loss = log(1 + 1 + e) - 0 for each.
    loss = multi_positive_nt_xent(torch.stack([E1, E2]), torch.stack([E2, E1]), torch.eye(2), tau=1.0)
    assert loss.item() == pytest.approx(math.log(2 + math.e))


def test_aligned_views_are_almost_free() -> None:
    # tau = 0.1: the positive has similarity 10, the two others 0: loss = log(2 + e^10) - 10
    z = torch.stack([E1, E2]).double()  # float64: the loss is a 1e-4 difference of two numbers near 10
    loss = multi_positive_nt_xent(z, z.clone(), torch.eye(2))
    assert loss.item() == pytest.approx(math.log(2 + math.exp(10)) - 10, rel=1e-9)


def test_multi_hot_labels_weight_positives_by_shared_classes() -> None:
    # image 0 has classes {0, 1}, image 1 has {0}: M = [[2, 1], [1, 1]] between them (diagonal removed).
    # anchors e1 (img0), e2 (img1), e1 (img0), e2 (img1), tau = 1:
    #   img0 anchors: log(2 + e) - (2*1 + 1*0 + 1*0) / 4;  img1 anchors: log(2 + e) - (1*1) / 3
    labels = torch.tensor([[1.0, 1.0], [1.0, 0.0]])
    loss = multi_positive_nt_xent(torch.stack([E1, E2]), torch.stack([E1, E2]), labels, tau=1.0)
    assert loss.item() == pytest.approx(math.log(2 + math.e) - (0.5 + 1 / 3) / 2)


def test_scale_invariance_and_errors() -> None:
    z = torch.randn(4, 8, generator=torch.Generator().manual_seed(0))
    w = torch.randn(4, 8, generator=torch.Generator().manual_seed(1))
    lab = torch.eye(4)
    assert multi_positive_nt_xent(3 * z, w, lab).item() == pytest.approx(
        multi_positive_nt_xent(z, w, lab).item(), rel=1e-6
    )
    with pytest.raises(InputError, match="shape"):
        multi_positive_nt_xent(z, w[:3], lab)
    with pytest.raises(InputError, match="no positive"):
        multi_positive_nt_xent(z, w, torch.zeros(4, 2))


# --- QPT-style quality-aware InfoNCE ------------------------------------------------------------------


def test_qpt_two_crops_of_two_degradations() -> None:
    from iqa.training.contrastive import quality_aware_nce

    # tau = 1; one content, degradations 0 (crops e1, e1) and 1 (crops e2, e2). Every anchor: positive
    # similarity 1, two degradation negatives at 0: -log(e / (e + 2)).
    z = torch.stack([E1, E1, E2, E2])
    loss = quality_aware_nce(z, torch.tensor([0, 0, 0, 0]), torch.tensor([0, 0, 1, 1]), tau=1.0)
    assert loss.item() == pytest.approx(math.log(math.e + 2) - 1)
    # degradation negatives weighted by 1/2 in the partition: -log(e / (e + 1))
    half = quality_aware_nce(z, torch.tensor([0, 0, 0, 0]), torch.tensor([0, 0, 1, 1]), tau=1.0, degradation_weight=0.5)
    assert half.item() == pytest.approx(math.log(math.e + 1) - 1)


def test_qpt_several_positives_and_content_negatives() -> None:
    from iqa.training.contrastive import quality_aware_nce

    # tau = 1; content 0 has three crops (e1, e1, e2) of one degraded image, content 1 two crops (e2, e2).
    #   anchors 0, 1 (e1): positives {e1: S=1, e2: S=0}, negatives {e2, e2: S=0}
    #       -> mean(-log(e / (e + 2)), -log(1 / 3))
    #   anchor 2 (e2): positives {e1, e1: S=0}, negatives {e2, e2: S=1} -> -log(1 / (1 + 2e))
    #   anchors 3, 4 (e2): positive {e2: S=1}, negatives {e1, e1: S=0; e2: S=1} -> -log(e / (2e + 2))
    z = torch.stack([E1, E1, E2, E2, E2])
    loss = quality_aware_nce(z, torch.tensor([0, 0, 0, 1, 1]), torch.tensor([0, 0, 0, 0, 0]), tau=1.0)
    e = math.e
    by_hand = (2 * (math.log(e + 2) - 1 + math.log(3)) / 2 + math.log(1 + 2 * e) + 2 * (math.log(2 * e + 2) - 1)) / 5
    assert loss.item() == pytest.approx(by_hand)


def test_qpt_needs_a_positive_for_every_patch() -> None:
    from iqa.training.contrastive import quality_aware_nce

    with pytest.raises(InputError, match="two crops per degraded image"):
        quality_aware_nce(torch.stack([E1, E2]), torch.tensor([0, 0]), torch.tensor([0, 1]))
    with pytest.raises(InputError, match=r"content, degradation ids of shape \(N,\)"):
        quality_aware_nce(torch.stack([E1, E2]), torch.tensor([0]), torch.tensor([0, 1]))
