"""Copy verified weights into a folder that can be carried to an offline machine (``iqa weights export``).

The folder has the manifest's layout (``DIR/<filename>``), so ``IQA_WEIGHTS_DIR=DIR`` finds every
file without a download. Beside the weights it holds ``SHA256SUMS`` (``sha256sum -c SHA256SUMS``
checks it without iqa), ``manifest.json`` (id, file, full sha256, size, licence, source of each)
and ``README.txt`` (how to use it). The three are rewritten from what the folder holds after each
export, so exporting twice into one folder lists both sets.
"""

from __future__ import annotations

import json
import shutil
from dataclasses import dataclass, field
from pathlib import Path

from iqa.atomic import atomic_write, atomic_write_text
from iqa.weights.manifest import WeightSpec
from iqa.weights.store import local_status, sha256_file, verify_file

INDEX_FILES = ("README.txt", "SHA256SUMS", "manifest.json")


@dataclass
class ExportResult:
    """What an export did, per weights id."""

    copied: list[str] = field(default_factory=list)
    already: list[str] = field(default_factory=list)
    missing: list[str] = field(default_factory=list)
    bad: dict[str, str] = field(default_factory=dict)  # id -> the local file whose hash is wrong
    contents: list[dict] = field(default_factory=list)  # every verified entry now in the folder


def export_weights(out_dir: str | Path, specs: list[WeightSpec], manifest: list[WeightSpec]) -> ExportResult:
    """Copy the local verified copy of each of ``specs`` into ``out_dir`` and rewrite its index files.

    Args:
        out_dir: the folder to fill (created if needed).
        specs: the entries to copy; those not on this machine are reported as missing.
        manifest: every manifest entry, to list what the folder holds after the copy.
    """
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    res = ExportResult()
    for spec in specs:
        st = local_status(spec)
        dest = out / spec.filename
        if st.status == "missing":
            res.missing.append(spec.id)
        elif st.status != "ok":
            res.bad[spec.id] = st.path
        elif dest.is_file() and spec.hash_matches(sha256_file(dest)):
            res.already.append(spec.id)
        else:
            with open(st.path, "rb") as f:
                atomic_write(dest, lambda o: shutil.copyfileobj(f, o))
            verify_file(dest, spec)  # the copy is checked, not assumed
            res.copied.append(spec.id)
    res.contents = _contents(out, manifest)
    _write_index(out, res.contents)
    return res


def _contents(out: Path, manifest: list[WeightSpec]) -> list[dict]:
    rows = []
    for spec in manifest:
        p = out / spec.filename
        if not p.is_file():
            continue
        digest = sha256_file(p)
        if not spec.hash_matches(digest):
            continue  # a stale or foreign file is not listed as usable
        rows.append(
            {
                "id": spec.id,
                "filename": spec.filename,
                "sha256": digest,
                "size": p.stat().st_size,
                "license": spec.license,
                "paper": spec.paper,
                "urls": list(spec.urls),
            }
        )
    return rows


def _write_index(out: Path, rows: list[dict]) -> None:
    atomic_write_text(out / "SHA256SUMS", "".join(f"{r['sha256']}  {r['filename']}\n" for r in rows))
    atomic_write_text(out / "manifest.json", json.dumps(rows, indent=1) + "\n")
    lines = [
        "Pretrained weights for iqa, written by `iqa weights export`.",
        "",
        "On the machine that has no network, point iqa at this folder; it looks here first and downloads",
        "nothing it finds:",
        "",
        f"    export IQA_WEIGHTS_DIR={out.resolve()}",
        "    iqa weights verify",
        "",
        "(with the folder's path on that machine; `verify` checks every file's sha256).",
        "",
        "Without iqa: sha256sum -c SHA256SUMS (run inside this folder).",
        "",
        f"Contents ({len(rows)} files; manifest.json has the same with sources and papers):",
        "",
    ]
    lines += [
        f"- {r['id']}: {r['filename']}, {r['size']} bytes, sha256 {r['sha256']}, licence: {r['license']}" for r in rows
    ]
    lines += ["", "Each file keeps its own licence (above); check it before passing the folder on.", ""]
    atomic_write_text(out / "README.txt", "\n".join(lines))
