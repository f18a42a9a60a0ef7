"""Stream the conversations to score from a local dataset folder (pyarrow) or a Hub repository (``datasets``).

Scoring reads a split conversation by conversation and keeps only aggregates, so rows are yielded one at a time
and never collected. Only the columns scoring needs are read: ``id``, ``turns`` and, for the fingerprint of each
conversation as it was prompted, ``config``, ``system_prompt`` and ``images`` (kept as stored bytes, hashed, never
decoded). Local folders are read with pyarrow alone, a row group at a time; ``datasets`` is imported only to read
a Hub repository. Both imports are lazy, so the standard-library core (and the released ``scoring.py``) does not
pay for them until a dataset is opened.
"""

from __future__ import annotations

import os
import re
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from generator.common.errors import UserError
from generator.common.reading import (
    check_dataset_folder,
    dataset_error,
    loading_errors,
    quiet_loading_logs,
    read_text,
    split_front_matter,
)

#: The columns scoring reads (``id`` and ``turns`` are required; the others feed the fingerprint).
COLUMNS = ("id", "config", "system_prompt", "images", "turns")
REQUIRED = ("id", "turns")
#: Fields inside those columns that scoring never reads (the wordings, the instruction events, the image indices
#: of a turn): when scoring, a local folder's rows come without them, which spares converting them to Python.
UNREAD_BY_SCORING = (("turns", "new_instructions"), ("turns", "image_indices"),
                     ("turns", "active_instructions", "wording"), ("turns", "distractors", "wording"))
BATCH_SIZE = 64  # rows converted to Python per call: one at a time is several times slower, more costs memory


@dataclass
class RowSource:
    """One config and split of a dataset, opened for streaming.

    ``dataset`` is the folder or repo id as given (recorded in the report, never resolved to a machine path),
    ``revision`` the Hub revision as given (None for a folder). ``rows()`` streams the rows; ``others()`` streams
    the rows of every other (config, split) of the same dataset, to name the config a foreign response belongs to.
    """

    dataset: str
    revision: str | None
    config: str | None
    split: str
    rows: Callable[[], Iterator[dict[str, Any]]]
    others: Callable[[], Iterator[tuple[str, str, Iterator[dict[str, Any]]]]] = field(
        default=lambda: iter(()))


def is_local(dataset: str) -> bool:
    return os.path.isdir(dataset)


def open_rows(dataset: str | os.PathLike, config: str | None = None, split: str | None = None,
              revision: str | None = None, *, for_scoring: bool = False) -> RowSource:
    """Open one config and split for streaming; a missing folder, config, split or column is a user error.

    ``for_scoring`` leaves out, where it can (local folders), the fields listed in :data:`UNREAD_BY_SCORING`.
    """
    dataset = os.fspath(dataset)
    if is_local(dataset):
        return _open_local(dataset, config, split, UNREAD_BY_SCORING if for_scoring else ())
    if os.path.exists(dataset) or dataset.count("/") != 1 or dataset.startswith((".", "/", "~")):
        raise UserError("dataset folder not found (give a dataset folder or a Hub repo id ORG/NAME)", where=dataset)
    return _open_hub(dataset, config, split, revision)


def load_rows(dataset: str | os.PathLike, config: str | None = None, split: str | None = None,
              revision: str | None = None) -> list[dict[str, Any]]:
    """All rows of one config and split in memory (for tools that need them at once, e.g. ``mmmtif oracle``)."""
    return list(open_rows(dataset, config, split, revision).rows())


# ------------------------------------------------------------------------------------------------ local folders

_CONFIG_RE = re.compile(r"^- config_name:\s*(.+?)\s*$")
_SPLIT_RE = re.compile(r"^\s+- split:\s*(.+?)\s*$")
_PATH_RE = re.compile(r"^\s+path:\s*(.+?)\s*$")
_DEFAULT_RE = re.compile(r"^\s+default:\s*true\s*$")


def _unquote(value: str) -> str:
    return value[1:-1] if len(value) >= 2 and value[0] == value[-1] and value[0] in "'\"" else value


