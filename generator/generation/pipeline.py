"""Drive generation: plan -> render -> validate for every conversation, streamed into the writer.

Each row is a pure function of (config, seed, split, index, source), so work can be spread over processes
without changing a byte: workers build rows for consecutive batches of indices, and results are consumed in
submission order. At most a few batches per worker are in flight, so memory stays flat however many
conversations are asked for (the writer streams rows to parquet as they arrive).
"""

from __future__ import annotations

import contextlib
import multiprocessing
import os
import shutil
from collections import deque
from collections.abc import Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from generator.common.errors import UserError
from generator.generation.config import GenConfig

DEFAULT_SOURCE = "mix"
DEFAULT_SPLITS: dict[str, int] = {"test": 100}
DEFAULT_OUT = "mmmt-if"
BATCH_SIZE = 8  # conversations per task sent to a worker
DEFAULT_ROWS_PER_SHARD = 2000  # rows of one parquet file (the writer's default); fixes the units of work
IN_FLIGHT_PER_WORKER = 4  # batches queued per worker: enough to keep workers busy, small enough for flat memory


@dataclass(frozen=True)
class GenerationRun:
    """Everything besides the knobs that decides the rows: seed, splits and where the material comes from."""

    seed: int = 0
    splits: Mapping[str, int] = field(default_factory=lambda: dict(DEFAULT_SPLITS))
    source: str = DEFAULT_SOURCE
    column_map: Mapping[str, str] | None = None
    difficulty: int = 1

    def generation_args(self, configs: Sequence[GenConfig], *, rows_per_shard: int = DEFAULT_ROWS_PER_SHARD) -> dict[str, Any]:
        """What the manifest records: enough to regenerate the folder byte for byte (never the process count,
        the engine or the number of workers; the shard size only when it is not the default)."""
        from generator import __version__
        from generator.generation.sources.base import public_source

        args = {
            "generator_version": __version__,
            "seed": self.seed,
            "splits": dict(self.splits),
            "source": public_source(self.source),
            "column_map": dict(self.column_map) if self.column_map else None,
            "difficulty": self.difficulty,
            "variants": [cfg.to_dict() for cfg in configs],
        }
        if rows_per_shard != DEFAULT_ROWS_PER_SHARD:
            args["rows_per_shard"] = rows_per_shard
        return args


# ------------------------------------------------------------------------------------------- worker side
_SOURCES: dict[tuple[str, str, int], Any] = {}


def _source(run: GenerationRun) -> Any:
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


def prepare_source(run: GenerationRun, configs: Sequence[GenConfig]) -> Any:
    """This process's source, checked for every config before anything is planned (a source with a ``prepare``
    method, such as MMDU, refuses turn counts it cannot fill and checks the images it may use)."""
    source = _source(run)
    prepare = getattr(source, "prepare", None)
    if prepare is not None:
        prepare([cfg.turns for cfg in configs])
    return source


def build_row(cfg: GenConfig, run: GenerationRun, split: str, index: int, *, validate: bool = True) -> dict[str, Any]:
    """Plan, render and validate conversation ``index`` of ``split`` under ``cfg``."""
    return build_conversation((cfg,), run, split, index, validate=validate)[0][0]


def build_conversation(configs: Sequence[GenConfig], run: GenerationRun, split: str, index: int, *,
                       validate: bool = True) -> list[tuple[dict[str, Any], int]]:
    """Conversation ``index`` of ``split`` under each config (all with one material key): ``(row, rejected)``.

    The shared work is done once: images and questions are drawn, and the images rendered and encoded, once for
    all configs; the instruction timeline once per schedule key. Each row is the same as if built alone.
    """
    from generator.generation.plan import (
        draw_schedule,
        plan_conversation,
        plan_material,
        schedule_facts,
        schedule_key,
    )
    from generator.generation.render import render_images, render_row
    from generator.generation.sources.base import public_source

    source = _source(run)
    material = plan_material(configs[0], seed=run.seed, split=split, index=index, source=source)
    schedules: dict[Any, Any] = {}
    placed: dict[Any, Any] = {}  # questions placed and proven, shared by configs with the same active sets
    images = None
    first: tuple[Any, dict[str, Any]] | None = None  # the first config's plan and row
    out = []
    for cfg in configs:
        key = schedule_key(cfg)
        if key not in schedules:
            schedules[key] = draw_schedule(cfg, run.seed, split, index, schedule_facts(cfg, source, material))
        plan = plan_conversation(cfg, seed=run.seed, split=split, index=index, source=source, material=material,
                                 schedule=schedules[key], placed=placed)
        if images is None:
            images = render_images(plan)
        row = render_row(cfg, plan, source_name=public_source(run.source), images=images,
                         like=None if first is None else (first[0], first[1]["turns"]))
        if validate:
            from generator.dataset.schema import validate_row, validate_sibling_row

            where = f"{cfg.name}/{split} row {index}"
            if first is None:
                validate_row(row, where, config=cfg.name)
            else:
                validate_sibling_row(row, first[1], where, config=cfg.name)
        if first is None:
            first = (plan, row)
        out.append((row, plan.conflicts_avoided))
    return out


