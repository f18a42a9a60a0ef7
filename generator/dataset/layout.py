"""The dataset folder's layout, defined once: config names, split names, shard file names and how to list them.

``<config>/<split>-NNNNN-of-NNNNN.parquet`` is the layout ``push_to_hub`` writes and ``load_dataset`` reads. Every
module that names, parses or lists shards, or checks a config name, uses this module, so the generator, the
writer, ``validate`` and the card always agree (a config name the generator accepts is one the writer accepts).
"""

from __future__ import annotations

import re
from pathlib import Path

#: A config name becomes a folder beside README.md, manifest.json, scoring.py and assets/, and a ``configs:``
#: entry of the card: plain letters, digits, '_' and '-' keep it a safe folder on every system.
NAME_PATTERN = re.compile(r"[A-Za-z0-9][A-Za-z0-9_-]*")
#: Names a config folder must not take: files or folders of the dataset root (or reserved by the Hub), compared
#: case-insensitively.
RESERVED_NAMES = frozenset({"assets", "data", "readme", "manifest", "scoring"})
SPLIT_PATTERN = re.compile(r"^\w+(\.\w+)*$")
_SHARD = re.compile(r"^(?P<split>\w+(?:\.\w+)*)-(?P<index>\d{5})-of-(?P<count>\d{5})\.parquet$")


def is_valid_config_name(name: object) -> bool:
    """True for a plain config name that is not reserved."""
    return isinstance(name, str) and bool(NAME_PATTERN.fullmatch(name)) and name.casefold() not in RESERVED_NAMES


def shard_name(split: str, index: int, count: int) -> str:
    """``<split>-NNNNN-of-NNNNN.parquet`` (the layout ``push_to_hub`` uses)."""
    return f"{split}-{index:05d}-of-{count:05d}.parquet"


def parse_shard_name(name: str) -> tuple[str, int, int] | None:
    """Return ``(split, index, count)`` for a shard file name, ``None`` for anything else."""
    match = _SHARD.match(name)
    if not match:
        return None
    return match["split"], int(match["index"]), int(match["count"])


def dataset_files(dataset_dir: Path) -> dict[str, dict[str, list[Path]]]:
    """Return ``{config: {split: [shard paths]}}`` from the ``<config>/<split>-NNNNN-of-NNNNN.parquet`` layout."""
    found: dict[str, dict[str, list[Path]]] = {}
    for path in sorted(Path(dataset_dir).glob("*/*.parquet")):
        parsed = parse_shard_name(path.name)
        if parsed is None:
            continue
        found.setdefault(path.parent.name, {}).setdefault(parsed[0], []).append(path)
    return found


def split_totals(paths: list[Path]) -> tuple[int, int]:
    """(rows, uncompressed bytes) from the parquet footers: reproducible from the files alone."""
    from generator.common.reading import open_parquet

    rows = size = 0
    for path in paths:
        meta = open_parquet(path).metadata
        rows += meta.num_rows
        size += sum(meta.row_group(i).total_byte_size for i in range(meta.num_row_groups))
    return rows, size
