"""Contrastive losses for quality-aware pre-training.

``multi_positive_nt_xent``: CONTRIQUE's loss (Madhusudana et al., "Image Quality Assessment using
Contrastive Learning", IEEE TIP 2022; reference ``pavancm/CONTRIQUE``, ``modules/nt_xent_multiclass.py``):
the two views' embeddings are stacked, cosine similarities divided by tau (0.1), and each anchor's
log-partition over all other embeddings is offset by the mean similarity to its positives, where
the positive weights are the (multi-hot) label overlaps M = L L^T with the diagonal removed:

    loss = mean_i [ log sum_{k != i} exp(S_ik) - (sum_j M_ij S_ij) / (sum_j M_ij) ]
"""

from __future__ import annotations

import torch
import torch.nn.functional as F

from iqa.errors import InputError


def multi_positive_nt_xent(z_i: torch.Tensor, z_j: torch.Tensor, labels: torch.Tensor, tau: float = 0.1) -> torch.Tensor:
    """Loss for two views' embeddings (N, D) each and their labels (N, C) (multi-hot or one-hot)."""
    if z_i.shape != z_j.shape or z_i.dim() != 2 or labels.dim() != 2 or labels.shape[0] != z_i.shape[0]:
        raise InputError(f"need z_i, z_j of shape (N, D) and labels (N, C); got {tuple(z_i.shape)}, {tuple(z_j.shape)}, {tuple(labels.shape)}")
    z = F.normalize(torch.cat([z_i, z_j]), dim=1)
    lab = torch.cat([labels, labels]).to(z.dtype)
    s = z @ z.t() / tau
    eye = torch.eye(len(z), dtype=torch.bool, device=z.device)
    m = (lab @ lab.t()).masked_fill(eye, 0)
    if bool((m.sum(1) == 0).any()):
        raise InputError("an anchor has no positive (every embedding needs another with a shared label)")
    log_partition = torch.logsumexp(s.masked_fill(eye, float("-inf")), dim=1)
    return (log_partition - (m * s).sum(1) / m.sum(1)).mean()
