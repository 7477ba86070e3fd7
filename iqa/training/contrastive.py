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


def multi_positive_nt_xent(
    z_i: torch.Tensor, z_j: torch.Tensor, labels: torch.Tensor, tau: float = 0.1
) -> torch.Tensor:
    """Loss for two views' embeddings (N, D) each and their labels (N, C) (multi-hot or one-hot)."""
    if z_i.shape != z_j.shape or z_i.dim() != 2 or labels.dim() != 2 or labels.shape[0] != z_i.shape[0]:
        raise InputError(
            f"need z_i, z_j of shape (N, D) and labels (N, C); got {tuple(z_i.shape)}, {tuple(z_j.shape)}, {tuple(labels.shape)}"
        )
    z = F.normalize(torch.cat([z_i, z_j]), dim=1)
    lab = torch.cat([labels, labels]).to(z.dtype)
    s = z @ z.t() / tau
    eye = torch.eye(len(z), dtype=torch.bool, device=z.device)
    m = (lab @ lab.t()).masked_fill(eye, 0)
    if bool((m.sum(1) == 0).any()):
        raise InputError("an anchor has no positive (every embedding needs another with a shared label)")
    log_partition = torch.logsumexp(s.masked_fill(eye, float("-inf")), dim=1)
    return (log_partition - (m * s).sum(1) / m.sum(1)).mean()


def quality_aware_nce(z: torch.Tensor, content: torch.Tensor, degradation: torch.Tensor, tau: float = 0.2,
                      degradation_weight: float = 1.0) -> torch.Tensor:  # fmt: skip
    """QPT-style quality-aware InfoNCE over in-batch embeddings (Zhao et al., CVPR 2023; no code released).

    ``z`` (N, D) are patch embeddings; ``content[n]`` names the source image and ``degradation[n]`` the
    degraded version of it the patch was cut from. For anchor i, the positives are the other patches
    of the same degraded image (same content and degradation: "patches from one distorted image have
    similar quality"); every other patch is a negative: the same content under another degradation
    (degradation negatives, optionally weighted by ``degradation_weight`` in the partition) and other
    contents (content negatives). With S = cos / tau and P_i the positives of i,

        loss = mean_i mean_{p in P_i} -log( exp(S_ip) / (exp(S_ip) + sum_{k in N_i} w_k exp(S_ik)) )

    which is the spec's formula per (anchor, positive) pair. In-batch negatives replace the paper's
    (unverified) MoCo queue.
    """
    if z.dim() != 2 or content.shape != (len(z),) or degradation.shape != (len(z),):
        raise InputError(f"need z (N, D) and content, degradation ids of shape (N,); got {tuple(z.shape)}, "
                         f"{tuple(content.shape)}, {tuple(degradation.shape)}")  # fmt: skip
    z = F.normalize(z, dim=1)
    s = z @ z.t() / tau
    same_c = content[:, None] == content[None, :]
    same_img = same_c & (degradation[:, None] == degradation[None, :])
    eye = torch.eye(len(z), dtype=torch.bool, device=z.device)
    pos = same_img & ~eye
    if bool((pos.sum(1) == 0).any()):
        raise InputError("every patch needs another patch of the same degraded image (two crops per degraded image)")
    w = torch.where(
        same_c & ~same_img, torch.as_tensor(degradation_weight, dtype=s.dtype), torch.ones((), dtype=s.dtype)
    )
    neg = ~same_img
    log_neg = torch.logsumexp(s.masked_fill(~neg, float("-inf")) + torch.log(w), dim=1)  # (N,): log sum over negatives
    log_den = torch.logaddexp(s, log_neg[:, None])  # per (i, p): log(exp(S_ip) + negatives)
    per_pair = (log_den - s).masked_fill(~pos, 0)
    return (per_pair.sum(1) / pos.sum(1)).mean()
