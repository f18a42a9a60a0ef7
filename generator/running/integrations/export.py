"""Write a harness run's answers as our responses.jsonl, so that ``mmmtif score`` and the released ``scoring.py``
give the official report for it.

    python -m generator.running.integrations.export inspect LOG.eval --out responses.jsonl
    python -m generator.running.integrations.export lmms-eval SAMPLES.jsonl --out responses.jsonl

Both refuse a run that did not finish: an inspect log whose status is not ``success``, an lmms-eval samples file
without our records. Failed lmms-eval requests are written as empty answers with an ``error`` field (as ``mmmtif
run --on-error record`` writes them) and counted in the message printed at the end.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path
from typing import Any

from generator.common import atomic
from generator.common.errors import UserError


def _sorted_lines(records: list[dict[str, Any]], where: str) -> str:
    seen: dict[tuple[str, int, int], dict[str, Any]] = {}
    for record in records:
        key = (str(record["id"]), int(record["turn"]), int(record.get("sample", 0)))
        if key in seen:
            raise UserError(f"answers {key[0]} turn {key[1]} twice", where=where)
        seen[key] = record
    if not seen:
        raise UserError("holds no mmmt-if responses", where=where)
    return "".join(json.dumps(seen[key], ensure_ascii=False) + "\n" for key in sorted(seen))


def inspect_records(log_path: str | Path) -> list[dict[str, Any]]:
    """The responses kept in an inspect-ai log's score metadata; refuses a log whose eval did not succeed."""
    try:
        from inspect_ai.log import read_eval_log
    except ImportError:
        raise UserError("needs inspect-ai: pip install \"mmmt-if[inspect]\"") from None
    try:
        log = read_eval_log(str(log_path))
    except (OSError, ValueError) as exc:
        raise UserError(f"not an inspect log ({exc.__class__.__name__})", where=str(log_path)) from None
    if log.status != "success":
        raise UserError(f"the evaluation did not succeed (status {log.status}); rerun it with `inspect eval-retry`",
                        where=str(log_path))
    records: list[dict[str, Any]] = []
    for sample in log.samples or []:
        for score in (sample.scores or {}).values():
            records.extend((score.metadata or {}).get("responses") or [])
    return records


def lmms_records(samples_path: str | Path) -> tuple[list[dict[str, Any]], int]:
    """Records from an lmms-eval samples log (``--log_samples``) of the mmmt_if task, and how many failed."""
    path = Path(samples_path)
    records, failed = [], 0
    try:
        lines = path.read_text(encoding="utf-8").splitlines()
    except (OSError, UnicodeDecodeError) as exc:
        raise UserError(f"cannot read it ({exc.__class__.__name__})", where=str(path)) from None
    for number, line in enumerate(lines, start=1):
        if not line.strip():
            continue
        try:
            sample = json.loads(line)
        except json.JSONDecodeError:
            raise UserError("not a JSON line", where=f"{path}:line {number}") from None
        record = sample.get("mmmt_if_responses") if isinstance(sample, dict) else None
        if not isinstance(record, dict):
            raise UserError("no mmmt_if_responses field: is this the samples log of the mmmt_if task?",
                            where=f"{path}:line {number}")
        failed += "error" in record
        records.append(record)
    return records, failed


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m generator.running.integrations.export",
                                     description=__doc__.splitlines()[0])
    parser.add_argument("harness", choices=("inspect", "lmms-eval"))
    parser.add_argument("source", help="the inspect log (.eval/.json) or the lmms-eval *_samples_*.jsonl file")
    parser.add_argument("--out", required=True, help="responses.jsonl to write")
    args = parser.parse_args(argv)
    try:
        if args.harness == "inspect":
            records, failed = inspect_records(args.source), 0
        else:
            records, failed = lmms_records(args.source)
        text = _sorted_lines(records, args.source)
        atomic.write_text(Path(args.out), text)
    except UserError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    print(f"{len(records)} responses written to {args.out}"
          + (f"; {failed} failed requests written as empty answers with an error field" if failed else ""))
    return 0


if __name__ == "__main__":
    sys.exit(main())
