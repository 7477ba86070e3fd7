"""Parse ``manifest.toml`` into frozen :class:`WeightSpec` records."""

from __future__ import annotations

import functools
import re
import sys
from dataclasses import dataclass
from importlib import resources

from iqa.errors import InputError, WeightsError

if sys.version_info >= (3, 11):
    import tomllib
else:  # pragma: no cover
    # tomli is a dependency on Python 3.10 only; mypy checks this branch (python_version = 3.10) where it may be absent.
    import tomli as tomllib  # type: ignore[import-not-found, unused-ignore]

_HEX = re.compile(r"[0-9a-f]+")


@dataclass(frozen=True)
class WeightSpec:
    """One pretrained artifact: where it lives, how to check it, where it came from."""

    id: str
    filename: str
    urls: tuple[str, ...]
    license: str
    paper: str
    format: str
    sha256: str = ""
    sha256_prefix: str = ""
    size: int | None = None
    notes: str = ""
    packaged: str = ""
    hash_unpublished: bool = False

    @property
    def hash_recorded(self) -> bool:
        """True when upstream publishes no hash: the sha256 is recorded on first download or import."""
        return self.hash_unpublished

    @property
    def packaged_module(self) -> str:
        """The importable package that ships this file ("" when none does)."""
        return self.packaged.split("/", 1)[0] if self.packaged else ""

    @property
    def expected_hash(self) -> str:
        """Full sha256 if known, else the upstream prefix ("" when upstream publishes none)."""
        return self.sha256 or self.sha256_prefix

    def describe_hash(self) -> str:
        """The hash for messages: the recorded one, or how an unpublished one is handled."""
        return self.expected_hash or "not published upstream; recorded on first download or import"

    def hash_matches(self, digest: str) -> bool:
        """True when ``digest`` (full sha256) equals the recorded hash or starts with the prefix.

        An entry without a published hash matches nothing here: its files are checked against the
        digest recorded beside them (:func:`iqa.weights.store.verify_file`).
        """
        if not self.expected_hash:
            return False
        return digest == self.sha256 if self.sha256 else digest.startswith(self.sha256_prefix)


def _parse(entry: dict) -> WeightSpec:
    known = {f for f in WeightSpec.__dataclass_fields__}
    unknown = set(entry) - known
    if unknown:
        raise WeightsError(f"manifest entry {entry.get('id')!r} has unknown keys {sorted(unknown)}")
    spec = WeightSpec(**{**entry, "urls": tuple(entry.get("urls", ()))})
    for h in (spec.sha256, spec.sha256_prefix):
        if h and not _HEX.fullmatch(h):
            raise WeightsError(f"manifest entry {spec.id!r}: hash {h!r} is not lower-case hex")
    if not spec.expected_hash and not spec.hash_unpublished:
        raise WeightsError(
            f"manifest entry {spec.id!r} has neither sha256 nor sha256_prefix "
            "(set hash_unpublished = true only where upstream publishes no hash)"
        )
    if spec.expected_hash and spec.hash_unpublished:
        raise WeightsError(f"manifest entry {spec.id!r} has a hash and hash_unpublished = true")
    for key, rel in (("filename", spec.filename), ("packaged", spec.packaged)):
        if rel.startswith("/") or ".." in rel.split("/"):
            raise WeightsError(f"manifest entry {spec.id!r}: {key} must be a relative path (no '..')")
    if spec.packaged and "/" not in spec.packaged:
        raise WeightsError(f"manifest entry {spec.id!r}: packaged must be PACKAGE/path/inside/it")
    return spec


@functools.lru_cache(maxsize=1)
def load_manifest() -> dict[str, WeightSpec]:
    """All weight specs by id, from the packaged ``manifest.toml``."""
    text = resources.files("iqa.weights").joinpath("manifest.toml").read_text(encoding="utf-8")
    specs: dict[str, WeightSpec] = {}
    for entry in tomllib.loads(text).get("weights", []):
        spec = _parse(entry)
        if spec.id in specs:
            raise WeightsError(f"manifest lists {spec.id!r} twice")
        specs[spec.id] = spec
    for ref in load_reference_stats().values():  # published statistics download the same way
        if ref.weight.id in specs:
            raise WeightsError(f"manifest and reference_stats.toml both list {ref.weight.id!r}")
        specs[ref.weight.id] = ref.weight
    return specs


def get_weight_spec(weight_id: str) -> WeightSpec:
    """The spec of ``weight_id``; unknown ids raise with the list of known ones."""
    specs = load_manifest()
    if weight_id not in specs:
        from iqa.errors import did_you_mean

        raise InputError(f"unknown weights id {weight_id!r}.{did_you_mean(weight_id, list(specs))} "
                         "`iqa weights list` lists them")  # fmt: skip
    return specs[weight_id]


# -- published reference statistics (reference_stats.toml) ------------------------------------

