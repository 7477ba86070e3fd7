"""Datasets by name: ``load_dataset("kadid10k", root)``, ``list_datasets()``, ``dataset_card(name)``."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from iqa.datasets.base import MOSDataset
from iqa.datasets.generic import load_csv_dataset
from iqa.datasets.kadid import load_kadid10k
from iqa.datasets.koniq import load_koniq10k
from iqa.datasets.pipal import load_pipal
from iqa.datasets.tad66k import load_tad66k
from iqa.registry import Registry


@dataclass(frozen=True)
class DatasetCard:
    """What a user needs to know before pointing ``--root`` at a dataset."""

    name: str
    loader: Callable[..., MOSDataset]
    kind: str  # "fr" or "nr"
    summary: str
    files: str
    url: str
    scale: str


DATASETS: Registry[DatasetCard] = Registry("dataset")


def register_dataset(card: DatasetCard) -> DatasetCard:
    """Add a dataset under ``card.name`` (a second card under the same name is an error)."""
    return DATASETS.add(card.name, card)


for _card in (
    DatasetCard(
        "koniq10k",
        load_koniq10k,
        "nr",
        "10,073 in-the-wild photos, crowdsourced ACR MOS",
        "koniq10k_scores_and_distributions.csv and/or koniq10k_distributions_sets.csv, 512x384/ (or 1024x768/)",
        "https://database.mmsp-kn.de/koniq-10k-database.html",
        "0-100 z-score MOS (or 1-5 ACR), higher better",
    ),
    DatasetCard(
        "kadid10k",
        load_kadid10k,
        "fr",
        "81 references x 25 distortion types x 5 levels",
        "dmos.csv, images/ (references and distorted together)",
        "https://database.mmsp-kn.de/kadid-10k-database.html",
        "1-5 MOS (the file says dmos), higher better",
    ),
    DatasetCard(
        "pipal",
        load_pipal,
        "fr",
        "200 references x 116 restoration/GAN distortions, ELO from pairwise votes",
        "Train_Label/*.txt, Train_Ref/, distorted images in Dist_Imgs/ or Distortion_1..4/",
        "https://www.jasongt.com/projectpages/pipal.html",
        "ELO (about 917-1836), higher better",
    ),
    DatasetCard(
        "tad66k",
        load_tad66k,
        "nr",
        "66k photos in 47 themes, aesthetic ratings",
        "dataset/merge/{train,test}.csv (+ dataset/unmerge/ for themes), images/",
        "https://github.com/woshidandan/TANet",
        "1-10 mean rating, higher better",
    ),
    DatasetCard(
        "csv",
        load_csv_dataset,
        "any",
        "any dataset described by one CSV (you name the columns)",
        "a CSV with image, score (and optionally reference, std, split, group) columns",
        "",
        "as you declare it",
    ),
):
    register_dataset(_card)


def list_datasets() -> list[str]:
    return DATASETS.names()


def dataset_card(name: str) -> DatasetCard:
    """The card of ``name``; unknown names raise :class:`~iqa.errors.InputError` naming the closest."""
    return DATASETS.get(name)


def load_dataset(name: str, root: str | Path, **options: Any) -> MOSDataset:
    """Load a registered dataset's labels from ``root`` (for ``csv``, ``root`` is the CSV file)."""
    card = dataset_card(name)
    return card.loader(root, **options)
