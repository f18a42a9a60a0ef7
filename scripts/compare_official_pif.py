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
import json
import sys
from pathlib import Path


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
        try:
            lines = args.details.read_text(encoding="utf-8").splitlines()
        except OSError as exc:
            raise UserError(f"cannot read ({exc.strerror})", where=str(args.details)) from None
        details = []
        for number, line in enumerate(lines, start=1):
            if line.strip():
                try:
                    details.append(json.loads(line))
                except json.JSONDecodeError as exc:
                    raise UserError(f"not JSON ({exc.msg})", where=f"{args.details}: line {number}") from None
        only = None
        if args.mapping is not None:
            with args.mapping.open(newline="", encoding="utf-8") as handle:
                only = {r["conversation_id"] for r in csv.DictReader(handle) if r["status"] == "matched"}
        table = compare_with_release(release, details, args.label, only=only)
    except UserError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    text = format_pif_table(table) + "\n"
    if args.out is not None:
        args.out.write_text(text, encoding="utf-8")
    sys.stdout.write(text)
    return 0


if __name__ == "__main__":
    sys.exit(main())
