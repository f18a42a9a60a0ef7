"""Training layouts: a generated dataset folder -> one row per turn, in the shape a trainer reads.

Every turn of every conversation becomes a training row whose prompt is the chat up to that turn: the system
prompt (when the config has one), the earlier user turns each followed by the *reference* assistant answer (the
oracle witness: it obeys that turn's active instructions and states the reference answer), and the turn's own user
message. The images go into the first user message, as in ``mmmtif run``. The row carries the turn's reward spec
(``generator.scoring.spec.make_spec``), which the reward functions of ``generator.rewards`` score against.

- ``trl``: ``prompt`` (conversational messages with text content), ``images``, ``reward_spec``, plus ``id``,
  ``turn`` and ``num_instructions``. TRL's vision-language trainers put one image placeholder per entry of
  ``images`` before the text of the first user message themselves (``prepare_multimodal_messages``), which is
  where the benchmark shows the images.
- ``verl``: ``data_source``, ``prompt`` (messages whose first user message starts with one ``<image>`` marker per
  image), ``images``, ``ability``, ``reward_model`` (``style: rule``, ``ground_truth``: the reward spec) and
  ``extra_info`` (split, index, id, turn and ``interaction_kwargs`` for ``generator.rewards.verl.MMMTIFInteraction``:
  the remaining turns' prompts and specs).

The output is a Hub-layout folder (``<config>/<split>-NNNNN-of-NNNNN.parquet``, README.md with ``configs`` and
``dataset_info``, manifest.json) that ``load_dataset(folder, config)`` reads and ``mmmtif publish`` can upload.
Rows are a pure function of the source rows, so the same source gives byte-identical parquet files.
"""

from __future__ import annotations

import os
import shutil
from collections.abc import Iterator, Mapping, Sequence
from pathlib import Path
from typing import Any

from generator.common.errors import UserError
from generator.dataset.layout import shard_name

FORMATS = ("trl", "verl")
DATA_SOURCE = "mmmt-if"
ABILITY = "instruction-following"
INTERACTION_NAME = "mmmtif"
IMAGE_MARKER = "<image>"

_MESSAGE = {"role": "string", "content": "string"}


def _spec_to_features(spec: Any) -> Any:
    from datasets import Image, List, Value

    if isinstance(spec, dict):
        return {name: _spec_to_features(sub) for name, sub in spec.items()}
    if isinstance(spec, list):
        return List(_spec_to_features(spec[0]))
    return Image() if spec == "image" else Value(spec)


def row_spec(fmt: str, images: bool) -> dict[str, Any]:
    """The column layout of an export (plain-Python description, as ``generator.dataset.features`` does)."""
    if fmt == "trl":
        spec: dict[str, Any] = {"id": "string", "turn": "int32", "prompt": [_MESSAGE]}
        if images:
            spec["images"] = ["image"]
        spec.update({"reward_spec": "string", "num_instructions": "int32"})
        return spec
    spec = {"data_source": "string", "prompt": [_MESSAGE]}
    if images:
        spec["images"] = ["image"]
    spec.update({
        "ability": "string",
        "reward_model": {"style": "string", "ground_truth": "string"},
        "extra_info": {
            "split": "string", "index": "int64", "id": "string", "turn": "int32",
            "interaction_kwargs": {"name": "string",
                                   "turns": [{"turn": "int32", "prompt": "string", "reward_spec": "string"}]},
        },
    })
    return spec


def features(fmt: str, images: bool) -> Any:
    """``datasets.Features`` of an export."""
    from datasets import Features

    return Features(_spec_to_features(row_spec(fmt, images)))


def _reference_answers(row: Mapping[str, Any]) -> list[str]:
    from generator.authoring.oracle import oracle_responses

    return [record["response"] for record in oracle_responses([row])]


