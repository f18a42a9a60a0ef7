"""The scoring pipeline in one place: rows + responses -> verdicts -> report and details.

``mmmtif score`` and the released ``scoring.py`` both call :func:`run_score`, so the two give the same report.
"""

from __future__ import annotations

import importlib
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from generator.common.atomic import Writer, check_distinct_paths, check_output_path, write_together
from generator.scoring.metrics import build_report, details_records
from generator.scoring.report import details_writer, format_summary, report_writer
from generator.scoring.responses import Response, collect_responses, read_responses
from generator.scoring.turns import TurnSpec, prepare_turns
from generator.scoring.verdicts import ResponseResult, check_mode, evaluate

Progress = Callable[[Iterable, int], Iterable]


def default_catalogue() -> Any:
    """The instruction catalogue (``generator.core.instructions``): ``Instruction``, ``get_type`` and ``check``."""
    return importlib.import_module("generator.core.instructions")


@dataclass
class Evaluation:
    """Scored responses plus what is needed to aggregate them."""

    specs: list[TurnSpec]
    responses: list[Response]
    results: list[ResponseResult]
    mode: str

    def report(self) -> dict:
        return build_report(self.specs, self.results, self.mode, self.responses)

    def details(self) -> list[dict]:
        return list(details_records(self.results))


def evaluate_rows(rows: Iterable[Mapping], responses: Iterable[Response | Mapping], mode: str = "strict", *,
                  catalogue: Any = None, progress: Progress | None = None, source: str = "dataset") -> Evaluation:
    """Validate rows and responses, then check every response."""
    check_mode(mode)
    catalogue = default_catalogue() if catalogue is None else catalogue
    specs = prepare_turns(rows, catalogue, source=source)
    collected = collect_responses(responses)
    results = evaluate(specs, collected, catalogue, mode, progress)
    return Evaluation(specs=specs, responses=collected, results=results, mode=mode)


def score_rows(rows: Iterable[Mapping], responses: Iterable[Response | Mapping], mode: str = "strict", *,
               catalogue: Any = None) -> dict:
    """Score responses against dataset rows and return the report dictionary."""
    return evaluate_rows(rows, responses, mode, catalogue=catalogue).report()


def run_score(dataset: str, *, responses_path: str | Path, out: str | Path, config: str | None = None,
              split: str | None = None, revision: str | None = None, details: str | Path | None = None,
              mode: str = "strict", echo: Callable[[str], None] | None = print, progress: Progress | None = None,
              schema: dict | None = None, require_schema_check: bool = True,
              rows: Sequence[Mapping] | None = None,
              more_outputs: Callable[[dict], Mapping[Path, Writer]] | None = None) -> dict:
    """Load, score, validate and write: the whole of ``mmmtif score``.

    ``echo`` receives the summary (None for quiet). ``rows`` skips loading (already loaded by the caller).
    ``more_outputs`` maps the report to further files (the plot). All files are written together: when one
    cannot be written, none of the previous files changes.
    """
    check_mode(mode)
    check_distinct_paths({"--responses": responses_path, "--out": out, "--details": details})
    for path in (out, details):
        if path is not None:
            check_output_path(path)
    responses = read_responses(responses_path)
    if rows is None:
        from generator.scoring.loader import load_rows

        rows = load_rows(dataset, config, split, revision)
    evaluation = evaluate_rows(rows, responses, mode, progress=progress, source=str(dataset))
    report = evaluation.report()
    files: dict[Path, Writer] = {
        Path(out): report_writer(report, schema=schema, require_schema_check=require_schema_check)}
    if details is not None:
        files[Path(details)] = details_writer(evaluation.details())
    if more_outputs is not None:
        files.update(more_outputs(report))
    write_together(files)
    if echo is not None:
        echo(format_summary(report))
    return report