_CLEANFID_MODES = {  # clean-fid mode -> (iqa extractor, preprocessing in words)
    "clean": ("inception_v3_fid_clean", "clean-fid 'clean': PIL bicubic resize to 299 on float data"),
    "legacy_tensorflow": ("inception_v3_fid_tf", "TF FID graph's own resize (clean-fid legacy_tensorflow = TTUR)"),
    "legacy_pytorch": ("inception_v3_fid", "pytorch-fid: torch bilinear resize to 299 (clean-fid legacy_pytorch)"),
}
_CLEANFID_URL = "https://www.cs.cmu.edu/~clean-fid/stats/"
_FORMAT_EXTRACTOR = {  # format -> (extractor, preprocessing) for [[stats]] entries
    "adm": ("inception_v3_fid_tf", "ADM evaluator: uint8 images into the TF Inception graph (its own resize)"),
    "pytorch_fid": ("inception_v3_fid_tf", "TTUR: images into the TF Inception graph (its own resize)"),
}
_SOURCES = {
    "cleanfid": ("clean-fid 0.1.35 precomputed statistics", "MIT (clean-fid); statistics of the dataset under its own terms",
                 "Parmar, Zhang, Zhu, On Aliased Resizing and Surprising Subtleties in GAN Evaluation, CVPR 2022"),
    "adm": ("openai/guided-diffusion evaluations reference batches", "MIT (guided-diffusion); images of the dataset under its own terms",
            "Dhariwal & Nichol, Diffusion Models Beat GANs on Image Synthesis, NeurIPS 2021"),
    "ttur": ("bioinf-jku/TTUR precomputed statistics", "Apache-2.0 (TTUR); statistics of the dataset under its own terms",
             "Heusel et al., GANs Trained by a Two Time-Scale Update Rule Converge to a Local Nash Equilibrium, NeurIPS 2017"),
}  # fmt: skip


@dataclass(frozen=True)
class ReferenceStatsSpec:
    """Published statistics of a dataset: what they are, how they were made, and their file.

    Attributes:
        name: ``collection:stem``, e.g. ``cleanfid:cifar10_clean_train_32`` (used as a compare side).
        weight: the file's manifest record (download, hash, licence).
        format: ``pytorch_fid`` (mu, sigma), ``cleanfid`` (same keys), ``cleanfid_kid`` (feats),
            ``adm`` (arr_0 images, mu/sigma, mu_s/sigma_s).
        extractor: the iqa extractor whose features match (the statistics' network and input path).
        preprocessing: that input path in words.
        dataset, resolution, split: what was summarised (resolution 0: native sizes).
        images: how many images (None when unpublished).
        source: who published them.
        spatial_extractor: the extractor of the file's spatial statistics (ADM's sFID features), "" if none.
    """

    name: str
    weight: WeightSpec
    format: str
    extractor: str
    preprocessing: str
    dataset: str
    resolution: int
    split: str
    images: int | None
    source: str
    spatial_extractor: str = ""


def _weight(wid: str, filename: str, url: str, collection: str, notes: str) -> WeightSpec:
    _, license_, paper = _SOURCES[collection]
    return WeightSpec(id=wid, filename=filename, urls=(url,), license=license_, paper=paper, format="npz",
                      hash_unpublished=True, notes=notes)  # fmt: skip


def _cleanfid_entries(entry: dict) -> list[ReferenceStatsSpec]:
    out = []
    for mode, (extractor, prep) in _CLEANFID_MODES.items():
        for res in entry["resolutions"]:
            for split, n in entry["splits"].items():
                for kid in (False, True):
                    stem = f"{entry['dataset']}_{mode}_{split}_{res}{'_kid' if kid else ''}".lower()
                    what = "Inception features (feats) for KID" if kid else "mu and sigma"
                    w = _weight(f"cleanfid_{stem}", f"reference_stats/cleanfid/{stem}.npz", _CLEANFID_URL + stem + ".npz",
                                "cleanfid", f"clean-fid {what}, mode {mode}")  # fmt: skip
                    out.append(ReferenceStatsSpec(f"cleanfid:{stem}", w, "cleanfid_kid" if kid else "cleanfid",
                                                  extractor, prep, entry["dataset"], int(res), split, int(n),
                                                  _SOURCES["cleanfid"][0]))  # fmt: skip
    return out


def _stats_entry(entry: dict) -> ReferenceStatsSpec:
    collection, stem = entry["name"].split(":", 1)
    extractor, prep = _FORMAT_EXTRACTOR[entry["format"]]
    w = _weight(f"{collection}_{stem}", f"reference_stats/{collection}/{entry['url'].rsplit('/', 1)[1]}",
                entry["url"], collection, f"{_SOURCES[collection][0]}: {entry['dataset']}")  # fmt: skip
    spatial = "inception_v3_fid_tf_spatial7" if entry["format"] == "adm" else ""  # mixed_6/conv, 7 channels
    return ReferenceStatsSpec(entry["name"], w, entry["format"], extractor, prep, entry["dataset"],
                              int(entry["resolution"]), entry["split"], entry.get("images"), _SOURCES[collection][0],
                              spatial)  # fmt: skip


@functools.lru_cache(maxsize=1)
def load_reference_stats() -> dict[str, ReferenceStatsSpec]:
    """Every published reference statistic by name (``cleanfid:...``, ``adm:...``, ``ttur:...``)."""
    text = resources.files("iqa.weights").joinpath("reference_stats.toml").read_text(encoding="utf-8")
    data = tomllib.loads(text)
    specs = [s for e in data.get("cleanfid", []) for s in _cleanfid_entries(e)]
    specs += [_stats_entry(e) for e in data.get("stats", [])]
    out: dict[str, ReferenceStatsSpec] = {}
    for s in specs:
        if s.name in out:
            raise WeightsError(f"reference_stats.toml lists {s.name!r} twice")
        out[s.name] = s
    return out


def get_reference_stats(name: str) -> ReferenceStatsSpec:
    """The published statistics called ``name``; an unknown name suggests close ones."""
    from iqa.errors import did_you_mean

    specs = load_reference_stats()
    if name not in specs:
        raise InputError(f"unknown reference statistics {name!r}.{did_you_mean(name, list(specs))} "
                         "`iqa weights list` lists them (ids cleanfid_*, adm_*, ttur_*)")  # fmt: skip
    return specs[name]