def _build_batch(task: tuple[tuple[GenConfig, ...], GenerationRun, str, int, int]
                 ) -> list[list[tuple[dict[str, Any], int]]]:
    configs, run, split, start, stop = task
    return [build_conversation(configs, run, split, index) for index in range(start, stop)]


# ------------------------------------------------------------------------------------------- shards
@dataclass(frozen=True)
class ShardTask:
    """One unit of work: shard ``index`` (of ``count``) of ``split``, for configs sharing their conversations.

    Rows ``start``..``stop`` of the split go into shard ``index`` of every config of the group; the shard files are
    a pure function of (config, run options, split, index), whatever process or machine builds them.
    """

    configs: tuple[GenConfig, ...]
    split: str
    index: int
    count: int
    start: int
    stop: int

    @property
    def rows(self) -> int:
        return (self.stop - self.start) * len(self.configs)


def shard_tasks(configs: Sequence[GenConfig], run: GenerationRun, *,
                rows_per_shard: int = DEFAULT_ROWS_PER_SHARD) -> list[ShardTask]:
    """Every shard of the run, configs grouped by the material they share (in the order configs were given)."""
    from generator.dataset.writer import shard_count
    from generator.generation.plan import material_key

    groups: dict[Any, list[GenConfig]] = {}
    for cfg in configs:
        groups.setdefault(material_key(cfg), []).append(cfg)
    tasks = []
    for group in groups.values():
        for split, total in run.splits.items():
            count = shard_count(total, rows_per_shard)
            for index in range(count):
                start = index * rows_per_shard
                tasks.append(ShardTask(tuple(group), split, index, count, start, min(total, start + rows_per_shard)))
    return tasks


def shard_file(config: str, split: str, index: int, count: int) -> str:
    from generator.dataset.layout import shard_name

    return f"{config}/{shard_name(split, index, count)}"


def build_shard(task: ShardTask, run: GenerationRun, sink: Any, *, default_config: str,
                conversations: Iterable[list[tuple[dict[str, Any], int]]] | None = None,
                on_row: Any = None) -> list[Any]:
    """Write the shard files of ``task`` through ``sink`` (a ``SinkSpec``) and return their ``ShardResult``\\ s.

    ``conversations`` yields, per conversation of the shard, what :func:`build_conversation` returns (a process
    pool may build them); by default they are built here. Nothing else about the run is needed, which is what
    lets a Ray task (or any other scheduler) build a shard on another machine.
    """
    from generator.dataset.storage import open_shard
    from generator.dataset.writer import ShardWriter

    if conversations is None:
        conversations = (build_conversation(task.configs, run, task.split, index)
                         for index in range(task.start, task.stop))
    with contextlib.ExitStack() as stack:
        writers = []
        for cfg in task.configs:
            file = shard_file(cfg.name, task.split, task.index, task.count)
            handle = stack.enter_context(open_shard(sink, file))
            writers.append(ShardWriter(handle, config=cfg.name, split=task.split, index=task.index, file=file,
                                       keep_example=cfg.name == default_config and task.index == 0))
        try:
            rejected = [0] * len(writers)
            for built in conversations:
                for position, (row, conflicts) in enumerate(built):
                    writers[position].add(row)
                    rejected[position] += conflicts
                if on_row is not None:
                    on_row(built)
            results = [writer.close() for writer in writers]
        except BaseException:
            for writer in writers:
                writer.abort()
            raise
    for result, count in zip(results, rejected, strict=True):
        result.extra = {"conflicts_avoided": count}
    return results


