"""Drive generation: plan -> render -> validate for every conversation, streamed into the writer.

Each row is a pure function of (config, seed, split, index, source), so work can be spread over processes
without changing a byte: workers build rows for consecutive batches of indices, and results are consumed in
submission order. At most a few batches per worker are in flight, so memory stays flat however many
conversations are asked for (the writer streams rows to parquet as they arrive).
"""

from __future__ import annotations

import multiprocessing
import os
from collections import deque
from collections.abc import Generator, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from generator.common.errors import UserError
from generator.generation.config import GenConfig

DEFAULT_SOURCE = "mix"
DEFAULT_SPLITS: dict[str, int] = {"test": 100}
DEFAULT_OUT = "mmmt-if"
BATCH_SIZE = 8  # conversations per task sent to a worker
IN_FLIGHT_PER_WORKER = 4  # batches queued per worker: enough to keep workers busy, small enough for flat memory


@dataclass(frozen=True)
class RunOptions:
    """Everything besides the knobs that decides the rows: seed, splits and where the material comes from."""

    seed: int = 0
    splits: Mapping[str, int] = field(default_factory=lambda: dict(DEFAULT_SPLITS))
    source: str = DEFAULT_SOURCE
    column_map: Mapping[str, str] | None = None
    difficulty: int = 1

    def generation_args(self, configs: Sequence[GenConfig]) -> dict[str, Any]:
        """What the manifest records: enough to regenerate the folder byte for byte (never the process count)."""
        from generator import __version__

        return {
            "generator_version": __version__,
            "seed": self.seed,
            "splits": dict(self.splits),
            "source": self.source,
            "column_map": dict(self.column_map) if self.column_map else None,
            "difficulty": self.difficulty,
            "variants": [cfg.to_dict() for cfg in configs],
        }


# ------------------------------------------------------------------------------------------- worker side
_SOURCES: dict[tuple[str, str, int], Any] = {}


def _source(run: RunOptions) -> Any:
    """The source object of this process (built once per process: some sources index files or datasets)."""
    import json

    key = (run.source, json.dumps(dict(run.column_map or {}), sort_keys=True), run.difficulty)
    source = _SOURCES.get(key)
    if source is None:
        from generator.generation.sources import get_source

        source = get_source(run.source, column_map=dict(run.column_map) if run.column_map else None,
                            difficulty=run.difficulty)
        _SOURCES[key] = source
    return source


def build_row(cfg: GenConfig, run: RunOptions, split: str, index: int, *, validate: bool = True) -> dict[str, Any]:
    """Plan, render and validate conversation ``index`` of ``split`` under ``cfg``."""
    return _build(cfg, run, split, index, validate=validate)[0]


def _build(cfg: GenConfig, run: RunOptions, split: str, index: int, *, validate: bool = True
           ) -> tuple[dict[str, Any], int]:
    from generator.generation.plan import plan_conversation
    from generator.generation.render import render_row

    plan = plan_conversation(cfg, seed=run.seed, split=split, index=index, source=_source(run))
    row = render_row(cfg, plan, source_name=run.source)
    if validate:
        from generator.dataset.schema import validate_row

        validate_row(row, f"{cfg.name}/{split} row {index}", config=cfg.name)
    return row, plan.conflicts_avoided


def _build_batch(task: tuple[GenConfig, RunOptions, str, int, int]) -> list[tuple[dict[str, Any], int]]:
    cfg, run, split, start, stop = task
    return [_build(cfg, run, split, index) for index in range(start, stop)]