def _chat(row: Mapping[str, Any], position: int, answers: Sequence[str], n_images: int, fmt: str
          ) -> list[dict[str, Any]]:
    """System, earlier user turns with reference answers, and this turn's user message (verl marks the images)."""
    def content(text: str, first: bool) -> str:
        return IMAGE_MARKER * n_images + text if fmt == "verl" and first else text

    messages: list[dict[str, Any]] = []
    if row.get("system_prompt"):
        messages.append({"role": "system", "content": content(row["system_prompt"], False)})
    turns = row["turns"]
    for index in range(position + 1):
        messages.append({"role": "user", "content": content(turns[index]["prompt"], index == 0)})
        if index < position:
            messages.append({"role": "assistant", "content": content(answers[index], False)})
    return messages


def training_rows(row: Mapping[str, Any], fmt: str, *, split: str, images: bool = True,
                  start_index: int = 0) -> Iterator[dict[str, Any]]:
    """The training rows (one per turn) of one conversation row, in the layout of ``fmt``."""
    from generator.dataset.writer import encode_image
    from generator.scoring.spec import make_spec

    if fmt not in FORMATS:
        raise UserError(f"unknown export format {fmt!r} (choose from {', '.join(FORMATS)})", where="--format")
    answers = _reference_answers(row)
    encoded = [encode_image(image) for image in row.get("images") or []] if images else []
    turns = row["turns"]
    specs = [make_spec(row["id"], turn) for turn in turns]
    for position, turn in enumerate(turns):
        prompt = _chat(row, position, answers, len(encoded), fmt)
        if fmt == "trl":
            out: dict[str, Any] = {"id": row["id"], "turn": turn["turn"], "prompt": prompt}
            if images:
                out["images"] = encoded
            out["reward_spec"] = specs[position]
            out["num_instructions"] = len(turn.get("active_instructions") or [])
        else:
            out = {"data_source": DATA_SOURCE, "prompt": prompt}
            if images:
                out["images"] = encoded
            out["ability"] = ABILITY
            out["reward_model"] = {"style": "rule", "ground_truth": specs[position]}
            remaining = [{"turn": later["turn"], "prompt": later["prompt"], "reward_spec": specs[index]}
                         for index, later in enumerate(turns) if index >= position]
            out["extra_info"] = {"split": split, "index": start_index + position, "id": row["id"],
                                 "turn": turn["turn"],
                                 "interaction_kwargs": {"name": INTERACTION_NAME, "turns": remaining}}
        yield out


def source_splits(dataset: Path, configs: Sequence[str] | None, splits: Sequence[str] | None
                  ) -> dict[str, dict[str, list[Path]]]:
    """``{config: {split: shards}}`` of a local dataset folder, restricted to the configs and splits asked for."""
    from generator.dataset.layout import dataset_files

    if not dataset.is_dir():
        raise UserError("dataset folder not found (export reads a local folder written by mmmtif-gen)",
                        where=str(dataset))
    found = dataset_files(dataset)
    if not found:
        raise UserError("no <config>/<split>-NNNNN-of-NNNNN.parquet files here", where=str(dataset))
    chosen: dict[str, dict[str, list[Path]]] = {}
    for config in configs or list(found):
        if config not in found:
            raise UserError(f"no config {config!r} (available: {', '.join(sorted(found))})", where="--config")
        chosen[config] = {}
        for split in splits or list(found[config]):
            if split not in found[config]:
                raise UserError(f"config {config!r} has no split {split!r} (available: "
                                f"{', '.join(sorted(found[config]))})", where="--split")
            chosen[config][split] = found[config][split]
    return chosen


def iter_source_rows(paths: Sequence[Path], *, images: bool) -> Iterator[dict[str, Any]]:
    """The conversation rows of some shards, images as stored (``{"bytes", "path"}``), one batch at a time."""
    import pyarrow.parquet as pq

    for path in paths:
        handle = pq.ParquetFile(path)
        wanted = [name for name in handle.schema_arrow.names if images or name != "images"]
        missing = {"id", "turns"} - set(wanted)
        if missing:
            raise UserError(f"not an mmmt-if conversation file: no {', '.join(sorted(missing))} column",
                            where=str(path))
        for batch in handle.iter_batches(batch_size=64, columns=wanted):
            yield from batch.to_pylist()