# ------------------------------------------------------------------------------------------- driver side
class _Workers:
    """A process pool fed in order with a bounded number of batches in flight (or none for one process)."""

    def __init__(self, num_proc: int) -> None:
        self.num_proc = num_proc
        self.pool: Any = None
        if num_proc > 1:
            method = "fork" if "fork" in multiprocessing.get_all_start_methods() else "spawn"
            self.pool = multiprocessing.get_context(method).Pool(num_proc)

    def conversations(self, task: ShardTask, run: GenerationRun) -> Iterator[list[tuple[dict[str, Any], int]]]:
        """The conversations of one shard task, in order (built here or in the pool)."""
        return self.candidates(task.configs, run, task.split, task.start, task.stop)

    def candidates(self, configs: tuple[GenConfig, ...], run: GenerationRun, split: str, start: int, stop: int
                   ) -> Iterator[list[tuple[dict[str, Any], int]]]:
        """Conversations ``start``..``stop`` of ``split`` under ``configs``, in order."""
        batches = ((configs, run, split, first, min(first + BATCH_SIZE, stop))
                   for first in range(start, stop, BATCH_SIZE))
        if self.pool is None:
            for built in map(_build_batch, batches):
                yield from built
            return
        pending: deque[Any] = deque()
        limit = self.num_proc * IN_FLIGHT_PER_WORKER
        for batch in batches:
            pending.append(self.pool.apply_async(_build_batch, (batch,)))
            if len(pending) >= limit:
                yield from pending.popleft().get()
        while pending:
            yield from pending.popleft().get()

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


ENGINES = ("local", "ray")


