"""Side-by-side comparison of score reports (``report.json`` files written by ``mmmtif score``).

One column per report, one row per headline number, so that models run on the same dataset can be read across.
Reports scored on different datasets are still shown, but flagged: their numbers are not comparable.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from generator.common.errors import UserError

_PIF_N_K = re.compile(r"^PIF-(\d+)-(\d+)$")
_REQUIRED = ("pif", "by_turn", "counts")


def load_report(path: str | Path) -> dict[str, Any]:
    """Read one report.json; anything that is not a score report is a user error naming the file."""
    from generator.common.errors import ValidationError
    from generator.common.reading import load_json_file
    from generator.scoring.report import validate_report

    path = Path(path)
    data = load_json_file(path, what="report")
    if not isinstance(data, dict) or any(key not in data for key in _REQUIRED):
        raise UserError(f"not a score report (needs {', '.join(_REQUIRED)}); write one with `mmmtif score`",
                        where=str(path))
    try:  # every figure the table shows must be what `mmmtif score` writes (a number, not text)
        validate_report(data)
    except ValidationError as exc:
        raise UserError(f"not a valid score report: {exc}", where=str(path)) from None
    return data


def default_labels(paths: Sequence[str | Path]) -> list[str]:
    """File stems, or parent/stem where stems repeat (e.g. several runs/<model>/report.json)."""
    stems = [Path(p).stem for p in paths]
    labels = []
    for path, stem in zip(paths, stems, strict=True):
        labels.append(f"{Path(path).parent.name}/{stem}" if stems.count(stem) > 1 else stem)
    if len(set(labels)) < len(labels):
        labels = [f"{label} ({i + 1})" for i, label in enumerate(labels)]
    return labels


def _ratio(value: Any) -> str:
    return "–" if value is None else f"{float(value):.3f}"


def _pif_n_k_keys(reports: Sequence[tuple[str, dict[str, Any]]]) -> list[str]:
    keys = {key for _, report in reports for key in report if _PIF_N_K.match(key)}
    return sorted(keys, key=lambda k: tuple(int(x) for x in _PIF_N_K.match(k).groups()))  # type: ignore[union-attr]


def _turn_pif(report: dict[str, Any], which: str) -> str:
    rows = [row for row in report.get("by_turn") or [] if row.get("responses")]
    if not rows:
        return "–"
    row = min(rows, key=lambda r: r["turn"]) if which == "first" else max(rows, key=lambda r: r["turn"])
    return f"{_ratio(row.get('pif'))} (turn {row['turn']})"


def compare_rows(reports: Sequence[tuple[str, dict[str, Any]]]) -> list[tuple[str, list[str]]]:
    """(metric, one cell per report) in display order."""
    def each(fn: Any) -> list[str]:
        return [fn(report) for _, report in reports]

    def get(*keys: str) -> Any:
        def pick(report: dict[str, Any]) -> Any:
            value: Any = report
            for key in keys:
                if not isinstance(value, dict) or key not in value:
                    return None
                value = value[key]
            return value
        return pick

    def count(*keys: str) -> Any:
        return lambda report: "–" if get(*keys)(report) is None else str(get(*keys)(report))

    rows: list[tuple[str, list[str]]] = [
        ("PIF (turns with instructions)", each(lambda r: _ratio(r.get("pif")))),
    ]
    rows += [(key, each(lambda r, key=key: _ratio(r.get(key)))) for key in _pif_n_k_keys(reports)]
    rows += [
        ("PIF at the first turn", each(lambda r: _turn_pif(r, "first"))),
        ("PIF at the last turn", each(lambda r: _turn_pif(r, "last"))),
        ("PIF, release convention", each(lambda r: _ratio(get("release_convention", "pif")(r)))),
        ("instruction-level PIF", each(lambda r: _ratio(r.get("pif_instruction_level")))),
        ("responses with PIF 1", each(lambda r: _ratio(r.get("perfect_rate")))),
        ("answer accuracy", each(lambda r: _ratio(get("answers", "accuracy")(r)))),
        ("answers checked", each(count("answers", "checked"))),
        ("samples per turn", each(count("samples_per_turn"))),
        ("conversations", each(count("counts", "conversations"))),
        ("turns", each(count("counts", "dataset_turns"))),
        ("responses", each(count("counts", "responses"))),
        ("missing responses", each(count("counts", "missing_responses"))),
        ("scoring mode", each(lambda r: str(r.get("mode", "–")))),
    ]
    return rows


def _cell(text: str) -> str:
    return text.replace("|", "\\|")


def compare_markdown(reports: Sequence[tuple[str, dict[str, Any]]]) -> str:
    """The comparison as a markdown document: one table, plus a warning when datasets differ."""
    if not reports:
        raise UserError("give at least one report")
    header = "| metric | " + " | ".join(_cell(label) for label, _ in reports) + " |"
    align = "|---|" + "---:|" * len(reports)
    lines = ["# Model comparison", "", header, align]
    lines += [f"| {metric} | " + " | ".join(_cell(c) for c in cells) + " |" for metric, cells in compare_rows(reports)]
    digests = {(r.get("inputs") or {}).get("dataset_sha256") for _, r in reports}
    modes = {r.get("mode") for _, r in reports}
    notes = []
    if len(digests) > 1:
        notes.append("These reports were scored on different datasets (dataset_sha256 differs): "
                     "their numbers are not directly comparable.")
    if len(modes) > 1:
        notes.append("These reports use different scoring modes (strict / loose).")
    if notes:
        lines += ["", *[f"> {note}" for note in notes]]
    return "\n".join(lines) + "\n"
