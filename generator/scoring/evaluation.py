"""The scoring pipeline in one place: rows + responses -> verdicts -> report and details.

Scoring streams: the responses file is indexed (key, byte offset, line), then the dataset is read conversation by
conversation; each conversation's responses are read back, checked, written to the details file and folded into
an :class:`~generator.scoring.metrics.Aggregate`. Memory is one conversation plus the aggregates, whatever the
number of responses. ``mmmtif score`` and the released ``scoring.py`` both call :func:`run_score`, so the two give
the same report; :func:`evaluate_rows` runs the same pipeline on rows and responses held in memory.
"""

from __future__ import annotations

import importlib
import json
import os
import tempfile
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from generator.common.atomic import Writer, check_distinct_paths, check_output_path, write_together
from generator.common.errors import UserError, ValidationError
from generator.scoring.fingerprint import conversation_fingerprint
from generator.scoring.metrics import Aggregate, details_record
from generator.scoring.report import format_summary, report_writer, validate_report
from generator.scoring.responses import Response, ResponseStore, collect_responses, index_responses_file
from generator.scoring.turns import TurnPreparer, TurnSpec
from generator.scoring.verdicts import ResponseResult, check_mode, score_response

Progress = Callable[[Iterable, int], Iterable]


def default_catalogue() -> Any:
    """The instruction catalogue (``generator.core.instructions``): ``Instruction``, ``get_type`` and ``check``."""
    return importlib.import_module("generator.core.instructions")


@dataclass
class Target:
    """What is being scored, as the report records it; ``others`` finds a foreign line's config (error path)."""

    dataset: str = "dataset"
    revision: str | None = None
    config: str | None = None
    split: str | None = None
    others: Callable[[], Iterator[tuple[str, str, Iterator[dict[str, Any]]]]] | None = None

    def describe(self) -> str:
        parts = [f"config {self.config!r}" if self.config else "", f"split {self.split!r}" if self.split else ""]
        return " ".join(p for p in parts if p) or "the scored rows"


@dataclass
class Evaluation:
    """The aggregates of one scoring run, with the details records when they were kept."""

    aggregate: Aggregate
    inputs: dict[str, Any]
    records: list[dict] | None = field(default=None)

    @property
    def partial(self) -> bool:
        return self.aggregate.responses < self.aggregate.dataset_turns * self.aggregate.n

    def report(self) -> dict:
        return self.aggregate.report(inputs=self.inputs, partial=self.partial)

    def details(self) -> list[dict]:
        if self.records is None:
            raise ValueError("details were not kept for this evaluation")
        return list(self.records)


def _foreign_config(target: Target, response: Response) -> str:
    """Which other (config, split) of the dataset a fingerprinted line was made from, if any can be told."""
    if target.others is None:
        return ""
    try:
        for name, split, rows in target.others():
            for row in rows:
                if row.get("id") == response.id:
                    if conversation_fingerprint(row) == response.fingerprint:
                        return f"; it answers config {name!r} split {split!r}"
                    break
    except UserError:
        return ""
    return "; it matches no config of this dataset (another seed, dataset or version?)"


def _join(specs: Sequence[TurnSpec], responses: list[Response]) -> list[tuple[TurnSpec, Response]]:
    """Pair a conversation's responses with its turns, in dataset order; an unknown turn names the line."""
    position = {spec.turn: index for index, spec in enumerate(specs)}
    pairs = []
    for response in responses:
        index = position.get(response.turn)
        if index is None:
            known = sorted(position)
            extent = f"its turns: {known[0]}..{known[-1]}, {len(known)} in all" if known else "it has no turns"
            raise ValidationError(f"conversation {response.id!r} has no turn {response.turn} ({extent})",
                                  where=f"{response.where}: field turn")
        pairs.append((index, response.sample, specs[index], response))
    pairs.sort(key=lambda item: (item[0], item[1]))
    return [(spec, response) for _, _, spec, response in pairs]


def _score(rows: Iterable[Mapping], store: ResponseStore, aggregate: Aggregate, catalogue: Any, mode: str,
           target: Target, source: str, sink: Callable[[ResponseResult], None] | None) -> Iterator[int]:
    """Score conversation by conversation; yields once per response (drives the progress bar)."""
    preparer = TurnPreparer(catalogue, source=source)
    for row_index, row in enumerate(rows):
        specs = preparer.row(row_index, row)
        if target.config is None and isinstance(row, Mapping) and row.get("config"):
            target.config = str(row["config"])
        fingerprint = conversation_fingerprint(row)
        responses = store.take(row["id"])
        results = []
        for spec, response in _join(specs, responses):
            if response.fingerprint is not None and response.fingerprint != fingerprint:
                raise ValidationError(f"answers conversation {response.id!r} as prompted elsewhere, not as in "
                                      f"{target.describe()} of {target.dataset}{_foreign_config(target, response)}",
                                      where=f"{response.where}: field fingerprint")
            result = score_response(spec, response, catalogue, mode)
            if sink is not None:
                sink(result)
            results.append(result)
            yield 1
        aggregate.add_conversation(fingerprint, specs, results)
    left = store.leftover()
    if left is not None:
        raise ValidationError(f"unknown conversation id {left.id!r} (not in {target.describe()} of "
                              f"{target.dataset})", where=f"{left.where}: field id")


def _single(values: set[str], what: str, where: str) -> str | None:
    if len(values) > 1:
        raise UserError(f"the file mixes responses of several {what}s ({', '.join(sorted(values))}); "
                        f"score each {what}'s responses apart", where=where)
    return next(iter(values)) if values else None


