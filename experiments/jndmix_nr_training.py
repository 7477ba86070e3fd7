"""Issue-25 experiment: does JNDMix improve the training of a small NR-IQA model?

JNDMix (ICASSP 2023, arXiv 2302.09838) claims that JND-shaped noise mixed into training images,
labels unchanged, improves NR-IQA training. A small CPU check of that claim, not a reproduction:

1. Data: a KADID-style set written by ``iqa synth`` (:func:`iqa.augment.synth.synthesize`, seed 0)
   from the 68 CBSD68 references, each box-downscaled by 2 and centre-cropped to 128 x 128 (KADID's
   512 x 384 is too large for a CPU budget): 68 x 25 types x 5 levels = 8500 images, 8-bit PNG.
   Target: ``iqa synth``'s ``dmos`` = 6 - level (a proxy ordering, not human opinion).
2. Split by content: per seed, 48 references train, 20 are held out (their 2500 images are never
   seen in training).
3. Model: four 3x3 stride-2 convolutions (16, 32, 64, 64 channels, ReLU), global average pooling,
   a linear output; Adam (lr 1e-3), MSE on the standardised target, batch 64, random 64 x 64 crops
   with horizontal flips; evaluated on the whole 128 x 128 test images.
4. Conditions: the same seed gives both runs the same split, initial weights and batch order; the
   "JNDMix" run passes each training image through ``JNDMix()`` (defaults: p 0.5, strength U(0, 1),
   wu2017 map; its own seeded generator) before cropping, the other does not. JNDMix runs on the
   crop plus the 2-pixel margin its map depends on, which gives the same map as on the whole image.
5. Score: SRCC between prediction and dmos over all held-out images, 95 % percentile bootstrap over
   held-out contents (2000 resamples, the same resamples for both runs, so the difference is
   paired); also the mean within-type SRCC.

    nice -n 19 python experiments/jndmix_nr_training.py --work /tmp/jndmix_exp --json /tmp/jndmix.json

518 CPU seconds on the shared 2-core VM with one torch thread (data 78 s; 8 runs of 8 epochs, a JNDMix run
twice the cost of a plain one).
"""

from __future__ import annotations

import argparse
import csv
import json
import sys
import time
from pathlib import Path

import numpy as np
import torch
from PIL import Image
from scipy import stats

from iqa.augment import JNDMix
from iqa.augment.synth import synthesize

HERE = Path(__file__).parent
SHARED = HERE.parent.parent / "shared"
SIDE, CROP, MARGIN, N_BOOT = 128, 64, 2, 2000


def srcc(a: np.ndarray, b: np.ndarray) -> float:
    return float(stats.spearmanr(a, b)[0])


def log(msg: str) -> None:
    print(f"[{time.strftime('%H:%M:%S')}] {msg}", file=sys.stderr, flush=True)


def make_dataset(refs: Path, work: Path, limit: int | None) -> tuple[torch.Tensor, np.ndarray, np.ndarray, np.ndarray]:
    """(images (N, 3, 128, 128) in [0, 1], dmos, content index, type index) of the ``iqa synth`` set."""
    crops = work / "refs"
    crops.mkdir(parents=True, exist_ok=True)
    for p in sorted(refs.iterdir())[:limit]:
        im = Image.open(p).convert("RGB").reduce(2)  # box filter: a 2x smaller, still sharp photo
        left, top = (im.width - SIDE) // 2, (im.height - SIDE) // 2
        im.crop((left, top, left + SIDE, top + SIDE)).save(crops / f"{p.stem}.png")
    synthesize(crops, work / "synth", seed=0)  # resumes: images already written are kept
    rows = list(csv.DictReader((work / "synth" / "dmos.csv").open()))
    imgs = [np.asarray(Image.open(work / "synth" / "images" / r["dist_img"])) for r in rows]
    x = torch.from_numpy(np.stack(imgs)).permute(0, 3, 1, 2).float() / 255
    refs_ = sorted({r["ref_img"] for r in rows})
    types = sorted({r["distortion"] for r in rows})
    content = np.array([refs_.index(r["ref_img"]) for r in rows])
    typ = np.array([types.index(r["distortion"]) for r in rows])
    return x, np.array([float(r["dmos"]) for r in rows]), content, typ