def _card(fmt: str, info: Mapping[str, Mapping[str, Any]], default: str, feats: Mapping[str, Any],
          source_manifest: Mapping[str, Any] | None) -> str:
    import yaml

    configs_yaml = []
    dataset_info = []
    for config, cinfo in info.items():
        entry: dict[str, Any] = {"config_name": config,
                                 "data_files": [{"split": split, "path": f"{config}/{split}-*"}
                                                for split in cinfo["splits"]]}
        if config == default:
            entry["default"] = True
        configs_yaml.append(entry)
        dataset_info.append({
            "config_name": config,
            "features": feats[config]._to_yaml_list(),
            "splits": [{"name": split, "num_bytes": s["num_bytes"], "num_examples": s["num_examples"]}
                       for split, s in cinfo["splits"].items()],
        })
    meta = {"license": (source_manifest or {}).get("card", {}).get("license") or "apache-2.0",
            "tags": ["instruction-following", "multi-turn", "reinforcement-learning", "mmmt-if"],
            "configs": configs_yaml, "dataset_info": dataset_info}
    head = yaml.safe_dump(meta, sort_keys=False, allow_unicode=True)
    trainer = {"trl": "TRL `GRPOTrainer`", "verl": "verl"}[fmt]
    reward = {"trl": "`reward_funcs=[generator.rewards.trl_reward]`",
              "verl": "`custom_reward_function.path` = `generator/rewards/verl.py`, `name: compute_score`"}[fmt]
    body = (f"# MMMT-IF training rows ({fmt})\n\n"
            f"One row per turn of generated MMMT-IF conversations, laid out for {trainer}. The prompt holds the chat "
            "up to the turn, earlier answers fixed to reference answers that follow every instruction; the reward "
            "spec holds the turn's active instructions and reference answer, scored by the benchmark's own "
            f"checkers ({reward}).\n")
    return f"---\n{head}---\n\n{body}"


def export_training(dataset: str | os.PathLike, out_dir: str | os.PathLike, fmt: str, *,
                    configs: Sequence[str] | None = None, splits: Sequence[str] | None = None,
                    images: bool = True, overwrite: bool = False, quiet: bool = False) -> dict[str, dict[str, int]]:
    """Write the training rows of ``dataset`` to ``out_dir``; returns ``{config: {split: rows}}``.

    All-or-nothing: rows go to a temporary sibling folder that replaces ``out_dir`` in one rename.
    """
    from generator.common.progress import progress
    from generator.dataset.layout import split_totals
    from generator.dataset.manifest import build_manifest, file_sha256, load_manifest, write_manifest
    from generator.dataset.writer import make_temporary_folder, prepare_target, swap_into_place

    if fmt not in FORMATS:
        raise UserError(f"unknown export format {fmt!r} (choose from {', '.join(FORMATS)})", where="--format")
    source = Path(dataset)
    chosen = source_splits(source, configs, splits)
    try:
        source_manifest: dict[str, Any] | None = load_manifest(source)
    except (OSError, ValueError):
        source_manifest = None
    default = (source_manifest or {}).get("default_config")
    if default not in chosen:
        default = next(iter(chosen))
    if Path(out_dir).resolve() == source.resolve():
        raise UserError("the output folder is the dataset folder", where="--out")
    out = prepare_target(out_dir, overwrite=overwrite)
    target = out.resolve()
    tmp = make_temporary_folder(target)
    bar = progress(desc="exporting", unit="row", quiet=quiet)
    counts: dict[str, dict[str, int]] = {}
    try:
        info: dict[str, dict[str, Any]] = {}
        feats: dict[str, Any] = {}
        for config, split_paths in chosen.items():
            folder = tmp / config
            folder.mkdir()
            # Images are kept only when the config has some; a text-only source gives text-only rows.
            with_images = images and any(_has_images(path) for paths in split_paths.values() for path in paths)
            feats[config] = features(fmt, with_images)
            schema = feats[config].arrow_schema
            info[config] = {"splits": {}}
            for split, paths in split_paths.items():
                writer = _ExportSplitWriter(folder, split, schema, 20000, 200)
                try:
                    index = 0
                    for row in iter_source_rows(paths, images=with_images):
                        for out_row in training_rows(row, fmt, split=split, images=with_images, start_index=index):
                            writer.add(out_row)
                            index += 1
                            bar.update(1)
                    shards = writer.close()
                finally:
                    writer.abort()
                rows, size = split_totals(shards)
                info[config]["splits"][split] = {"num_examples": rows, "num_bytes": size,
                                                 "files": [p.relative_to(tmp).as_posix() for p in shards]}
            counts[config] = {split: s["num_examples"] for split, s in info[config]["splits"].items()}
        bar.close()
        (tmp / "README.md").write_text(_card(fmt, info, default, feats, source_manifest), encoding="utf-8")
        source_id = file_sha256(source / "manifest.json") if source_manifest is not None else None
        arguments = {"export": {"format": fmt, "images": images, "source_manifest_sha256": source_id,
                                "source_arguments": (source_manifest or {}).get("arguments")}}
        write_manifest(tmp, build_manifest(tmp, configs=info, default_config=default, generation_args=arguments))
        swap_into_place(tmp, target, overwrite=overwrite)
    except BaseException:
        bar.close()
        shutil.rmtree(tmp, ignore_errors=True)
        raise
    return counts