def evaluate(rows: Iterable[Mapping], store: ResponseStore, mode: str = "strict", *, catalogue: Any = None,
             progress: Progress | None = None, source: str = "dataset", target: Target | None = None,
             sink: Callable[[ResponseResult], None] | None = None) -> Evaluation:
    """Score every response of ``store`` against the rows streamed from ``rows``."""
    check_mode(mode)
    catalogue = default_catalogue() if catalogue is None else catalogue
    target = Target(dataset=source) if target is None else target
    model = _single(store.models, "model", store.source)
    history = _single(store.histories, "history mode", store.source)
    aggregate = Aggregate(store.samples_per_turn(), mode)
    ticks = _score(rows, store, aggregate, catalogue, mode, target, source, sink)
    try:
        for _ in (ticks if progress is None else progress(ticks, store.count)):
            pass
    finally:
        store.close()
    inputs = {"dataset": target.dataset, "revision": target.revision, "config": target.config,
              "split": target.split, "model": model, "history": history,
              "fingerprinted_responses": store.fingerprinted}
    return Evaluation(aggregate=aggregate, inputs=inputs)


def evaluate_rows(rows: Iterable[Mapping], responses: Iterable[Response | Mapping], mode: str = "strict", *,
                  catalogue: Any = None, progress: Progress | None = None, source: str = "dataset",
                  samples: int | None = None, target: Target | None = None) -> Evaluation:
    """Validate rows and responses held in memory, check every response, keep the details records.

    ``target`` names what the rows are (dataset, config, split) for the report's ``inputs``.
    """
    check_mode(mode)
    store = collect_responses(responses, samples=samples)
    records: list[dict] = []
    evaluation = evaluate(rows, store, mode, catalogue=catalogue, progress=progress, source=source,
                          target=target, sink=lambda result: records.append(details_record(result)))
    evaluation.records = records
    return evaluation


def score_rows(rows: Iterable[Mapping], responses: Iterable[Response | Mapping], mode: str = "strict", *,
               catalogue: Any = None, samples: int | None = None, target: Target | None = None) -> dict:
    """Score responses against dataset rows and return the report dictionary."""
    return evaluate_rows(rows, responses, mode, catalogue=catalogue, samples=samples, target=target).report()


def incomplete_message(report: dict) -> str:
    """What a responses file lacks, in one line."""
    counts = report["counts"]
    return (f"the responses do not cover every turn and sample: {counts['missing_responses']} of "
            f"{counts['expected_responses']} responses missing ({counts['missing_turns']} turns without any "
            f"response, {counts['incomplete_turns']} with fewer than {report['samples_per_turn']} samples); "
            "score them anyway with --allow-partial")


def run_score(dataset: str, *, responses_path: str | Path, out: str | Path, config: str | None = None,
              split: str | None = None, revision: str | None = None, details: str | Path | None = None,
              mode: str = "strict", echo: Callable[[str], None] | None = print, progress: Progress | None = None,
              schema: dict | None = None, require_schema_check: bool = True,
              rows: Sequence[Mapping] | None = None, samples: int | None = None,
              allow_partial: bool = False,
              more_outputs: Callable[[dict], Mapping[Path, Writer]] | None = None) -> dict:
    """Load, score, validate and write: the whole of ``mmmtif score``.

    ``echo`` receives the summary (None for quiet). ``rows`` skips loading (already loaded by the caller).
    ``samples`` declares N; without it the response lines may declare it. An incomplete file is refused unless
    ``allow_partial``. The details file (when asked) is written as responses are scored, to a private temporary
    file; ``more_outputs`` maps the report to further files (the plot). The report, the details and those files
    are then written together: when one cannot be written, none of the previous files changes.
    """
    check_mode(mode)
    check_distinct_paths({"--responses": responses_path, "--out": out, "--details": details})
    for path in (out, details):
        if path is not None:
            check_output_path(path)
    if samples is not None and samples < 1:
        raise UserError("must be at least 1", where="--samples")
    store = index_responses_file(responses_path, samples=samples)
    if rows is None:
        from generator.scoring.loader import open_rows

        opened = open_rows(dataset, config, split, revision, for_scoring=True)
        target = Target(dataset=str(dataset), revision=opened.revision, config=opened.config, split=opened.split,
                        others=opened.others)
        row_iter: Iterable[Mapping] = opened.rows()
    else:
        target = Target(dataset=str(dataset), revision=revision, config=config, split=split)
        row_iter = rows

    def finish(sink: Callable[[ResponseResult], None] | None) -> dict:
        evaluation = evaluate(row_iter, store, mode, progress=progress, source=str(dataset), target=target,
                              sink=sink)
        report = evaluation.report()
        if report["partial"] and not allow_partial:
            raise UserError(incomplete_message(report), where=str(responses_path))
        validate_report(report, schema, required=require_schema_check)
        return report

    files: dict[Path, Writer] = {}
    streamed: str | None = None
    try:
        if details is None:
            report = finish(None)
        else:
            details_path = check_output_path(details)
            fd, streamed = tempfile.mkstemp(prefix=f".{details_path.name}.{os.getpid()}-", suffix=".part",
                                            dir=details_path.parent)
            with os.fdopen(fd, "w", encoding="utf-8", newline="\n") as handle:
                def sink(result: ResponseResult) -> None:
                    handle.write(json.dumps(details_record(result), sort_keys=True, ensure_ascii=False) + "\n")

                report = finish(sink)
            part = streamed

            def move_details(tmp: str) -> None:
                os.replace(part, tmp)

            files[details_path] = move_details
        files = {Path(out): report_writer(report, schema=schema, validate=False), **files}
        if more_outputs is not None:
            files.update(more_outputs(report))
        write_together(files)
    finally:
        if streamed is not None and os.path.exists(streamed):
            os.unlink(streamed)
    if echo is not None:
        echo(format_summary(report))
    return report