# ------------------------------------------------------------------------------------------- driver side
class _Workers:
    """A process pool fed in order with a bounded number of batches in flight (or none for one process)."""

    def __init__(self, num_proc: int, bar: Any = None) -> None:
        self.num_proc = num_proc
        self.bar = bar
        self.images = 0
        # Per config, counts only the planner sees (see ``generate``).
        self.extra_stats: dict[str, dict[str, int]] = {}
        self.pool: Any = None
        if num_proc > 1:
            method = "fork" if "fork" in multiprocessing.get_all_start_methods() else "spawn"
            self.pool = multiprocessing.get_context(method).Pool(num_proc)

    def rows(self, cfg: GenConfig, run: RunOptions, split: str, count: int,
             exclude: Any = None) -> Iterator[dict[str, Any]]:
        """The ``count`` rows of a split; with ``exclude`` (an evaluation index), candidates sharing a scene, a
        question instance or a conversation with it are skipped, so the split keeps consecutive candidates that
        share nothing (row ids keep the candidate's index)."""
        stats = self.extra_stats.setdefault(cfg.name, {"conflicts_avoided": 0})
        candidates = count if exclude is None else max_candidates(count)
        produced = 0
        batches = self._batches(cfg, run, split, candidates)
        try:
            for batch in batches:
                for row, rejected in batch:
                    if produced == count:
                        break
                    if exclude is not None and exclude.overlap(row) is not None:
                        stats["contamination_skipped"] = stats.get("contamination_skipped", 0) + 1
                        continue
                    stats["conflicts_avoided"] += rejected
                    self.images += len(row["images"])
                    produced += 1
                    if self.bar is not None:
                        self.bar.update(1)
                        self.bar.set_postfix(images=self.images, refresh=False)
                    yield row
                if produced == count:
                    break
        finally:
            batches.close()
        if produced < count:
            raise UserError(f"only {produced} of {count} conversations of split {split!r} share nothing with the "
                            f"evaluation folders after {candidates} candidates; the source is too small to train "
                            "on without contamination", where="--exclude-from")

    def _batches(self, cfg: GenConfig, run: RunOptions, split: str, count: int) -> Generator[list[Any], None, None]:
        tasks = ((cfg, run, split, start, min(start + BATCH_SIZE, count)) for start in range(0, count, BATCH_SIZE))
        if self.pool is None:
            yield from map(_build_batch, tasks)
            return
        pending: deque[Any] = deque()
        limit = self.num_proc * IN_FLIGHT_PER_WORKER
        for task in tasks:
            pending.append(self.pool.apply_async(_build_batch, (task,)))
            if len(pending) >= limit:
                yield pending.popleft().get()
        while pending:
            yield pending.popleft().get()

    def close(self, *, terminate: bool = False) -> None:
        if self.pool is not None:
            if terminate:
                self.pool.terminate()
            else:
                self.pool.close()
            self.pool.join()
            self.pool = None


def max_candidates(count: int) -> int:
    """Candidates a decontaminated split may draw: generous (overlaps are a few percent), but finite."""
    return 4 * count + 64


def check_training_splits(splits: Mapping[str, int], exclude: Any) -> None:
    """Refuse folders that would mix training and evaluation splits, and exclusions without a training split.

    A training split generated next to an evaluation split could share scenes with it; generate the evaluation
    folder first and the training folder with ``--exclude-from`` it.
    """
    from generator.dataset.contamination import is_training_split

    training = [name for name in splits if is_training_split(name)]
    evaluation = [name for name in splits if not is_training_split(name)]
    if training and evaluation:
        raise UserError(f"training split(s) {', '.join(training)} and evaluation split(s) {', '.join(evaluation)} "
                        "in one folder; generate the evaluation folder first, then the training folder with "
                        "--exclude-from EVAL_FOLDER", where="--splits")
    if exclude is not None and not training:
        raise UserError("--exclude-from applies to training splits (names starting with 'train', e.g. "
                        "--splits train=1000)", where="--exclude-from")


def check_configs(configs: Sequence[GenConfig]) -> None:
    """Config names become folders of the output: they must be distinct."""
    if not configs:
        raise UserError("no variant selected", where="--variant")
    seen: set[str] = set()
    for cfg in configs:
        if cfg.name in seen:
            raise UserError(f"variant {cfg.name!r} selected twice; give each config its own name", where="--variant")
        seen.add(cfg.name)


