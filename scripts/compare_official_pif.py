"""Compare a model's PIF on the official benchmark with the PIF columns the release published per model.

    python scripts/compare_official_pif.py CSV DETAILS [--label NAME] [--mapping mmdu_mapping.csv] [--out FILE]

CSV is the official release; DETAILS is the file written by ``mmmtif score --details`` on the imported (ideally
MMDU-rebuilt) folder. Both sides are averaged over the same official turns: turn 1, turn 20, all turns (a turn
without instructions counts 1, as in the release) and instructed turns. With ``--mapping`` (the rebuild's
``mmdu_mapping.csv``) only the conversations that got their images are compared. Prints a Markdown table.
"""

from __future__ import annotations

import argparse
import csv
import io
import json
import sys
from pathlib import Path


def read_details(path: Path) -> list[dict]:
    """The records of ``mmmtif score --details``: each line an object with ``id``, an integer ``turn`` and a
    numeric (or null) ``pif``; anything else is one line naming the file, the line and the field."""
    from generator.common.errors import UserError
    from generator.common.reading import json_object_lines

    records = []
    for where, record in json_object_lines(path, what="details file"):
        if not isinstance(record.get("id"), str | int) or isinstance(record.get("id"), bool):
            raise UserError("field 'id': missing or not a string", where=where)
        for name in ("turn", "sample"):
            value = record.get(name, 0)
            if isinstance(value, bool) or not isinstance(value, int):
                raise UserError(f"field '{name}': expected an integer, got {json.dumps(value)}", where=where)
        if "turn" not in record:
            raise UserError("field 'turn': missing", where=where)
        pif = record.get("pif")
        if pif is not None and (isinstance(pif, bool) or not isinstance(pif, int | float)):
            raise UserError(f"field 'pif': expected a number or null, got {json.dumps(pif)}", where=where)
        records.append(record)
    return records


def read_matched(path: Path) -> set[str]:
    """The conversations a rebuild's ``mmdu_mapping.csv`` marks ``matched``."""
    from generator.common.errors import UserError
    from generator.common.reading import read_text

    text = read_text(path, what="mapping file")
    reader = csv.DictReader(io.StringIO(text, newline=""))
    missing = [c for c in ("conversation_id", "status") if c not in (reader.fieldnames or [])]
    if missing:
        raise UserError(f"not an MMDU mapping: no column {', '.join(repr(c) for c in missing)}",
                        where=f"{path}: line 1")
    matched = set()
    try:
        for row in reader:
            if None in row or any(value is None for value in row.values()):
                raise UserError("the row's cell count differs from the header's", where=f"{path}: line {reader.line_num}")
            if row["status"] not in ("matched", "ambiguous", "no-match"):
                raise UserError(f"field 'status': unknown value {row['status']!r}", where=f"{path}: line {reader.line_num}")
            if row["status"] == "matched":
                matched.add(row["conversation_id"])
    except csv.Error as exc:
        raise UserError(f"malformed CSV ({exc})", where=f"{path}: line {reader.line_num}") from None
    return matched


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("csv", type=Path)
    parser.add_argument("details", type=Path)
    parser.add_argument("--label", default="this model")
    parser.add_argument("--mapping", type=Path, default=None)
    parser.add_argument("--out", type=Path, default=None)
    args = parser.parse_args(argv)

    from generator.common.errors import UserError
    from generator.release.official_import import compare_with_release, format_pif_table, read_official

    try:
        release = read_official(args.csv)
        details = read_details(args.details)
        only = read_matched(args.mapping) if args.mapping is not None else None
        table = compare_with_release(release, details, args.label, only=only)
    except UserError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    text = format_pif_table(table) + "\n"
    if args.out is not None:
        try:
            args.out.write_text(text, encoding="utf-8")
        except OSError as exc:
            print(f"error: {args.out}: cannot write ({exc.strerror or type(exc).__name__})", file=sys.stderr)
            return 2
    sys.stdout.write(text)
    return 0


if __name__ == "__main__":
    sys.exit(main())
