"""How far TANet's per-image theme branch falls from the release's batch-coupled one (docs/tunet.md).

    python experiments/tunet_modes.py [--images 96] [--seeds 3]

No released checkpoint is available offline, so each seed makes a random state dict in the
release's layout (torch.manual_seed(seed), BatchNorm statistics and the PReLU slope set away from
their defaults as a trained model has them), saves it as the release does (DataParallel
``module.`` keys), converts it with ``convert_tanet`` into a temporary store and loads it with
``iqa.create("tunet", variant=V)``, which runs the recorded ``compat`` mode. The same weights in a
``TANet(mode="per_image")`` give the per-image scores. Images: the first ``--images`` colour
images of ../shared/data/images (CBSD68, McMaster, Set14, Set5, Urban50 in sorted order), resized
as the release's test transform, scored in the release's test loader order with its batch size
(TAD66k 40, AVA 48; the last batch partial, as DataLoader without drop_last). Printed per variant
and seed: SRCC and mean absolute difference (1-10 scale) between per-image and compat scores, and,
as the yardstick of compat's own batch dependence, between compat in that order and compat with
the images shuffled into other batches.
"""

from __future__ import annotations

import argparse
import os
import tempfile
from pathlib import Path

import numpy as np
import torch
from PIL import Image
from scipy.stats import spearmanr

import iqa
from iqa.models.tanet import TANet, Variant, preprocess, rgb_attention, score_of
from iqa.models.tanet_weights import convert_tanet

SHARED = Path(__file__).resolve().parents[2] / "shared"
SETS = ("CBSD68", "McMaster", "Set14", "Set5", "Urban50")
TEST_BATCH: dict[Variant, int] = {"tad66k": 40, "ava": 48}  # option.py defaults of code/TAD66K and code/AVA


def load_images(n: int) -> torch.Tensor:
    """(n, 3, 224, 224): the release's test transform (resize to 224 x 224, ImageNet mean/std)."""
    files = [f for s in SETS for f in sorted((SHARED / "data" / "images" / s).iterdir())][:n]
    out = []
    for f in files:
        arr = np.asarray(Image.open(f).convert("RGB"), dtype=np.float32) / 255
        out.append(preprocess(torch.from_numpy(arr).permute(2, 0, 1)[None])[0])
    return torch.stack(out)


def random_release(variant: Variant, seed: int) -> dict[str, torch.Tensor]:
    """A seeded random state dict in the release's layout, with non-default BatchNorm statistics."""
    torch.manual_seed(seed)
    net = TANet(variant=variant)
    with torch.no_grad():
        for mod in net.modules():
            if isinstance(mod, (torch.nn.BatchNorm1d, torch.nn.BatchNorm2d)):
                mod.running_mean.uniform_(-0.1, 0.1)
                mod.running_var.uniform_(0.5, 1.5)
        net.tygertnet.relu7.weight.fill_(0.1)
    return net.state_dict()


@torch.no_grad()
def trunk_outputs(model: TANet, x: torch.Tensor) -> dict[str, torch.Tensor]:
    """What the theme, aesthetics and RGB branches compute before any batch coupling (one pass, reused)."""
    return {
        "theme_logits": model.res365_last(x),
        "aes_features": model.mobileNet.base_model(x).flatten(1),
        "rgb": model.head_rgb(rgb_attention(x)),
    }


@torch.no_grad()
def head_scores(model: TANet, feats: dict[str, torch.Tensor], idx: torch.Tensor) -> torch.Tensor:
    """``TANet.forward`` from cached trunk outputs, for the images ``idx`` as one batch; 1-10 scores."""
    t = feats["theme_logits"][idx]
    theme = model.tygertnet(t, *model.hypernet(t), model.mode)  # the only batch-coupled step
    aes = model.mobileNet.head(feats["aes_features"][idx])
    out = model.head(torch.cat([aes, theme, feats["rgb"][idx]], 1))
    return score_of(out[:, 0] if model.variant == "tad66k" else out, model.variant)


def scores(model: TANet, feats: dict[str, torch.Tensor], order: torch.Tensor, batch: int) -> np.ndarray:
    """Scores of the images in ``order`` in consecutive batches of ``batch`` (the release's loader), by image."""
    out = torch.empty(len(order))
    for i in range(0, len(order), batch):
        out[order[i : i + batch]] = head_scores(model, feats, order[i : i + batch])
    return out.numpy()


def compare(a: np.ndarray, b: np.ndarray) -> tuple[float, float]:
    return float(spearmanr(a, b).statistic), float(np.abs(a - b).mean())


def load_release(variant: Variant, seed: int, tmp: Path) -> TANet:
    """The seeded random release, converted and loaded as a user's would be (``iqa.create("tunet")``)."""
    ckpt = tmp / f"release_{variant}_{seed}.pth"
    torch.save({f"module.{k}": v for k, v in random_release(variant, seed).items()}, ckpt)
    os.environ["IQA_CACHE_DIR"] = str(tmp / f"cache_{variant}_{seed}")
    convert_tanet(ckpt, variant)
    released = iqa.create("tunet", variant=variant).model
    assert released.mode == "compat", released.mode  # the converted release runs its recorded mode
    return released


def run(variant: Variant, seed: int, x: torch.Tensor, tmp: Path) -> dict[str, float]:
    released = load_release(variant, seed, tmp)
    per_image = TANet(variant=variant, mode="per_image")
    per_image.load_state_dict(released.state_dict())
    per_image.eval()
    feats = trunk_outputs(released, x)
    with torch.no_grad():  # the cached path is the network's forward (checked on one batch of 8)
        few = torch.arange(8)
        torch.testing.assert_close(head_scores(released, feats, few), score_of(released(x[few]), variant))
    b, ordered = TEST_BATCH[variant], torch.arange(len(x))
    compat = scores(released, feats, ordered, b)
    mine = scores(per_image, feats, ordered, b)
    shuffled = scores(released, feats, torch.randperm(len(x), generator=torch.Generator().manual_seed(1000 + seed)), b)
    srcc, mad = compare(mine, compat)
    srcc_b, mad_b = compare(shuffled, compat)
    return {"srcc": srcc, "mad": mad, "srcc_batch": srcc_b, "mad_batch": mad_b, "compat_std": float(compat.std())}


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--images", type=int, default=96)
    ap.add_argument("--seeds", type=int, default=3)
    args = ap.parse_args()
    x = load_images(args.images)
    print(f"{len(x)} images; per-image vs compat, and compat vs compat with other batch companions")
    print("variant | batch | seed | SRCC per-image | MAD per-image | SRCC reshuffled | MAD reshuffled | SD compat")
    with tempfile.TemporaryDirectory() as d:
        for variant in ("tad66k", "ava"):
            rows = [run(variant, s, x, Path(d)) for s in range(args.seeds)]
            for s, r in enumerate(rows):
                print(f"{variant} | {TEST_BATCH[variant]} | {s} | {r['srcc']:.3f} | {r['mad']:.3f} | "
                      f"{r['srcc_batch']:.3f} | {r['mad_batch']:.3f} | {r['compat_std']:.3f}")  # fmt: skip
            mean = {k: float(np.mean([r[k] for r in rows])) for k in rows[0]}
            print(f"{variant} | {TEST_BATCH[variant]} | mean | {mean['srcc']:.3f} | {mean['mad']:.3f} | "
                  f"{mean['srcc_batch']:.3f} | {mean['mad_batch']:.3f} | {mean['compat_std']:.3f}")  # fmt: skip


if __name__ == "__main__":
    main()
