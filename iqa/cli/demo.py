"""``iqa demo``: score scikit-image's bundled photos against distorted copies, print a table.

Needs no downloads: the photos ship inside the scikit-image wheel. It writes references and
distorted copies to a folder, runs the same folder-scoring job as ``iqa score`` and prints mean
scores per distortion, so a newcomer sees the whole pipeline on real images.
"""

from __future__ import annotations

import io
import tempfile
from pathlib import Path

import click

PHOTOS = ("astronaut.png", "chelsea.png", "coffee.png", "rocket.jpg", "motorcycle_left.png", "ihc.png")


def _distortions():  # noqa: ANN202
    import numpy as np
    from PIL import Image, ImageFilter

    def jpeg(q):  # noqa: ANN001, ANN202
        def f(im):  # noqa: ANN001, ANN202
            buf = io.BytesIO()
            im.save(buf, "JPEG", quality=q)
            return Image.open(io.BytesIO(buf.getvalue())).convert("RGB")

        return f

    def noise(sigma):  # noqa: ANN001, ANN202
        def f(im):  # noqa: ANN001, ANN202
            a = np.asarray(im).astype(np.float32) + np.random.default_rng(0).normal(0, sigma, (im.height, im.width, 3))
            return Image.fromarray(np.clip(np.rint(a), 0, 255).astype(np.uint8))

        return f

    return {
        "jpeg_q70": jpeg(70),
        "jpeg_q20": jpeg(20),
        "jpeg_q5": jpeg(5),
        "blur_s1": lambda im: im.filter(ImageFilter.GaussianBlur(1)),
        "blur_s3": lambda im: im.filter(ImageFilter.GaussianBlur(3)),
        "noise_s8": noise(8),
        "noise_s25": noise(25),
    }


def make_demo_set(root: Path) -> tuple[Path, Path]:
    """Write ``root/ref/<photo>.png`` and ``root/dist/<photo>__<distortion>.png``."""
    import skimage
    from PIL import Image

    data = Path(skimage.__file__).parent / "data"
    ref_dir, dist_dir = root / "ref", root / "dist"
    ref_dir.mkdir(parents=True, exist_ok=True)
    dist_dir.mkdir(parents=True, exist_ok=True)
    for name in PHOTOS:
        im = Image.open(data / name).convert("RGB")
        stem = Path(name).stem
        im.save(ref_dir / f"{stem}.png")
        for dname, f in _distortions().items():
            f(im).save(dist_dir / f"{stem}__{dname}.png")
    return ref_dir, dist_dir


@click.command()
@click.option(
    "--out",
    type=click.Path(file_okay=False, path_type=Path),
    help="Keep the images and scores here (default: a temp dir).",
)
@click.option("-m", "--metric", "metrics", multiple=True, default=("psnr", "ssim", "ms_ssim"), show_default=True)
def demo(out: Path | None, metrics: tuple[str, ...]) -> None:
    """Score scikit-image's sample photos against distorted copies and print a table."""
    import iqa
    from iqa.api.jobs import ScoreJob, score_job

    with tempfile.TemporaryDirectory() as tmp:
        root = out or Path(tmp)
        ref_dir, dist_dir = make_demo_set(root)
        job = ScoreJob(
            root=dist_dir, ref_root=ref_dir, metrics={m: iqa.create(m) for m in metrics}, ref_pattern=r"(?P<ref>.+)__"
        )
        _print(score_job(job), metrics, len(PHOTOS))


def _print(rows: list[dict], metrics: tuple[str, ...], n_photos: int) -> None:
    from collections import defaultdict

    from rich.console import Console
    from rich.table import Table

    by = defaultdict(list)
    for r in rows:
        by[r["file"].rsplit("__", 1)[1].removesuffix(".png")].append(r)
    t = Table("distortion", *metrics, title=f"mean over {n_photos} scikit-image photos")
    for d, rs in by.items():
        t.add_row(d, *[f"{sum(r[m] for r in rs) / len(rs):.4f}" for m in metrics])
    Console().print(t)
    errors = [r for r in rows if r["error"]]
    if errors:
        raise SystemExit(f"{len(errors)} files failed: {errors[0]['error']}")
