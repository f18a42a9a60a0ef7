"""``manifest.json``: what a dataset folder contains, with content hashes, so that a copy can be verified.

The manifest lists every file of the folder except itself (size and SHA-256), the row counts per config and split,
the generator version and the arguments the data was generated with. It carries no timestamp: the same arguments
must give a byte-identical folder. After editing a file (for instance re-rendering README.md for a release), call
:func:`refresh_manifest` so the hashes match again.
"""

from __future__ import annotations

import hashlib
import json
import os
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from generator.common import atomic

MANIFEST_NAME = "manifest.json"
FORMAT = "mmmt-if-dataset"
FORMAT_VERSION = 1


def file_sha256(path: str | os.PathLike) -> str:
    """SHA-256 hex digest of a file, read in 1 MiB blocks."""
    digest = hashlib.sha256()
    with open(path, "rb") as handle:
        for block in iter(lambda: handle.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def _listed_files(dataset_dir: Path) -> list[str]:
    names = []
    for path in dataset_dir.rglob("*"):
        if path.is_file():
            rel = path.relative_to(dataset_dir).as_posix()
            if rel != MANIFEST_NAME and not any(part.startswith(".") for part in rel.split("/")):
                names.append(rel)
    return sorted(names)


def file_entries(dataset_dir: str | os.PathLike) -> dict[str, dict[str, Any]]:
    """``{relative path: {"size", "sha256"}}`` for every file of the folder except the manifest and dotfiles."""
    root = Path(dataset_dir)
    return {rel: _entry(root, rel) for rel in _listed_files(root)}


def _entry(root: Path, rel: str) -> dict[str, Any]:
    """Size and SHA-256 of one file; README.md's are taken without its notes (see ``generator.dataset.notes``)."""
    if rel == "README.md":
        from generator.dataset.notes import without_notes

        data = without_notes((root / rel).read_bytes())
        return {"size": len(data), "sha256": hashlib.sha256(data).hexdigest()}
    return {"size": (root / rel).stat().st_size, "sha256": file_sha256(root / rel)}


def build_manifest(dataset_dir: str | os.PathLike, *, configs: Mapping[str, Mapping[str, Any]], default_config: str,
                   generation_args: Mapping[str, Any] | None = None, card: Mapping[str, Any] | None = None,
                   departures: list[str] | None = None, files: Mapping[str, Mapping[str, Any]] | None = None
                   ) -> dict[str, Any]:
    """Assemble the manifest for a folder whose files are all written.

    ``configs`` maps a config to ``{"splits": {split: {"num_examples", "files"}}, ...}`` (extra keys such as
    ``extra_stats`` are kept). The order of configs and splits is recorded separately (``order``) because the
    manifest's keys are sorted. ``card`` keeps the card options (title, extra text, licence) so that the card can
    be re-rendered from the folder alone. ``departures`` lists the declared departures from the row contract
    (see ``generator.dataset.schema.DEPARTURES``). ``files`` (``{path: {"size", "sha256"}}``) replaces the listing
    of ``dataset_dir`` when some files are elsewhere (shards already in object storage).
    """
    from generator import __version__

    return {
        "format": FORMAT,
        "format_version": FORMAT_VERSION,
        "generator": {"name": "mmmt-if", "version": __version__},
        "arguments": dict(generation_args or {}),
        "default_config": default_config,
        "configs": {name: dict(info) for name, info in configs.items()},
        "order": [{"config": name, "splits": list(info.get("splits") or {})} for name, info in configs.items()],
        "card": dict(card or {}),
        "departures": sorted(departures or []),
        "files": {name: dict(files[name]) for name in sorted(files)} if files is not None
        else file_entries(dataset_dir),
    }


def dump_manifest(manifest: Mapping[str, Any]) -> str:
    """Canonical text of a manifest (sorted keys, two-space indent, trailing newline)."""
    return json.dumps(manifest, indent=2, sort_keys=True, ensure_ascii=False) + "\n"


def write_manifest(dataset_dir: str | os.PathLike, manifest: Mapping[str, Any]) -> Path:
    """Write ``manifest.json`` atomically."""
    path = Path(dataset_dir) / MANIFEST_NAME
    return atomic.write_text(path, dump_manifest(manifest))


def load_manifest(dataset_dir: str | os.PathLike) -> dict[str, Any]:
    """Read ``manifest.json``; ``FileNotFoundError`` when missing."""
    with open(Path(dataset_dir) / MANIFEST_NAME, encoding="utf-8") as handle:
        return json.load(handle)


def refresh_manifest(dataset_dir: str | os.PathLike) -> dict[str, Any]:
    """Recompute the file list and hashes of an existing manifest (after README.md or scoring.py changed)."""
    manifest = load_manifest(dataset_dir)
    manifest["files"] = file_entries(dataset_dir)
    write_manifest(dataset_dir, manifest)
    return manifest


def check_manifest(dataset_dir: str | os.PathLike, *, row_counts: Mapping[str, Mapping[str, int]] | None = None
                   ) -> list[str]:
    """Return the problems found comparing the folder with its manifest (empty list when consistent).

    ``row_counts`` (``{config: {split: rows}}`` as found in the parquet files) is compared with the manifest's
    counts when given.
    """
    root = Path(dataset_dir)
    try:
        manifest = load_manifest(root)
    except FileNotFoundError:
        return [f"{MANIFEST_NAME}: missing"]
    except ValueError as exc:
        return [f"{MANIFEST_NAME}: not valid JSON ({exc})"]
    problems: list[str] = []
    if manifest.get("format") != FORMAT:
        problems.append(f"{MANIFEST_NAME}: field format: expected {FORMAT!r}, got {manifest.get('format')!r}")
    listed = manifest.get("files") or {}
    present = set(_listed_files(root))
    for rel in sorted(set(listed) - present):
        problems.append(f"{rel}: listed in {MANIFEST_NAME} but missing")
    for rel in sorted(present - set(listed)):
        problems.append(f"{rel}: present but not listed in {MANIFEST_NAME}")
    for rel in sorted(set(listed) & present):
        entry = listed[rel]
        actual = _entry(root, rel)
        if actual["size"] != entry.get("size"):
            problems.append(f"{rel}: size {actual['size']} differs from {MANIFEST_NAME} ({entry.get('size')})"
                            + (" (edit the card only inside its Notes section)" if rel == "README.md" else ""))
        elif actual["sha256"] != entry.get("sha256"):
            problems.append(f"{rel}: sha256 differs from {MANIFEST_NAME}")
    if row_counts is not None:
        recorded = {config: {split: info.get("num_examples") for split, info in (cinfo.get("splits") or {}).items()}
                    for config, cinfo in (manifest.get("configs") or {}).items()}
        actual = {config: dict(splits) for config, splits in row_counts.items()}
        if recorded != actual:
            problems.append(f"{MANIFEST_NAME}: field configs: row counts {recorded} differ from the parquet files "
                            f"{actual}")
    return problems