def small_nr_model() -> torch.nn.Module:
    layers: list[torch.nn.Module] = []
    for cin, cout in ((3, 16), (16, 32), (32, 64), (64, 64)):
        layers += [torch.nn.Conv2d(cin, cout, 3, 2, 1), torch.nn.ReLU()]
    return torch.nn.Sequential(*layers, torch.nn.AdaptiveAvgPool2d(1), torch.nn.Flatten(), torch.nn.Linear(64, 1))


def jnd_crop(b: torch.Tensor, off: list[int], aug: JNDMix | None) -> torch.Tensor:
    """The CROP x CROP crop at ``off``, through ``aug`` first if given.

    The wu2017 JND map at a pixel depends on its 5 x 5 neighbourhood, so JNDMix runs on the crop
    plus a 2-pixel margin (cut at the image border, where the map replicates the border as on the
    whole image): the same map as JNDMix before cropping (as its docstring asks), 3.5x cheaper.
    """
    if aug is None:
        return b[..., off[0] : off[0] + CROP, off[1] : off[1] + CROP]
    y0, x0 = max(off[0] - MARGIN, 0), max(off[1] - MARGIN, 0)
    big = aug(b[..., y0 : min(off[0] + CROP + MARGIN, SIDE), x0 : min(off[1] + CROP + MARGIN, SIDE)])
    return big[..., off[0] - y0 : off[0] - y0 + CROP, off[1] - x0 : off[1] - x0 + CROP]


def train(x: torch.Tensor, y: np.ndarray, seed: int, epochs: int, jndmix: bool) -> torch.nn.Module:
    """The same init, batch order and crops for both conditions (one generator); JNDMix draws from its own."""
    torch.manual_seed(seed)
    net = small_nr_model()
    opt = torch.optim.Adam(net.parameters(), lr=1e-3)
    t = torch.from_numpy((y - y.mean()) / y.std()).float()
    g = torch.Generator().manual_seed(seed)
    aug = JNDMix(generator=torch.Generator().manual_seed(10_000 + seed)) if jndmix else None
    for _ in range(epochs):
        for idx in torch.randperm(len(x), generator=g).split(64):
            off = torch.randint(0, SIDE - CROP + 1, (2,), generator=g).tolist()
            flip = bool(torch.rand((), generator=g) < 0.5)
            b = jnd_crop(x[idx], off, aug)
            loss = (net(b.flip(-1) if flip else b)[:, 0] - t[idx]).square().mean()
            opt.zero_grad()
            loss.backward()
            opt.step()
    return net.eval()


@torch.no_grad()
def predict(net: torch.nn.Module, x: torch.Tensor) -> np.ndarray:
    return torch.cat([net(x[i : i + 250])[:, 0] for i in range(0, len(x), 250)]).numpy()


def content_bootstrap(
    pred: dict[str, np.ndarray], y: np.ndarray, content: np.ndarray, seed: int
) -> dict[str, np.ndarray]:
    """SRCC of each condition over N_BOOT resamples (with replacement) of the held-out contents."""
    rng = np.random.default_rng(seed)
    uniq = np.unique(content)
    rows = {c: np.flatnonzero(content == c) for c in uniq}
    out: dict[str, list[float]] = {k: [] for k in pred}
    for _ in range(N_BOOT):
        idx = np.concatenate([rows[c] for c in rng.choice(uniq, len(uniq))])
        for k, p in pred.items():
            out[k].append(srcc(p[idx], y[idx]))
    return {k: np.array(v) for k, v in out.items()}


def one_seed(
    x: torch.Tensor, y: np.ndarray, content: np.ndarray, typ: np.ndarray, seed: int, epochs: int, n_test: int
) -> dict:
    rng = np.random.default_rng(seed)
    test_c = rng.permutation(np.unique(content))[:n_test]
    test = np.isin(content, test_c)
    tt = torch.from_numpy(test)
    res: dict = {"seed": seed, "test_contents": [int(c) for c in sorted(test_c)]}
    pred = {}
    for cond in ("plain", "jndmix"):
        t0 = time.process_time()
        net = train(x[~tt], y[~test], seed, epochs, cond == "jndmix")
        pred[cond] = predict(net, x[tt])
        per_type = [srcc(pred[cond][typ[test] == t], y[test][typ[test] == t]) for t in np.unique(typ)]
        res[cond] = {"srcc": srcc(pred[cond], y[test]), "mean_type_srcc": float(np.mean(per_type)),
                     "cpu_s": round(time.process_time() - t0, 1)}  # fmt: skip
        log(f"seed {seed} {cond}: SRCC {res[cond]['srcc']:.3f} ({res[cond]['cpu_s']} CPU s)")
    boot = content_bootstrap(pred, y[test], content[test], seed)
    for cond in pred:
        res[cond]["ci95"] = [float(v) for v in np.percentile(boot[cond], [2.5, 97.5])]
    diff = boot["jndmix"] - boot["plain"]
    res["diff"] = {
        "srcc": res["jndmix"]["srcc"] - res["plain"]["srcc"],
        "ci95": [float(v) for v in np.percentile(diff, [2.5, 97.5])],
    }
    return res


