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
    return specs


def get_weight_spec(weight_id: str) -> WeightSpec:
    """The spec of ``weight_id``; unknown ids raise with the list of known ones."""
    specs = load_manifest()
    if weight_id not in specs:
        raise InputError(f"unknown weights id {weight_id!r}; known: {', '.join(sorted(specs))}")
    return specs[weight_id]
