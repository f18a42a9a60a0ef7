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
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
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
        from generator.generation.sources.base import public_source

        return {
            "generator_version": __version__,
            "seed": self.seed,
            "splits": dict(self.splits),
            "source": public_source(self.source),
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
    from generator.generation.sources.base import public_source

    plan = plan_conversation(cfg, seed=run.seed, split=split, index=index, source=_source(run))
    row = render_row(cfg, plan, source_name=public_source(run.source))
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

    def rows(self, cfg: GenConfig, run: RunOptions, split: str, count: int) -> Iterator[dict[str, Any]]:
        stats = self.extra_stats.setdefault(cfg.name, {"conflicts_avoided": 0})
        for batch in self._batches(cfg, run, split, count):
            for row, rejected in batch:
                stats["conflicts_avoided"] += rejected
                self.images += len(row["images"])
                if self.bar is not None:
                    self.bar.update(1)
                    self.bar.set_postfix(images=self.images, refresh=False)
                yield row

    def _batches(self, cfg: GenConfig, run: RunOptions, split: str, count: int) -> Iterator[list[Any]]:
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
             overwrite: bool = False, quiet: bool = False) -> Any:
    """Generate every config x split into ``out_dir`` and return the writer's result.

    The output folder is checked before any work starts, so a refused folder costs nothing.
    """
    from generator.dataset.writer import output_lock, prepare_target, recover_leftovers

    check_configs(configs)
    if num_proc < 1:
        raise UserError(f"--num-proc must be at least 1, got {num_proc}", where="--num-proc")
    prepare_target(out_dir, overwrite=overwrite)
    with output_lock(out_dir):
        recover_leftovers(Path(out_dir).resolve())
        return _generate_locked(out_dir, configs, run, num_proc=num_proc, overwrite=overwrite, quiet=quiet)


def _generate_locked(out_dir: str | os.PathLike, configs: Sequence[GenConfig], run: RunOptions, *, num_proc: int,
                     overwrite: bool, quiet: bool) -> Any:
    """The work of :func:`generate`, with the output locked against a concurrent run."""
    from generator.dataset.writer import write_dataset
    from generator.generation.variants import preset_description

    _source(run)  # fail early (one line) on a bad source spec, before workers start
    # Instruction catalogue sets are resolved once here so that a missing set fails before any work.
    from generator.generation.plan import candidate_pool

    for cfg in configs:
        candidate_pool(cfg.catalogue)
    from generator.common.progress import progress

    total = len(configs) * sum(run.splits.values())
    bar = progress(total=total, desc="generating", unit="conv", quiet=quiet)
    workers = _Workers(num_proc, bar)
    try:
        streams = {cfg.name: {split: workers.rows(cfg, run, split, count) for split, count in run.splits.items()}
                   for cfg in configs}
        # The writer reads each config's extra statistics after consuming that config's rows, so this dict is
        # filled in while it streams; it is created non-empty so that the writer keeps this very object.
        for cfg in configs:
            workers.extra_stats[cfg.name] = {"conflicts_avoided": 0}
        card_context = {
            "extra_stats": workers.extra_stats,
            "pretty_name": "MMMT-IF",
            "generation_args": run.generation_args(configs),
            "extra": variants_markdown(configs),
            "describe": preset_description,
        }
        result = write_dataset(out_dir, streams, card_context=card_context, overwrite=overwrite,
                               default_config=configs[0].name, quiet=True, validate=False)
    except BaseException:
        workers.close(terminate=True)
        raise
    finally:
        bar.close()
    workers.close()
    return result


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
