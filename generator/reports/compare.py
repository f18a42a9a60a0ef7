"""Side-by-side comparison of score reports (``report.json`` files written by ``mmmtif score``).

One column per report, one row per headline number, so that models run on the same dataset can be read across.
The first rows say what each column is (model, dataset, config, split, history mode, scoring mode); headline
figures carry their 95% intervals, and a note says which differences lie within overlapping intervals. Reports of
different datasets or configs (their ``dataset_sha256`` differs: it covers the config and every conversation as
prompted) are refused by :func:`check_comparable` unless the caller asks to compare across them.
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


def _with_interval(value: Any, interval: Any) -> str:
    if value is None or not isinstance(interval, list) or len(interval) != 2:
        return _ratio(value)
    return f"{_ratio(value)} [{interval[0]:.3f}, {interval[1]:.3f}]"


def _inputs(report: dict[str, Any]) -> dict[str, Any]:
    inputs = report.get("inputs")
    return inputs if isinstance(inputs, dict) else {}


def _source(report: dict[str, Any]) -> str:
    inputs = _inputs(report)
    dataset = inputs.get("dataset")
    if not dataset:
        digest = inputs.get("dataset_sha256")
        return f"sha256 {digest[:12]}" if isinstance(digest, str) else "–"
    return f"{dataset}@{inputs['revision']}" if inputs.get("revision") else str(dataset)


def check_comparable(reports: Sequence[tuple[str, dict[str, Any]]], *, across: bool = False) -> None:
    """Refuse reports of different datasets or configs (unless ``across``): their numbers measure other things."""
    digests = {_inputs(r).get("dataset_sha256") for _, r in reports}
    if len(digests) > 1 and not across:
        described = "; ".join(f"{label}: {_source(r)} config {_inputs(r).get('config') or '?'} split "
                              f"{_inputs(r).get('split') or '?'}" for label, r in reports)
        raise UserError(f"the reports were scored on different datasets or configs ({described}); "
                        "use --across to compare them anyway")


def _overlap_notes(reports: Sequence[tuple[str, dict[str, Any]]]) -> list[str]:
    """For each headline figure, the pairs of reports whose 95% intervals overlap (or that have none)."""
    notes = []
    for key, name in (("pif", "PIF"), ("answer_accuracy", "answer accuracy"), *(
            (k, k) for k in _pif_n_k_keys(reports))):
        overlapping = []
        for i, (label_a, a) in enumerate(reports):
            for label_b, b in reports[i + 1:]:
                band_a = (a.get("intervals") or {}).get(key)
                band_b = (b.get("intervals") or {}).get(key)
                if isinstance(band_a, list) and isinstance(band_b, list) and \
                        band_a[0] <= band_b[1] and band_b[0] <= band_a[1]:
                    overlapping.append(f"{label_a} and {label_b}")
        if overlapping:
            notes.append(f"{name}: the 95% intervals of {', '.join(overlapping)} overlap; that difference may be "
                         "noise.")
    return notes


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

    def band(key: str) -> Any:
        return lambda r: _with_interval(r.get(key), (r.get("intervals") or {}).get(key))

    rows: list[tuple[str, list[str]]] = [
        ("model", each(lambda r: str(_inputs(r).get("model") or "–"))),
        ("dataset", each(_source)),
        ("config", each(lambda r: str(_inputs(r).get("config") or "–"))),
        ("split", each(lambda r: str(_inputs(r).get("split") or "–"))),
        ("history", each(lambda r: str(_inputs(r).get("history") or "–"))),
        ("PIF (turns with instructions)", each(band("pif"))),
    ]
    rows += [(key, each(band(key))) for key in _pif_n_k_keys(reports)]
    rows += [
        ("PIF at the first turn", each(lambda r: _turn_pif(r, "first"))),
        ("PIF at the last turn", each(lambda r: _turn_pif(r, "last"))),
        ("PIF, release convention", each(lambda r: _ratio(get("release_convention", "pif")(r)))),
        ("instruction-level PIF", each(lambda r: _ratio(r.get("pif_instruction_level")))),
        ("responses with PIF 1", each(lambda r: _ratio(r.get("perfect_rate")))),
        ("answer accuracy", each(lambda r: _with_interval(get("answers", "accuracy")(r),
                                                          (r.get("intervals") or {}).get("answer_accuracy")))),
        ("partial (responses missing)", each(lambda r: "yes" if r.get("partial") else "no")),
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
    """The comparison as a markdown document: one table, plus notes (datasets differ, intervals overlap)."""
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
    if any(r.get("partial") for _, r in reports):
        notes.append("Some reports are partial (responses missing): their figures cover only what was answered.")
    notes += _overlap_notes(reports)
    if notes:
        lines += ["", *[f"> {note}" for note in notes]]
    return "\n".join(lines) + "\n"
