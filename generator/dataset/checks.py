"""Re-check a dataset folder before anyone trusts or publishes it (``mmmtif validate`` and ``publish`` use this).

Checks, each problem naming the file, the row and the field:

- the card: README configs vs the shard files, dataset_info features vs the parquet schema, row counts;
- the manifest: every file listed with the right size and SHA-256, nothing unlisted, row counts;
- every row: the schema and the semantic rules of :mod:`generator.dataset.schema`, the row's ``config`` vs its folder,
  conversation ids unique within a config;
- every image decodes (Pillow loads the full pixel data, not just the header).

Departures from the row contract declared in the manifest (imported third-party data) are honoured.
"""

from __future__ import annotations

import io
from pathlib import Path
from typing import Any

from generator.common.errors import UserError, ValidationError


def _decode_problem(image: Any) -> str:
    from PIL import Image

    data = image.get("bytes") if isinstance(image, dict) else None
    if not data:
        return "no embedded bytes"
    try:
        with Image.open(io.BytesIO(data)) as opened:
            opened.load()
    except Exception as exc:  # any decoder failure is a defect of the file
        return f"does not decode ({type(exc).__name__}: {exc})"
    return ""


def _batches(parquet: Any, rel: str, problems: list[str]) -> Any:
    """Yield record batches, turning a read error into a problem instead of an exception."""
    try:
        yield from parquet.iter_batches(batch_size=16)
    except Exception as exc:  # corrupt pages surface only while reading
        problems.append(f"{rel}: cannot be read ({exc})")


def validate_dataset(dataset_dir: str | Path, *, quiet: bool = True, decode_images: bool = True,
                     max_problems: int = 100) -> list[str]:
    """Return every problem found in the folder (an empty list means valid), at most ``max_problems`` of them."""
    import pyarrow.parquet as pq

    from generator.common.progress import progress
    from generator.dataset.card import check_card
    from generator.dataset.layout import dataset_files, parse_shard_name
    from generator.dataset.manifest import check_manifest, load_manifest
    from generator.dataset.schema import check_departures, validate_row

    root = Path(dataset_dir)
    if not root.is_dir():
        raise UserError("not a folder", where=str(root))
    problems: list[str] = list(check_card(root))
    files = dataset_files(root)
    if not files:
        problems.append("no parquet shards found (expected <config>/<split>-NNNNN-of-NNNNN.parquet)")
    for path in sorted(root.rglob("*.parquet")):
        rel = path.relative_to(root).as_posix()
        if path.parent.parent != root or parse_shard_name(path.name) is None:
            problems.append(f"{rel}: not named <config>/<split>-NNNNN-of-NNNNN.parquet")
    counts: dict[str, dict[str, int]] = {}
    unreadable: set[Path] = set()
    for config, splits in files.items():
        for split, paths in splits.items():
            rows = 0
            for path in paths:
                try:
                    rows += pq.ParquetFile(path).metadata.num_rows
                except Exception as exc:  # a truncated or overwritten file: report it, check the rest
                    unreadable.add(path)
                    rel = path.relative_to(root).as_posix()
                    # check_card reads every shard the README names, so it may have reported this one already
                    if not any(p.startswith(f"{rel}: not a readable parquet file") for p in problems):
                        problems.append(f"{rel}: not a readable parquet file ({exc})")
            counts.setdefault(config, {})[split] = rows
    problems.extend(check_manifest(root, row_counts=None if unreadable else counts))
    allow: frozenset[str] = frozenset()
    try:
        declared = load_manifest(root).get("departures") or []
        allow = check_departures(declared)
    except (FileNotFoundError, ValueError, AttributeError):
        pass  # reported by check_manifest
    except ValidationError as exc:
        problems.append(f"manifest.json: field departures: {exc}")

    total = sum(n for splits in counts.values() for n in splits.values())
    bar = progress(total=total, desc="validating", unit="conv", quiet=quiet)
    try:
        for config in sorted(files):
            seen_ids: dict[str, str] = {}
            for split in sorted(files[config]):
                for path in files[config][split]:
                    if path in unreadable:
                        continue
                    rel = path.relative_to(root).as_posix()
                    parquet = pq.ParquetFile(path)
                    index = 0
                    for batch in _batches(parquet, rel, problems):
                        for row in batch.to_pylist():
                            where = f"{rel}:row {index}"
                            try:
                                validate_row(row, where, config=config, allow=allow)
                            except ValidationError as exc:
                                problems.append(str(exc))
                            row_id = row.get("id")
                            if isinstance(row_id, str):
                                if row_id in seen_ids:
                                    problems.append(f"{where}: field id: {row_id!r} already used at {seen_ids[row_id]}")
                                else:
                                    seen_ids[row_id] = where
                            if decode_images:
                                for k, image in enumerate(row.get("images") or []):
                                    problem = _decode_problem(image)
                                    if problem:
                                        problems.append(f"{where}: field images[{k}]: {problem}")
                            index += 1
                            bar.update(1)
                            if len(problems) >= max_problems:
                                problems.append(f"stopped after {max_problems} problems")
                                return problems
                    parquet.close()
    finally:
        bar.close()
    return problems
