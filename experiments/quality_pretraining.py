"""Issue-8 experiment: does quality-aware pre-training on a few hundred CPU steps beat random init?

1. Pre-train CONTRIQUE and the QPT-style encoder with ``experiments/quality_pretraining.toml``
   (ResNet-18, 128-px crops of CBSD68 + Urban50 + McMaster; skipped when the run folder already holds
   the encoder, resumed when it holds a checkpoint).
2. Held-out test set: Set14, a centre crop of 240 x 240 of each image, distorted by the bank's 25
   types at levels 1-5 (seeded): 14 x 125 images, none of whose contents were seen in training.
3. Frozen two-scale features (the CONTRIQUE feature path: image and PIL-bicubic half, pooled,
   L2-normalised, concatenated) of four encoders: CONTRIQUE, QPT-style, the same ResNet-18 at its
   random initialisation (the pre-training's starting point), and ImageNet EfficientNet-Lite0
   (offline weights; its own input normalisation, the same two scales and pooling).
4. Per distortion type: ridge from features to level, alpha by inner grouped CV, evaluated by
   7-fold content-separated CV (2 Set14 images held out per fold); SRCC between predicted and true
   level over the 70 held-out predictions. Also one ridge over all types ("all types").

    python experiments/quality_pretraining.py --runs RUNS --out docs/quality_pretraining_results.md

Writes the markdown table, a JSON of every number and a PNG chart next to ``--out``.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path

import numpy as np
import torch
from PIL import Image
from scipy.stats import spearmanr

from iqa.augment.bank import distort, list_distortions
from iqa.models.contrique import ContriqueModel, half_scale, to_uint8_images, two_scale_features
from iqa.models.quality_heads import load_encoder
from iqa.training.pretrain import load_config, pretrain, save_encoder
from iqa.training.pretrain_data import load_sources
from iqa.training.ridge import fit_ridge_cv, folds_of

HERE = Path(__file__).parent
SHARED = HERE.parent.parent / "shared"
CROP, LEVELS, FOLDS = 240, (1, 2, 3, 4, 5), 7
TYPES = list_distortions()
ALPHAS = tuple(float(a) for a in np.logspace(-2, 5, 15))


def log(msg: str) -> None:
    print(f"[{time.strftime('%H:%M:%S')}] {msg}", file=sys.stderr, flush=True)


def encoders(runs: Path, config: Path) -> dict[str, ContriqueModel]:
    out = {}
    for method in ("contrique", "qpt"):
        enc = runs / method / f"{method}_encoder.safetensors"
        if not enc.is_file():
            cfg = load_config(config, method=method)
            sources, _ = load_sources(cfg.images, 2 * cfg.crop)
            log(f"pre-training {method}: {cfg.steps} steps on {len(sources)} images")
            model, _ = pretrain(
                cfg,
                sources,
                runs / method,
                resume=True,
                progress=lambda _l, d, t: d % 50 == 0 and log(f"{method} {d}/{t}"),
            )
            save_encoder(model, cfg, runs / method, runs / method / "checkpoint.pt")
        out[method] = load_encoder(method, enc, "")
    cfg = load_config(config)
    torch.manual_seed(cfg.seed)  # exactly the weights pre-training started from
    out["random init"] = ContriqueModel(cfg.trunk, proj_dim=cfg.proj_dim).eval()
    return out


def test_set(folder: Path) -> tuple[torch.Tensor, list[str]]:
    imgs, names = [], []
    for p in sorted(folder.iterdir()):
        a = np.asarray(Image.open(p).convert("RGB"))
        y, x = (a.shape[0] - CROP) // 2, (a.shape[1] - CROP) // 2
        imgs.append(torch.from_numpy(a[y : y + CROP, x : x + CROP].copy()).permute(2, 0, 1).float() / 255)
        names.append(p.stem)
    return torch.stack(imgs), names


def distorted(x: torch.Tensor) -> tuple[torch.Tensor, np.ndarray, np.ndarray, np.ndarray]:
    """All (image, type, level) versions, 8-bit quantised; with their image, type and level indices."""
    out, img, typ, lev = [], [], [], []
    for t, name in enumerate(TYPES):
        for level in LEVELS:
            d = distort(x, name, level=level, seed=1000 + 10 * t + level)
            out.append((d * 255).round() / 255)
            img += list(range(len(x)))
            typ += [t] * len(x)
            lev += [level] * len(x)
    return torch.cat(out), np.array(img), np.array(typ), np.array(lev)


@torch.no_grad()
def effnet_features(x: torch.Tensor) -> torch.Tensor:
    """EfficientNet-Lite0 on the same two scales: (x - 0.5) / 0.5, pooled last conv map, L2-normalised halves."""
    from iqa.features.efficientnet import build_efficientnet_lite0

    net = build_efficientnet_lite0().eval()
    out = []
    for a in to_uint8_images(x):
        halves = []
        for b in (a, half_scale(a)):
            t = torch.from_numpy(b.copy()).permute(2, 0, 1)[None].float() / 255
            halves.append(torch.nn.functional.normalize(net.forward_features((t - 0.5) / 0.5).mean((2, 3)), dim=1))
        out.append(torch.cat(halves, 1))
    return torch.cat(out)


def features(name: str, model: ContriqueModel | None, x: torch.Tensor, cache: Path) -> np.ndarray:
    if cache.is_file():
        return np.load(cache)
    log(f"features: {name} on {len(x)} images")
    chunks = [
        effnet_features(x[i : i + 50]) if model is None else two_scale_features(model, x[i : i + 50])
        for i in range(0, len(x), 50)
    ]
    f = torch.cat(chunks).numpy()
    np.save(cache, f)
    return f


def cv_srcc(f: np.ndarray, level: np.ndarray, img: np.ndarray) -> tuple[float, np.ndarray]:
    """Content-separated CV predictions of level; SRCC over all held-out predictions.

    Features are centred and divided by one scalar, their overall deviation on the training fold: the
    spread of L2-normalised features differs between encoders by orders of magnitude and one alpha grid
    must suit them all; a single scale keeps each encoder's geometry (per-dimension z-scores would not).
    """
    pred = np.zeros(len(level))
    for test in folds_of(len(level), FOLDS, img, seed=0):
        train = np.setdiff1d(np.arange(len(level)), test)
        mu = f[train].mean(0)
        sd = float(np.sqrt(((f[train] - mu) ** 2).sum(1).mean())) + 1e-12
        z, zt = (f[train] - mu) / sd, (f[test] - mu) / sd
        pred[test] = fit_ridge_cv(z, level[train], alphas=ALPHAS, k=5, groups=img[train]).predict(zt)
    return float(spearmanr(pred, level)[0]), pred


def evaluate(feats: dict[str, np.ndarray], img: np.ndarray, typ: np.ndarray, lev: np.ndarray) -> dict:
    res: dict = {"per_type": {}, "all_types": {}}
    for m, f in feats.items():
        res["per_type"][m] = {
            name: cv_srcc(f[typ == t], lev[typ == t], img[typ == t])[0] for t, name in enumerate(TYPES)
        }
        _, pred = cv_srcc(f, lev, img)
        res["all_types"][m] = {name: float(spearmanr(pred[typ == t], lev[typ == t])[0]) for t, name in enumerate(TYPES)}
        log(f"{m}: mean per-type SRCC {np.mean(list(res['per_type'][m].values())):.3f}")
    return res


def table(res: dict, models: list[str]) -> str:
    types = TYPES
    head = "| distortion | " + " | ".join(models) + " |\n|---|" + "---|" * len(models) + "\n"
    rows = "".join(f"| {t} | " + " | ".join(f"{res['per_type'][m][t]:.3f}" for m in models) + " |\n" for t in types)

    def stat(fn, key: str) -> str:  # noqa: ANN001
        return " | ".join(f"**{fn(list(res[key][m].values())):.3f}**" for m in models)

    rows += f"| **mean, ridge per type** | {stat(np.mean, 'per_type')} |\n| **median, ridge per type** | {stat(np.median, 'per_type')} |\n"
    rows += f"| **mean, one ridge for all types** | {stat(np.mean, 'all_types')} |\n"
    wins = [sum(res["per_type"][m][t] > res["per_type"]["random init"][t] for t in types) for m in models]
    rows += "| types above random init | " + " | ".join(f"{w}/{len(types)}" for w in wins) + " |\n"
    return head + rows


def chart(res: dict, models: list[str], path: Path) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    types = TYPES
    fig, ax = plt.subplots(figsize=(12, 4.5))
    w = 0.8 / len(models)
    for i, m in enumerate(models):
        ax.bar(np.arange(len(types)) + i * w, [res["per_type"][m][t] for t in types], w, label=m)
    ax.set_xticks(np.arange(len(types)) + 0.4 - w / 2, types, rotation=60, ha="right", fontsize=8)
    ax.set_ylabel("held-out SRCC (level)")
    ax.set_title("Set14 x 25 distortions x 5 levels: ridge on frozen features, content-separated 7-fold CV")
    ax.axhline(0, color="k", lw=0.5)
    ax.legend(fontsize=8, ncol=4)
    fig.tight_layout()
    fig.savefig(path, dpi=110)


def loss_chart(runs: Path, path: Path) -> None:
    """Training loss per step (and its 25-step moving average) of both runs, from their log.jsonl."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, axes = plt.subplots(1, 2, figsize=(10, 3.5))
    for ax, method in zip(axes, ("contrique", "qpt")):
        loss = np.array([json.loads(s)["loss"] for s in (runs / method / "log.jsonl").read_text().splitlines()])
        ax.plot(np.arange(1, len(loss) + 1), loss, lw=0.5, alpha=0.4)
        ax.plot(np.arange(25, len(loss) + 1), np.convolve(loss, np.ones(25) / 25, mode="valid"), lw=1.5)
        ax.set_title(f"{method} pre-training loss")
        ax.set_xlabel("step")
    fig.tight_layout()
    fig.savefig(path, dpi=110)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument(
        "--runs", type=Path, required=True, help="Folder for the two pre-training runs and the feature caches."
    )
    ap.add_argument("--config", type=Path, default=HERE / "quality_pretraining.toml")
    ap.add_argument("--test", type=Path, default=SHARED / "data" / "images" / "Set14")
    ap.add_argument("--out", type=Path, default=HERE.parent / "docs" / "quality_pretraining_results.md")
    ap.add_argument("--types", type=int, default=25, help="Only the first N distortion types (a quick check).")
    args = ap.parse_args()
    global TYPES
    TYPES = list_distortions()[: args.types]
    args.runs.mkdir(parents=True, exist_ok=True)
    models = encoders(args.runs, args.config)
    x, names = test_set(args.test)
    xd, img, typ, lev = distorted(x)
    log(f"test set: {len(names)} contents x 25 types x 5 levels = {len(xd)} images of {CROP}x{CROP}")
    feats = {m: features(m, net, xd, args.runs / f"features_{m.replace(' ', '_')}.npy") for m, net in models.items()}
    feats["EfficientNet-Lite0 (ImageNet)"] = features("EfficientNet-Lite0", None, xd, args.runs / "features_effnet.npy")
    res = evaluate(feats, img, typ, lev)
    order = ["contrique", "qpt", "random init", "EfficientNet-Lite0 (ImageNet)"]
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(table(res, order))
    args.out.with_suffix(".json").write_text(json.dumps(res, indent=1))
    chart(res, order, args.out.with_suffix(".png"))
    loss_chart(args.runs, args.out.with_name(args.out.stem + "_loss.png"))
    print(table(res, order))


if __name__ == "__main__":
    main()