def card_configs(folder: Path) -> tuple[dict[str, dict[str, list[str]]], str | None]:
    """The ``configs:`` block of the folder's README: {config: {split: [path patterns]}} and the default config.

    Reads the layout that ``push_to_hub`` and ``mmmtif-gen`` write (``config_name``, ``data_files`` as a list of
    ``split``/``path`` entries, ``default: true``) without a YAML library. Without a README, every sub-folder
    holding ``<split>-*.parquet`` files is a config.
    """
    readme = folder / "README.md"
    configs: dict[str, dict[str, list[str]]] = {}
    default = None
    if readme.is_file():
        text = read_text(readme, what="README")
        if text.startswith("---"):
            split_front_matter(text, str(readme))  # invalid YAML or a !!python tag is refused, in one line
        header = text.split("\n---", 1)[0] if text.startswith("---") else ""
        in_configs, current, split = False, None, None
        for line in header.splitlines():
            if not line.startswith((" ", "-")):
                in_configs = line.rstrip() == "configs:"
                continue
            if not in_configs:
                continue
            if match := _CONFIG_RE.match(line):
                current, split = _unquote(match.group(1)), None
                configs[current] = {}
            elif current is not None and (match := _SPLIT_RE.match(line)):
                split = _unquote(match.group(1))
                configs[current].setdefault(split, [])
            elif current is not None and split is not None and (match := _PATH_RE.match(line)):
                configs[current][split].append(_unquote(match.group(1)))
            elif current is not None and _DEFAULT_RE.match(line):
                default = current
    if not configs:
        for sub in sorted(p for p in folder.iterdir() if p.is_dir()):
            splits = sorted({f.name.split("-", 1)[0] for f in sub.glob("*-*.parquet")})
            if splits:
                configs[sub.name] = {s: [f"{sub.name}/{s}-*"] for s in splits}
    if default is None and len(configs) == 1:
        default = next(iter(configs))
    return configs, default


def _parquet_files(folder: Path, patterns: list[str]) -> list[Path]:
    files: list[Path] = []
    for pattern in patterns:
        pattern = pattern if pattern.endswith(".parquet") else f"{pattern}.parquet" if pattern.endswith("*") \
            else pattern
        files.extend(sorted(folder.glob(pattern)))
    return files


def _choose(where: str, configs: dict[str, dict[str, list[str]]], default: str | None, config: str | None,
            split: str | None) -> tuple[str, str]:
    if not configs:
        raise UserError("no parquet data found (write a dataset with `mmmtif-gen`)", where=where)
    if config is None:
        if default is None:
            raise UserError(f"the dataset has several configs and no default; choose one with --config "
                            f"(available configs: {', '.join(configs)})", where=where)
        config = default
    if config not in configs:
        raise UserError(f"no config {config!r} (available configs: {', '.join(configs)})", where=where)
    splits = sorted(configs[config])
    where = f"{where} (config {config})"
    if split is None:
        if len(splits) != 1:
            raise UserError(f"the dataset has several splits; choose one with --split ({', '.join(splits)})",
                            where=where)
        split = splits[0]
    if split not in configs[config]:
        raise UserError(f"no split {split!r} (available: {', '.join(splits)})", where=where)
    return config, split


def _leaf_paths(handle: Any, columns: list[str], skip: tuple[tuple[str, ...], ...]) -> list[str] | None:
    """The parquet leaf columns of ``columns`` without the fields under the paths of ``skip`` (field names, list
    levels left out), or None when the file's leaves cannot be matched with its arrow schema one to one."""
    import pyarrow as pa

    logical: list[tuple[str, ...]] = []

    def walk(kind: Any, path: tuple[str, ...]) -> bool:
        if pa.types.is_list(kind) or pa.types.is_large_list(kind) or pa.types.is_fixed_size_list(kind):
            return walk(kind.value_type, path)
        if pa.types.is_struct(kind):
            return all(walk(kind.field(i).type, (*path, kind.field(i).name)) for i in range(kind.num_fields))
        if pa.types.is_nested(kind):  # maps, unions: not matched leaf by leaf here
            return False
        logical.append(path)
        return True

    if not all(walk(field.type, (field.name,)) for field in handle.schema_arrow):
        return None
    leaves = [handle.schema.column(i).path for i in range(handle.metadata.num_columns)]
    if len(leaves) != len(logical):
        return None
    if any(leaf.split(".", 1)[0] != path[0] for leaf, path in zip(leaves, logical, strict=True)):
        return None
    return [leaf for leaf, path in zip(leaves, logical, strict=True)
            if path[0] in columns and not any(path[:len(unread)] == unread for unread in skip)]