def summary(runs: list[dict]) -> dict:
    """Mean paired difference over seeds with a t interval over seeds (init, split and content variance)."""
    d = np.array([r["diff"]["srcc"] for r in runs])
    dt = np.array([r["jndmix"]["mean_type_srcc"] - r["plain"]["mean_type_srcc"] for r in runs])
    half = stats.t.ppf(0.975, len(d) - 1) * d.std(ddof=1) / np.sqrt(len(d)) if len(d) > 1 else float("nan")
    return {"mean_diff": float(d.mean()), "t_ci95": [float(d.mean() - half), float(d.mean() + half)],
            "jndmix_better": int((d > 0).sum()), "seeds": len(d), "mean_type_diff": float(dt.mean())}  # fmt: skip


def table(runs: list[dict], s: dict) -> str:
    head = "| seed | SRCC plain [95 % CI] | SRCC JNDMix [95 % CI] | JNDMix - plain [95 % CI] | mean within-type SRCC plain / JNDMix |\n|---|---|---|---|---|\n"
    ci = lambda v: f"[{v[0]:.3f}, {v[1]:.3f}]"  # noqa: E731
    rows = "".join(
        f"| {r['seed']} | {r['plain']['srcc']:.3f} {ci(r['plain']['ci95'])} | {r['jndmix']['srcc']:.3f} {ci(r['jndmix']['ci95'])} "
        f"| {r['diff']['srcc']:+.3f} {ci(r['diff']['ci95'])} | {r['plain']['mean_type_srcc']:.3f} / {r['jndmix']['mean_type_srcc']:.3f} |\n"
        for r in runs
    )
    return head + rows + (f"\nMean difference over {s['seeds']} seeds: {s['mean_diff']:+.3f} (t 95 % CI {ci(s['t_ci95'])}); "
                          f"JNDMix higher in {s['jndmix_better']}/{s['seeds']}; mean within-type difference {s['mean_type_diff']:+.3f}\n")  # fmt: skip


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--work", type=Path, required=True, help="Folder for the reference crops and the synth set.")
    ap.add_argument("--refs", type=Path, default=SHARED / "data" / "images" / "CBSD68")
    ap.add_argument("--seeds", type=int, default=4)
    ap.add_argument("--epochs", type=int, default=8)
    ap.add_argument("--test-contents", type=int, default=20, help="Held-out references per seed.")
    ap.add_argument("--limit", type=int, default=None, help="Only the first N references (a quick check).")
    ap.add_argument("--threads", type=int, default=1)
    ap.add_argument("--json", type=Path, default=None)
    args = ap.parse_args()
    torch.set_num_threads(args.threads)
    t0 = time.process_time()
    x, y, content, typ = make_dataset(args.refs, args.work, args.limit)
    log(f"data: {len(x)} images of {len(np.unique(content))} contents ({time.process_time() - t0:.0f} CPU s)")
    runs = []
    for seed in range(args.seeds):
        runs.append(one_seed(x, y, content, typ, seed, args.epochs, args.test_contents))
        s = summary(runs)
        s["cpu_s_total"] = round(time.process_time() - t0, 1)
        if args.json:  # after every seed, so a stopped run still leaves its finished seeds
            args.json.write_text(
                json.dumps({"runs": runs, "summary": s, "args": {k: str(v) for k, v in vars(args).items()}}, indent=1)
            )
    print(table(runs, s) + f"\nTotal CPU time: {s['cpu_s_total']:.0f} s\n")


if __name__ == "__main__":
    main()
