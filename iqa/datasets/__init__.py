"""MOS datasets: official label formats parsed into one record schema (see ``base``)."""

from iqa.datasets.base import MOSDataset, Record
from iqa.datasets.generic import load_csv_dataset
from iqa.datasets.kadid import load_kadid10k
from iqa.datasets.koniq import load_koniq10k
from iqa.datasets.pipal import load_pipal
from iqa.datasets.registry import DatasetCard, dataset_card, list_datasets, load_dataset
from iqa.datasets.splits import read_split_file, seeded_group_split
from iqa.datasets.tad66k import load_tad66k

__all__ = [
    "DatasetCard",
    "MOSDataset",
    "Record",
    "dataset_card",
    "list_datasets",
    "load_csv_dataset",
    "load_dataset",
    "load_kadid10k",
    "load_koniq10k",
    "load_pipal",
    "load_tad66k",
    "read_split_file",
    "seeded_group_split",
]