class _ExportSplitWriter:
    """Streams one split of training rows (their own schema) into shards of at most ``max_rows`` rows, ``row_group_size`` rows buffered at a time."""

    def __init__(self, folder: Path, split: str, schema: Any, max_rows: int, row_group_size: int) -> None:
        self.folder, self.split, self.schema = folder, split, schema
        self.max_rows, self.row_group_size = max_rows, row_group_size
        self.buffer: list[dict[str, Any]] = []
        self.writer: Any = None
        self.shard_rows = 0
        self.parts: list[Path] = []
        self.rows = 0

    def _open(self) -> None:
        import pyarrow.parquet as pq

        part = self.folder / f".{self.split}.part{len(self.parts):05d}"
        self.parts.append(part)
        from generator.dataset.writer import PARQUET_OPTIONS

        self.writer = pq.ParquetWriter(part, self.schema, **PARQUET_OPTIONS)
        self.shard_rows = 0

    def _flush(self) -> None:
        import pyarrow as pa

        if not self.buffer:
            return
        if self.writer is None:
            self._open()
        table = pa.Table.from_pylist(self.buffer, schema=self.schema)
        self.writer.write_table(table, row_group_size=self.row_group_size)
        self.shard_rows += len(self.buffer)
        self.buffer = []
        if self.shard_rows >= self.max_rows:
            self.writer.close()
            self.writer = None

    def add(self, encoded: dict[str, Any]) -> None:
        self.buffer.append(encoded)
        self.rows += 1
        if len(self.buffer) >= self.row_group_size or self.shard_rows + len(self.buffer) >= self.max_rows:
            self._flush()

    def abort(self) -> None:
        """Release an open file after a failure (a no-op once closed)."""
        if self.writer is not None:
            self.writer.close()
            self.writer = None

    def close(self) -> list[Path]:
        """Finish the split and return its shards under their final names (one empty shard for no rows)."""
        self._flush()
        if not self.parts:
            self._open()
        if self.writer is not None:
            self.writer.close()
            self.writer = None
        final = []
        for index, part in enumerate(self.parts):
            target = self.folder / shard_name(self.split, index, len(self.parts))
            os.replace(part, target)
            final.append(target)
        return final


def _has_images(path: Path) -> bool:
    import pyarrow.compute as pc
    import pyarrow.parquet as pq

    handle = pq.ParquetFile(path)
    if "images" not in handle.schema_arrow.names:
        return False
    column = handle.read(columns=["images"]).column("images")
    return bool(pc.sum(pc.list_value_length(column)).as_py() or 0)


__all__ = ["FORMATS", "export_training", "features", "row_spec", "training_rows"]
