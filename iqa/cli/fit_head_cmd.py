"""``iqa fit-head MODEL --dataset NAME --root DIR``: a ridge head for contrique / contrique_fr / qpt.

The head records the direction of the dataset's labels; the metric that scores it is the one whose spec
has that direction: MODEL itself, or MODEL with ``_mos`` / ``_dmos`` when MODEL's direction is the other
(``contrique_dmos``, ``contrique_fr_mos``, ``qpt_dmos``).
"""

from __future__ import annotations

import json
from pathlib import Path

import click

from iqa.cli.progress import ProgressBars


def scoring_metric(model: str, higher_is_better: bool) -> str:
    """The registered metric of ``model``'s family whose direction is ``higher_is_better``."""
    import iqa

    if iqa.get_spec(model).higher_is_better == higher_is_better:
        return model
    return f"{model}_{'mos' if higher_is_better else 'dmos'}"


@click.command("fit-head")
@click.argument("model", type=click.Choice(["contrique", "contrique_fr", "qpt"]))
@click.option("--dataset", required=True, help="Registered dataset name (iqa datasets list), e.g. koniq10k, kadid10k.")
@click.option("--root", required=True, type=click.Path(exists=True, path_type=Path), help="Dataset folder.")
@click.option(
    "--encoder",
    type=click.Path(exists=True, dir_okay=False, path_type=Path),
    help="Encoder .safetensors (from iqa train); default: the store's contrique_encoder / qpt_encoder.",
)
@click.option("--name", help="Head name (default: the dataset name); use it as iqa.create(MODEL, head=NAME).")
@click.option(
    "--out-dir", type=click.Path(file_okay=False, path_type=Path), help="Default: the user cache's converted/ folder."
)
@click.option("--folds", default=5, show_default=True, help="Cross-validation folds for alpha (grouped by content).")
@click.option("-q", "--quiet", is_flag=True)
def fit_head(
    model: str,
    dataset: str,
    root: Path,
    encoder: Path | None,
    name: str | None,
    out_dir: Path | None,
    folds: int,
    quiet: bool,
) -> None:
    """Extract frozen features (cached, resumable), fit ridge with cross-validated alpha, save the head with its sha256."""
    from iqa.datasets.registry import load_dataset
    from iqa.models.quality_heads import load_encoder
    from iqa.training.heads import dataset_features, head_tensors, store_prefix
    from iqa.training.heads import fit_head as fit
    from iqa.weights.converted import save_converted
    from iqa.weights.store import cache_dir

    prefix = store_prefix(model)
    data = load_dataset(dataset, root)
    net = load_encoder(
        prefix,
        encoder,
        f"give --encoder FILE or install {prefix}_encoder (iqa weights convert contrique / iqa train {prefix} --install)",
    )
    folder = out_dir or cache_dir() / "converted"
    folder.mkdir(parents=True, exist_ok=True)
    cache = folder / f"features_{model}_{dataset}.npz"
    feats, failed = dataset_features(model, net, data, cache, progress=ProgressBars(quiet))
    for f in failed:
        click.echo(f"skipped: {f}", err=True)
    ridge, report = fit(data, feats, k=folds)
    head = name or dataset
    metric = scoring_metric(model, data.higher_is_better)
    options = {"dataset": dataset, "higher_is_better": data.higher_is_better, "scale": data.score_name, "encoder": str(encoder or f"{prefix}_encoder"),
               "model": model, **report}  # fmt: skip
    path = save_converted(
        f"{prefix}_head_{head}",
        head_tensors(ridge),
        source=cache,
        converter="iqa fit-head",
        options=options,
        out_dir=folder,
    )
    click.echo(json.dumps(report, indent=1))
    ref = repr(str(path)) if out_dir else repr(head)
    click.echo(
        f"head: {path}; use it as iqa.create('{metric}', head={ref}{', weights=' + repr(str(encoder)) if encoder else ''})"
    )
    if failed:
        raise SystemExit(1)
