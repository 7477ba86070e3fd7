"""Test oracle: the released TANet forward (woshidandan/TANet, code/TAD66K and code/AVA train_nni.py),
transcribed as plain tensor operations over a state dict in the release's key layout.

Written step by step from the release's forward in eval mode: the RGB branch (12 x 12 average pool,
pairwise cosine similarities, ReLU, Linear, softmax), the theme branch (ResNet-18 Places365 logits,
the hypernetwork's W and b, fc1 -> BatchNorm1d (running statistics) -> PReLU, then
F.linear(q, W, b) giving (N, N), softmax over dim 1 (TAD66k) or a fresh BatchNorm1d(N) in training
mode and PReLU (AVA), AdaptiveAvgPool2d((10, 1)) on the (N, N, 1) tensor), the MobileNetV2 branch,
then the head. The two trunks are run by the caller (they are standard networks); everything the
release does differently from a textbook model is here.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F


def _prelu(x: torch.Tensor, a: torch.Tensor) -> torch.Tensor:
    return torch.where(x >= 0, x, a * x)


def released_forward(sd: dict[str, torch.Tensor], x: torch.Tensor, theme_logits: torch.Tensor, aes_features: torch.Tensor,
                     variant: str) -> torch.Tensor:  # fmt: skip
    n = x.shape[0]
    # RGB branch
    pooled = F.adaptive_avg_pool2d(x, (12, 12))
    qry = pooled.reshape(n, 3, 144).permute(0, 2, 1)  # (N, 144, 3)
    key = pooled.reshape(n, 3, 144)  # (N, 3, 144)
    sim = torch.matmul(qry, key)
    denom = torch.matmul(torch.norm(qry, dim=2, keepdim=True), torch.norm(key, dim=1, keepdim=True)).clamp(min=1e-8)
    rgb = torch.softmax(
        F.linear(torch.relu((sim / denom).reshape(n, -1)), sd["head_rgb.2.weight"], sd["head_rgb.2.bias"]), dim=1
    )
    # theme branch
    t = theme_logits
    w = F.linear(t, sd["hypernet.last_out_w.weight"], sd["hypernet.last_out_w.bias"])
    b = F.linear(t, sd["hypernet.last_out_b.weight"], sd["hypernet.last_out_b.bias"])
    q = F.linear(t, sd["tygertnet.fc1.weight"], sd["tygertnet.fc1.bias"])
    q = (q - sd["tygertnet.bn1.running_mean"]) / torch.sqrt(sd["tygertnet.bn1.running_var"] + 1e-5)
    q = q * sd["tygertnet.bn1.weight"] + sd["tygertnet.bn1.bias"]
    q = _prelu(q, sd["tygertnet.relu1.weight"])
    mixed = F.linear(q, w, b)  # (N, N); b is (N, 1)
    if variant == "tad66k":
        mixed = torch.softmax(mixed, dim=1)
    else:
        mu = mixed.mean(0, keepdim=True)
        var = mixed.var(0, unbiased=False, keepdim=True)
        mixed = _prelu((mixed - mu) / torch.sqrt(var + 1e-5), sd["tygertnet.relu7.weight"])
    theme = F.adaptive_avg_pool2d(mixed.unsqueeze(2), (10, 1)).squeeze(2)
    # aesthetics branch
    aes = F.linear(torch.relu(aes_features), sd["mobileNet.head.2.weight"], sd["mobileNet.head.2.bias"])
    z = torch.relu(torch.cat([aes, theme, rgb], 1))
    out = F.linear(z, sd["head.2.weight"], sd["head.2.bias"])
    return torch.sigmoid(out)[:, 0] if variant == "tad66k" else torch.softmax(out, dim=1)