def generate(out_dir: str | os.PathLike, configs: Sequence[GenConfig], run: RunOptions, *, num_proc: int = 1,
             overwrite: bool = False, quiet: bool = False, exclude: Any = None) -> Any:
    """Generate every config x split into ``out_dir`` and return the writer's result.

    The output folder is checked before any work starts, so a refused folder costs nothing. ``exclude`` (a
    :class:`generator.dataset.contamination.EvaluationIndex`) keeps every training row free of the scenes, question
    instances and conversations of the indexed evaluation folders; the manifest records their content hashes.
    """
    from generator.dataset.writer import prepare_target, write_dataset
    from generator.generation.variants import preset_description

    check_configs(configs)
    check_training_splits(run.splits, exclude)
    if num_proc < 1:
        raise UserError(f"--num-proc must be at least 1, got {num_proc}", where="--num-proc")
    prepare_target(out_dir, overwrite=overwrite)
    source = _source(run)  # fail early (one line) on a bad source spec, before workers start
    # Instruction catalogue sets are resolved once here so that a missing set fails before any work.
    from generator.generation.plan import candidate_pool

    for cfg in configs:
        candidate_pool(cfg.catalogue)
    from generator.common.progress import progress

    total = len(configs) * sum(run.splits.values())
    bar = progress(total=total, desc="generating", unit="conv", quiet=quiet)
    workers = _Workers(num_proc, bar)
    try:
        streams = {cfg.name: {split: workers.rows(cfg, run, split, count, exclude)
                              for split, count in run.splits.items()}
                   for cfg in configs}
        # The writer reads each config's extra statistics after consuming that config's rows, so this dict is
        # filled in while it streams; it is created non-empty so that the writer keeps this very object.
        for cfg in configs:
            workers.extra_stats[cfg.name] = {"conflicts_avoided": 0}
        card_context = {
            "extra_stats": workers.extra_stats,
            "pretty_name": "MMMT-IF",
            "generation_args": _with_exclusions(run.generation_args(configs), exclude),
            "extra": variants_markdown(configs) + _source_section(source),
            "describe": preset_description,
        }
        # A source whose material carries its own licence (MMDU: CC-BY-NC-4.0) sets the card's licence.
        if getattr(source, "dataset_license", None):
            card_context["license"] = source.dataset_license
        result = write_dataset(out_dir, streams, card_context=card_context, overwrite=overwrite,
                               default_config=configs[0].name, quiet=True, validate=False)
    except BaseException:
        workers.close(terminate=True)
        raise
    finally:
        bar.close()
    workers.close()
    return result


def _source_section(source: Any) -> str:
    """The card section a source asks for (where its material comes from and under which licence), if any."""
    section = getattr(source, "card_section", None)
    return f"\n{section}" if section else ""


def _with_exclusions(arguments: dict[str, Any], exclude: Any) -> dict[str, Any]:
    """Record the excluded evaluation folders (content hashes and sizes) when there are any."""
    if exclude is not None:
        arguments["exclude_from"] = exclude.record()
    return arguments


def variants_markdown(configs: Sequence[GenConfig]) -> str:
    """A card section describing each config of the folder and the knobs it changes.

    Descriptions are escaped like the rest of the card (``<question>`` would otherwise vanish as an HTML tag on
    the Hub); knob values go into code spans, where markdown shows text literally, fenced with more backticks
    than any run inside them.
    """
    import re

    from generator.dataset.card import markdown_text
    from generator.generation.variants import changed_knobs

    def code_span(text: str) -> str:
        text = " ".join(text.split())
        longest = max((len(run) for run in re.findall(r"`+", text)), default=0)
        fence = "`" * (longest + 1)
        return f"{fence} {text} {fence}" if longest else f"{fence}{text}{fence}"

    lines = ["## Configs and their knobs", ""]
    for cfg in configs:
        changed = changed_knobs(cfg)
        knobs = ", ".join(code_span(f"{k}={_knob_text(v)}") for k, v in changed.items()) or "official policy"
        lines.append(f"- **{markdown_text(cfg.name)}**: {markdown_text(cfg.description)} ({knobs})")
    return "\n".join(lines) + "\n"


def _knob_text(value: Any) -> str:
    if isinstance(value, list | tuple):
        return ",".join(str(v) for v in value)
    return str(value)


__all__ = ["DEFAULT_OUT", "DEFAULT_SOURCE", "DEFAULT_SPLITS", "RunOptions", "build_row", "generate"]
