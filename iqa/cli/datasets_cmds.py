"""``iqa datasets list|info|check``: what the loaders read and whether a folder is complete."""

from __future__ import annotations

from pathlib import Path

import click

from iqa.cli.correlate_cmd import parse_dataset_options


@click.group()
def datasets() -> None:
    """MOS datasets: list them, show what files they need, check a folder."""


@datasets.command("list")
def list_cmd() -> None:
    """Registered datasets."""
    from iqa.datasets import dataset_card, list_datasets

    for name in list_datasets():
        c = dataset_card(name)
        click.echo(f"{name:<10} {c.kind:<3} {c.summary}")


@datasets.command()
@click.argument("name")
def info(name: str) -> None:
    """Files a dataset needs, its score scale and where to get it."""
    from iqa.datasets import dataset_card

    c = dataset_card(name)
    click.echo(f"{c.name}: {c.summary}\n  kind: {c.kind}\n  files under --root: {c.files}\n  scores: {c.scale}")
    if c.url:
        click.echo(f"  get it from: {c.url}")
    click.echo(f"  card: datasets/{c.name}.md in the iqa repository")


@datasets.command()
@click.argument("name")
@click.option("--root", required=True, type=click.Path(exists=True, path_type=Path))
@click.option("--ds-opt", "ds_opts", multiple=True, help="Dataset option KEY=VALUE.")
def check(name: str, root: Path, ds_opts: tuple[str, ...]) -> None:
    """Parse the labels and check that every image they name exists (exit 1 if not)."""
    from iqa.datasets import load_dataset

    data = load_dataset(name, root, **parse_dataset_options(ds_opts))
    splits = ", ".join(f"{k} {v}" for k, v in sorted(data.split_counts().items())) or "none"
    mos = data.table["mos"]
    click.echo(f"{data.name}: {len(data)} records; splits: {splits} ({data.split_source})")
    click.echo(f"  {data.score_name}: {mos.min():.4g} .. {mos.max():.4g} on scale {data.scale}, "
               f"{'higher' if data.higher_is_better else 'lower'} is better")  # fmt: skip
    for col in data.group_columns:
        click.echo(f"  {col}: {data.table[col].nunique()} groups")
    extra = data.extra_files()
    if extra:
        click.echo(
            f"  note: {len(extra)} image file(s) beside the dataset's that no label names, e.g. {', '.join(extra[:3])}"
        )
    missing = data.missing_files()
    if missing:
        click.echo(f"  missing: {len(missing)} files, e.g. {', '.join(missing[:5])}", err=True)
        raise SystemExit(1)
    click.echo("  all files present")
