"""Write, validate and summarise reports; write per-response details.

The report is written as JSON with sorted keys and an indent of 2, so that ``mmmtif score`` and the released
``scoring.py`` produce byte-identical files. Schema validation runs the schema compiled into a Python function
(standard library only); ``jsonschema`` is imported only to word a failure (it is always installed for ``mmmtif``;
without it, the standalone script does not stop on a report the compiled function refuses).
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterable
from pathlib import Path
from typing import Any

from generator.common.atomic import Writer, check_output_path, text_writer, write_together
from generator.common.errors import ValidationError
from generator.common.schemacheck import compile_schema


def report_json(report: dict) -> str:
    """The canonical text of a report (what ``--out`` receives)."""
    return json.dumps(report, sort_keys=True, indent=2, ensure_ascii=False, allow_nan=False) + "\n"


def load_report_schema() -> dict:
    """The report schema shipped in ``schemas/report.schema.json``."""
    from generator.common.resources import resource_path

    return json.loads(resource_path("schemas", "report.schema.json").read_text(encoding="utf-8"))


#: Compiled yes/no checks by schema text: the report schema is compiled once per process.
_COMPILED: dict[str, Callable[[Any], bool] | None] = {}


def _fast_check(schema: dict) -> Callable[[Any], bool] | None:
    key = json.dumps(schema, sort_keys=True)
    if key not in _COMPILED:
        _COMPILED[key] = compile_schema(schema, "report schema")
    return _COMPILED[key]


def validate_report(report: dict, schema: dict | None = None, *, required: bool = True) -> bool:
    """Validate against the report schema; returns False when it could not be checked (jsonschema missing and not
    ``required``).

    The schema is compiled into a yes/no function (:mod:`generator.common.schemacheck`), so a valid report needs
    neither jsonschema nor its import time; jsonschema runs only to word a failure.
    """
    if schema is None:
        schema = load_report_schema()
    fast = _fast_check(schema)
    if fast is not None and fast(report):
        return True
    try:
        import jsonschema
    except ImportError:
        if required:
            raise
        return False
    errors = sorted(jsonschema.Draft202012Validator(schema).iter_errors(report), key=lambda e: list(e.path))
    if errors:
        first = errors[0]
        location = "/".join(str(part) for part in first.path) or "(top level)"
        raise ValidationError(f"report does not match its schema: {first.message}", where=f"report: {location}")
    return True


def report_writer(report: dict, *, schema: dict | None = None, validate: bool = True,
                  require_schema_check: bool = True) -> Writer:
    """Validate (unless ``validate`` is False) and return the writer of the report, for :func:`write_together`."""
    if validate:
        validate_report(report, schema, required=require_schema_check)
    return text_writer(report_json(report))


def details_writer(records: Iterable[dict]) -> Writer:
    """The writer of the details file: one JSON line per scored response."""
    return text_writer("".join(json.dumps(record, sort_keys=True, ensure_ascii=False) + "\n" for record in records))


def write_report(report: dict, path: str | Path, *, schema: dict | None = None, validate: bool = True,
                 require_schema_check: bool = True) -> None:
    """Validate (unless ``validate`` is False) and write the report atomically."""
    writer = report_writer(report, schema=schema, validate=validate, require_schema_check=require_schema_check)
    write_together({check_output_path(path): writer})


def write_details(records: Iterable[dict], path: str | Path) -> int:
    """Write one JSON line per scored response; returns the number of lines."""
    records = list(records)
    write_together({check_output_path(path): details_writer(records)})
    return len(records)


def _fmt(value: float | None, digits: int = 3) -> str:
    return "-" if value is None else f"{value:.{digits}f}"


def _interval(value: list[float] | None) -> str:
    return "" if value is None else f" [{value[0]:.3f}, {value[1]:.3f}]"


def format_summary(report: dict) -> str:
    """A readable summary: what was scored, the headline figures with their intervals, coverage, PIF by turn.

    The first figure is the paper's PIF; each line says what its figure is. With a partial responses file every
    headline figure is marked "(partial)".
    """
    counts = report["counts"]
    n = report["samples_per_turn"]
    inputs = report.get("inputs") or {}
    intervals = report.get("intervals") or {}
    mark = " (partial)" if report.get("partial") else ""
    source = inputs.get("dataset") or "-"
    if inputs.get("revision"):
        source += f"@{inputs['revision']}"
    lines = [
        f"dataset: {source}   config: {inputs.get('config') or '-'}   split: {inputs.get('split') or '-'}   "
        f"model: {inputs.get('model') or '-'}   history: {inputs.get('history') or '-'}",
        f"mode: {report['mode']}   responses: {counts['responses']}   samples per turn: {n}",
        f"PIF: {_fmt(report['pif'])}{_interval(intervals.get('pif'))}{mark}   the paper's PIF: mean share of the "
        "active instructions a response follows (turns with instructions)",
    ]
    if counts["responses"] and inputs.get("fingerprinted_responses") == 0:
        lines.append("not bound: no response line carries a conversation fingerprint, so nothing shows these responses "
                     "answer this config and split (`mmmtif run` and the harness exports write one)")
    if n:
        lines.append("   ".join(f"PIF-{n}-{k}: {_fmt(report[f'PIF-{n}-{k}'])}"
                                 f"{_interval(intervals.get(f'PIF-{n}-{k}'))}{mark}" for k in range(1, n + 1)))
        lines.append(f"   PIF-{n}-K: share of turns where at least K of the {n} samples follow every instruction")
    lines.append(f"instruction-level PIF {_fmt(report['pif_instruction_level'])}{mark} (followed checks / all checks)"
                 f"; release convention {_fmt(report['release_convention']['pif'])}{mark} (turns without "
                 "instructions count as 1, as the official release scores them)")
    answers = report["answers"]
    if answers["checked"]:
        lines.append(f"answer accuracy: {_fmt(answers['accuracy'])}{_interval(intervals.get('answer_accuracy'))}"
                     f"{mark} ({answers['correct']}/{answers['checked']})")
    if intervals.get("resamples"):
        lines.append(f"[95% intervals: bootstrap over {intervals['conversations']} conversations, "
                     f"{intervals['resamples']} resamples, seed {intervals['seed']}]")
    distractors = report["distractors"]
    if distractors["checks"]:
        lines.append(f"distractor adoption: {_fmt(distractors['rate'])}{mark} "
                     f"({distractors['adopted']}/{distractors['checks']})")
    no_instruction = report["no_instruction"]
    if no_instruction["responses"]:
        lines.append(f"turns without instructions: {no_instruction['responses']} responses (not in PIF)")
    if counts["missing_responses"]:
        lines.append(f"partial: {counts['missing_responses']} of {counts['expected_responses']} responses missing "
                     f"(turns without any: {counts['missing_turns']}, incomplete turns: {counts['incomplete_turns']})")
    grounding = report.get("by_grounding") or {}
    image = grounding.get("image_grounded") or {}
    if image.get("responses"):
        text = grounding["text_only"]
        lines.append(f"image-grounded PIF: {_fmt(image['pif'])}{_interval(image.get('ci95'))} "
                     f"({image['followed']}/{image['checks']} checks)   "
                     f"text-only PIF: {_fmt(text['pif'])}{_interval(text.get('ci95'))} "
                     f"({text['followed']}/{text['checks']} checks)")
    if report["by_group"]:
        lines.append("by group: " + ", ".join(f"{row['group']} {_fmt(row['rate'], 2)}" for row in report["by_group"]))
    lines.append("")
    lines.append(f"{'turn':>4}  {'responses':>9}  {'active':>6}  {'PIF':>5}  {'95% CI':>13}  {'PIF=1':>5}")
    for row in report["by_turn"]:
        band = row.get("ci95")
        shown = "-" if band is None else f"{band[0]:.3f}-{band[1]:.3f}"
        lines.append(f"{row['turn']:>4}  {row['responses']:>9}  {_fmt(row['mean_active'], 1):>6}  "
                     f"{_fmt(row['pif']):>5}  {shown:>13}  {_fmt(row['perfect_rate'], 2):>5}")
    return "\n".join(lines)