def _iter_parquet(files: list[Path], where: str,
                  skip: tuple[tuple[str, ...], ...] = ()) -> Iterator[dict[str, Any]]:
    import pyarrow.parquet as pq

    for path in files:
        try:
            handle = pq.ParquetFile(path)
        except Exception as exc:  # pyarrow raises its own error types for damaged files
            raise UserError(f"cannot read parquet file: {type(exc).__name__}: {exc}", where=str(path)) from None
        names = set(handle.schema_arrow.names)
        missing = [c for c in REQUIRED if c not in names]
        if missing:
            raise UserError(f"the dataset lacks the column(s) {', '.join(missing)}", where=where)
        columns = [c for c in COLUMNS if c in names]
        read: list[str] | None = columns
        if skip:
            read = _leaf_paths(handle, columns, skip) or columns
        with handle, loading_errors(str(path)):  # a truncated or zeroed shard fails when it is read
            for batch in handle.iter_batches(batch_size=BATCH_SIZE, columns=read):
                data = batch.to_pydict()
                for values in zip(*(data[c] for c in columns), strict=True):
                    yield dict(zip(columns, values, strict=True))


def _open_local(dataset: str, config: str | None, split: str | None,
                skip: tuple[tuple[str, ...], ...] = ()) -> RowSource:
    check_dataset_folder(dataset)
    folder = Path(dataset)
    configs, default = card_configs(folder)
    config, split = _choose(dataset, configs, default, config, split)
    files = _parquet_files(folder, configs[config][split])
    if not files:
        raise UserError(f"no parquet files for config {config!r} split {split!r}", where=dataset)

    def others() -> Iterator[tuple[str, str, Iterator[dict[str, Any]]]]:
        for name, splits in configs.items():
            for other_split, patterns in splits.items():
                if (name, other_split) != (config, split):
                    yield name, other_split, _iter_parquet(_parquet_files(folder, patterns), dataset)

    return RowSource(dataset=dataset, revision=None, config=config, split=split,
                     rows=lambda: _iter_parquet(files, dataset, skip), others=others)


# -------------------------------------------------------------------------------------------------- Hub repos


def _open_hub(dataset: str, config: str | None, split: str | None, revision: str | None) -> RowSource:
    import datasets

    where = dataset if config is None else f"{dataset} (config {config})"

    def load(name: str | None) -> Any:
        # The README's dataset_info is authoritative; asking the Hub's dataset viewer for exported infos would only
        # add a network round trip (and a lookup of a host that a private endpoint does not have).
        saved_export = datasets.config.USE_PARQUET_EXPORT
        datasets.config.USE_PARQUET_EXPORT = False
        try:
            with quiet_loading_logs():
                return datasets.load_dataset(dataset, name=name, revision=revision, streaming=True)
        except (ValueError, FileNotFoundError, KeyError) as exc:
            configs = _config_names(dataset, revision)
            hint = f" (available configs: {', '.join(configs)})" if configs else ""
            raise UserError(f"cannot load the dataset: {exc}{hint}", where=where) from None
        except Exception as exc:
            error = dataset_error(exc, where)  # the one mapping of the libraries' failures to one line
            if error is None:
                raise
            raise error from None
        finally:
            datasets.config.USE_PARQUET_EXPORT = saved_export

    loaded = load(config)
    splits = sorted(loaded)
    if split is None:
        if len(splits) != 1:
            raise UserError(f"the dataset has several splits; choose one with --split ({', '.join(splits)})",
                            where=where)
        split = splits[0]
    if split not in loaded:
        raise UserError(f"no split {split!r} (available: {', '.join(splits)})", where=where)
    names = list((loaded[split].features or {}).keys())
    missing = [c for c in REQUIRED if c not in names]
    if missing:
        raise UserError(f"the dataset lacks the column(s) {', '.join(missing)}", where=where)

    def stream(part: Any) -> Iterator[dict[str, Any]]:
        columns = [c for c in COLUMNS if c in (part.features or {})]
        part = part.select_columns(columns)
        if "images" in columns:
            part = part.cast_column("images", datasets.List(datasets.Image(decode=False)))
        with loading_errors(where):  # a truncated or zeroed shard fails here, when it is read
            for batch in part.iter(batch_size=BATCH_SIZE):
                for values in zip(*(batch[c] for c in columns), strict=True):
                    yield dict(zip(columns, values, strict=True))

    def others() -> Iterator[tuple[str, str, Iterator[dict[str, Any]]]]:
        for name in _config_names(dataset, revision):
            other = loaded if name == config else load(name)
            for other_split in sorted(other):
                if (name, other_split) != (config, split):
                    yield name, other_split, stream(other[other_split])

    return RowSource(dataset=dataset, revision=revision, config=config, split=split,
                     rows=lambda: stream(loaded[split]), others=others)


def _config_names(dataset: str, revision: str | None = None) -> list[str]:
    try:
        import datasets

        return sorted(datasets.get_dataset_config_names(dataset, revision=revision))
    except Exception:
        return []