def generate(out_dir: str | os.PathLike, configs: Sequence[GenConfig], run: GenerationRun, *, num_proc: int = 1,
             overwrite: bool = False, quiet: bool = False, engine: str = "local", ray_address: str | None = None,
             rows_per_shard: int = DEFAULT_ROWS_PER_SHARD, storage_options: Mapping[str, Any] | None = None,
             before_shard: Any = None, exclude: Any = None) -> Any:
    """Generate every config x split into ``out_dir`` (a folder or an fsspec URL) and return the write result.

    The work is cut into shards fixed by ``rows_per_shard`` alone (see :func:`shard_tasks`); ``engine="local"``
    builds them in this process (rows spread over ``num_proc`` processes), ``engine="ray"`` runs one Ray task per
    shard on the cluster at ``ray_address`` (a local one with ``num_proc`` CPUs when None). The bytes are the
    same either way. The output is checked before any work starts, so a refused output costs nothing.
    ``before_shard`` is called in the worker with each task before it runs (fault-injection in tests).
    ``exclude`` (a :class:`generator.dataset.contamination.EvaluationIndex`) keeps every training row free of the
    scenes, question instances and conversations of the indexed evaluation folders (local engine only: which
    candidates survive is known only in order); the manifest records their content hashes.
    """
    from generator.common.progress import progress
    from generator.dataset.storage import RemoteOutput, SinkSpec, is_url
    from generator.dataset.writer import (
        WriteResult,
        assemble_folder,
        make_temporary_folder,
        output_lock,
        prepare_target,
        recover_leftovers,
        swap_into_place,
    )
    from generator.generation.variants import preset_description

    check_configs(configs)
    check_training_splits(run.splits, exclude)
    if num_proc < 1:
        raise UserError(f"--num-proc must be at least 1, got {num_proc}", where="--num-proc")
    if engine not in ENGINES:
        raise UserError(f"unknown engine {engine!r}; choose one of {', '.join(ENGINES)}", where="--engine")
    if rows_per_shard < 1:
        raise UserError(f"rows per shard must be at least 1, got {rows_per_shard}", where="--rows-per-shard")
    if engine == "ray":
        from generator.generation.distributed import import_ray

        import_ray()  # fail before any work when the extra is missing
    remote = is_url(out_dir)
    if not remote:
        target = prepare_target(out_dir, overwrite=overwrite).resolve()
    if exclude is not None and engine != "local":
        raise UserError("--exclude-from runs on the local engine only", where="--engine")
    source = prepare_source(run, configs)  # fail early (one line) on a bad source spec, before workers start
    # Instruction catalogue sets are resolved once here so that a missing set fails before any work.
    from generator.generation.plan import candidate_pool

    for cfg in configs:
        candidate_pool(cfg.catalogue)
    tasks = shard_tasks(configs, run, rows_per_shard=rows_per_shard)
    default = configs[0].name
    guard = contextlib.ExitStack()
    try:
        guard.enter_context(_fewer_collections())
        if not remote:
            guard.enter_context(output_lock(out_dir))  # a second run to the same folder fails at start, in one line
            recover_leftovers(target)  # what a killed run left beside the folder is restored or swept, with a note
            prepare_target(out_dir, overwrite=overwrite)  # again: a restored dataset is not replaced without --overwrite
    except BaseException:
        guard.close()  # a run that fails before it starts leaves no lock behind and the collector as it was
        raise
    with guard:
        if remote:
            # Checked here, after the cheap checks: creating it makes a local folder for the folder files.
            output: Any = RemoteOutput(os.fspath(out_dir), overwrite=overwrite, storage_options=storage_options)
            meta_dir, sink = output.meta_dir, output.sink
        else:
            meta_dir = make_temporary_folder(target)
            sink = SinkSpec("local", str(meta_dir))
        total = sum(task.rows for task in tasks)
        bar = progress(total=total, desc="generating", unit="conv", quiet=quiet)
        try:
            if engine == "ray":
                from generator.generation.distributed import run_ray

                results = run_ray(build_shard, tasks, run, sink, default_config=default, address=ray_address,
                                  num_cpus=num_proc, bar=bar, before_shard=before_shard)
            else:
                results = _run_local(tasks, run, sink, default_config=default, num_proc=num_proc, bar=bar,
                                     before_shard=before_shard, exclude=exclude)
            bar.close()
            if not remote:
                # A worker killed while writing leaves its hidden partial file; the retried task wrote the shard.
                for partial in meta_dir.glob("*/.*.part-*"):
                    partial.unlink()
            card_context = {
                "pretty_name": "MMMT-IF",
                "generation_args": _with_exclusions(run.generation_args(configs, rows_per_shard=rows_per_shard),
                                                    exclude),
                "extra": variants_markdown(configs) + _source_section(source),
                "describe": preset_description,
            }
            # A source whose material carries its own licence (MMDU: CC-BY-NC-4.0) sets the card's licence.
            if getattr(source, "dataset_license", None):
                card_context["license"] = source.dataset_license
            order = {cfg.name: list(run.splits) for cfg in configs}
            manifest, stats = assemble_folder(meta_dir, results, order=order, default_config=default,
                                              card_context=card_context, shards_in_meta_dir=not remote)
            if remote:
                output.commit(manifest)
            else:
                swap_into_place(meta_dir, target, overwrite=overwrite)
        except BaseException:
            bar.close()
            if remote:
                output.cleanup()
            else:
                shutil.rmtree(meta_dir, ignore_errors=True)
            raise
        counts = {name: {split: sum(r.rows for r in results if (r.config, r.split) == (name, split)) for split in splits}
                  for name, splits in order.items()}
        files = sorted([*manifest["files"], "manifest.json"])
        return WriteResult(path=out_dir if isinstance(out_dir, str) and remote else Path(out_dir),
                           default_config=default, counts=counts,
                           files=files, stats=stats, scoring_script="scoring.py" in manifest["files"])


#: The cycle collector's first threshold while generating: container allocations (net of frees) between two
#: collections of the youngest objects. Python's default is 700.
COLLECTION_THRESHOLD = 50_000


@contextlib.contextmanager
def _fewer_collections() -> Iterator[None]:
    """Run the cycle collector rarely while generating, and leave it as it was afterwards.

    Building a conversation allocates many containers that reference counting frees once it is written; counted
    as allocations, they set off a young collection every 700 of them and, every tenth of those, a scan of the
    older objects too. At Python's default thresholds the collector took about 6% of the CPU time of 1,000
    conversations (0.49 of 8.2 s), and none of its full collections found garbage. So the objects alive at the
    start (modules, classes, settled caches) are frozen out of its scans and the first threshold is
    :data:`COLLECTION_THRESHOLD` (then about 1%); what is written never depends on when cycles are collected.
    Process pool workers forked meanwhile inherit the setting. Objects a caller froze stay frozen (all are then
    left as they are: unfreezing cannot tell whose they were).
    """
    import gc

    thresholds = gc.get_threshold()
    freeze = not gc.get_freeze_count()
    if freeze:
        gc.freeze()
    gc.set_threshold(COLLECTION_THRESHOLD, *thresholds[1:])
    try:
        yield
    finally:
        gc.set_threshold(*thresholds)
        if freeze:
            gc.unfreeze()


def _run_local(tasks: Sequence[ShardTask], run: GenerationRun, sink: Any, *, default_config: str, num_proc: int,
               bar: Any, before_shard: Any = None, exclude: Any = None) -> list[Any]:
    """Build the shards one after the other in this process; rows are spread over ``num_proc`` processes.

    With ``exclude``, each split draws its conversations from one stream of candidates in index order, skipping
    those that share a scene, a question instance or a conversation fingerprint with the evaluation folders; the
    shards of the split take the surviving candidates in turn (row ids keep the candidate's index).
    """
    workers = _Workers(num_proc)
    results: list[Any] = []
    images = 0
    streams: dict[tuple[str, tuple[str, ...]], _Decontaminated] = {}

    def on_row(built: list[tuple[dict[str, Any], int]]) -> None:
        nonlocal images
        images += sum(len(row["images"]) for row, _ in built)
        bar.update(len(built))
        bar.set_postfix(images=images, refresh=False)

    try:
        for task in tasks:
            if before_shard is not None:
                before_shard(task)
            if exclude is None:
                conversations: Iterable[list[tuple[dict[str, Any], int]]] = workers.conversations(task, run)
                stream = None
            else:
                key = (task.split, tuple(cfg.name for cfg in task.configs))
                if key not in streams:
                    split_size = run.splits[task.split]
                    streams[key] = _Decontaminated(
                        workers.candidates(task.configs, run, task.split, 0, max_candidates(split_size)),
                        exclude, split=task.split, wanted=split_size)
                stream = streams[key]
                conversations = stream.take(task.stop - task.start)
            built = build_shard(task, run, sink, default_config=default_config, conversations=conversations,
                                on_row=on_row)
            if stream is not None:
                skipped = stream.pop_skipped()
                for result in built:
                    result.extra["contamination_skipped"] = skipped
            results.extend(built)
    except BaseException:
        workers.close(terminate=True)
        raise
    workers.close()
    return results


class _Decontaminated:
    """Candidates of one split in index order, without those that overlap the evaluation folders."""

    def __init__(self, candidates: Iterator[list[tuple[dict[str, Any], int]]], exclude: Any, *, split: str,
                 wanted: int) -> None:
        self.candidates = candidates
        self.exclude = exclude
        self.split = split
        self.wanted = wanted
        self.seen = 0
        self.produced = 0
        self.skipped = 0

    def take(self, count: int) -> Iterator[list[tuple[dict[str, Any], int]]]:
        """The next ``count`` surviving conversations; a source too small to provide them is a user error."""
        given = 0
        while given < count:
            built = next(self.candidates, None)
            if built is None:
                raise UserError(f"only {self.produced} of {self.wanted} conversations of split {self.split!r} "
                                f"share nothing with the evaluation folders after {self.seen} candidates; the "
                                "source is too small to train on without contamination", where="--exclude-from")
            self.seen += 1
            if any(self.exclude.overlap(row) is not None for row, _ in built):
                self.skipped += 1
                continue
            given += 1
            self.produced += 1
            yield built

    def pop_skipped(self) -> int:
        """Candidates skipped since the last call (recorded with the shard that skipped them)."""
        skipped, self.skipped = self.skipped, 0
        return skipped


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


__all__ = ["DEFAULT_OUT", "DEFAULT_SOURCE", "DEFAULT_SPLITS", "GenerationRun", "ShardTask", "build_conversation", "build_row",
           "build_shard", "generate", "shard_tasks"]
