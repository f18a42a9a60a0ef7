"""Write conversation rows as a Hub-layout dataset folder that ``load_dataset(folder[, config])`` reads offline.

Layout::

    README.md                               card: YAML configs + dataset_info, statistics, usage
    manifest.json                           counts, sizes and SHA-256 of every file, generation arguments
    scoring.py                              the standalone scorer of this release (when available)
    assets/instructions_per_turn.png        plot used by the card
    <config>/<split>-NNNNN-of-NNNNN.parquet

Rows stream through: each is validated, encoded (images embedded as ``{"bytes", "path"}`` structs exactly as
``datasets`` stores them) and buffered only until a row group is full, so memory stays flat however large the
dataset grows. The shard count is known only at the end, so shards are written under provisional names and renamed.
Everything goes to a temporary sibling folder (``.<name>.tmp-<pid>``) that replaces the target in one rename at
the end; temporary folders left by killed runs are removed when the next write of the same output starts. An
existing folder is replaced only with ``overwrite=True`` and only when its ``manifest.json`` shows that this tool
wrote it.

Parquet options are fixed (row-group size, compression, statistics, format version) and nothing records a time,
so identical rows give byte-identical folders.
"""

from __future__ import annotations

import json
import os
import re
import shutil
from collections.abc import Iterable, Iterator, Mapping
from contextlib import contextmanager, suppress
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from generator.common.errors import UserError
from generator.dataset.layout import (
    RESERVED_NAMES,
    SPLIT_PATTERN,
    is_valid_config_name,
    shard_name,
)

ROW_GROUP_SIZE = 100  # rows; what datasets uses for image datasets, keeps a buffer to a few MB
DEFAULT_MAX_ROWS_PER_SHARD = 2000
PARQUET_OPTIONS: dict[str, Any] = {
    "compression": "snappy",
    "use_dictionary": True,
    "write_statistics": True,
    "version": "2.6",
    "data_page_version": "1.0",
    "write_page_index": False,
}
_TMP_PID = re.compile(r"^\d+$")


@dataclass
class WriteResult:
    """What :func:`write_dataset` produced."""

    path: Path | str  # a URL for object storage
    default_config: str
    counts: dict[str, dict[str, int]]
    files: list[str]
    stats: dict[str, dict[str, Any]] = field(default_factory=dict)
    scoring_script: bool = False


def encode_image(value: Any) -> dict[str, Any]:
    """Return the ``{"bytes", "path"}`` struct ``datasets.Image`` stores, with the bytes always embedded.

    Paths keep only their base name (as ``push_to_hub`` does) so no local path leaks into the data.
    """
    if isinstance(value, (bytes, bytearray)):
        return {"bytes": bytes(value), "path": None}
    if isinstance(value, (str, os.PathLike)):
        with open(value, "rb") as handle:
            return {"bytes": handle.read(), "path": os.path.basename(os.fspath(value))}
    if isinstance(value, Mapping):
        data, path = value.get("bytes"), value.get("path")
        if data:
            return {"bytes": bytes(data), "path": os.path.basename(path) if path else None}
        if not isinstance(path, str | os.PathLike):
            raise ValueError("an image mapping needs 'bytes' or a 'path'")
        with open(path, "rb") as handle:
            return {"bytes": handle.read(), "path": os.path.basename(path)}
    filename = getattr(value, "filename", "")
    if filename and os.path.isfile(filename):
        with open(filename, "rb") as handle:
            return {"bytes": handle.read(), "path": os.path.basename(filename)}
    from datasets.features.image import image_to_bytes

    return {"bytes": image_to_bytes(value), "path": None}


def encode_row(row: Mapping[str, Any]) -> dict[str, Any]:
    """The row as it goes into arrow: images embedded, everything else unchanged."""
    encoded = dict(row)
    encoded["images"] = [encode_image(image) for image in row["images"]]
    return encoded


@dataclass
class ShardResult:
    """What writing one shard produced: its file's identity and the statistics the folder assembly needs.

    Small and picklable (no row data), so a remote worker can return it instead of the rows.
    """

    config: str
    split: str
    index: int
    file: str  # path relative to the dataset root
    rows: int
    num_bytes: int  # uncompressed, from the parquet footer (what ``dataset_info`` reports)
    size: int
    sha256: str
    stats: Any  # a StatsAccumulator over the shard's rows
    images: int
    without_images: int
    example: dict[str, Any] | None = None  # first row without image bytes (shard 0 only)
    extra: dict[str, int] = field(default_factory=dict)  # counts only the generator knows (conflicts_avoided)


class _HashingFile:
    """A write-only binary file that hashes and counts what goes through it (no second read of the shard)."""

    def __init__(self, handle: Any) -> None:
        import hashlib

        self.handle = handle
        self.digest = hashlib.sha256()
        self.size = 0
        self.closed = False

    def write(self, data: Any) -> int:
        view = memoryview(data)
        self.digest.update(view)
        self.size += view.nbytes
        self.handle.write(view)
        return view.nbytes

    def tell(self) -> int:
        return self.size

    def flush(self) -> None:
        self.handle.flush()

    def writable(self) -> bool:
        return True

    def seekable(self) -> bool:
        return False

    def readable(self) -> bool:
        return False

    def close(self) -> None:
        self.closed = True


class ShardWriter:
    """Writes one shard's rows, given one at a time, as one parquet file into a binary ``handle``.

    Row groups hold ``row_group_size`` rows from the start of the shard, which is how a whole-split stream is cut
    too, so a shard written alone has the bytes it has inside a whole-split run. Several writers may be open at
    once (one per config sharing the same conversations); each buffers one row group at most.
    """

    def __init__(self, handle: Any, *, config: str, split: str, index: int, file: str,
                 row_group_size: int = ROW_GROUP_SIZE, validate: bool = False, departures: Iterable[str] = (),
                 keep_example: bool = False, first_row: int = 0) -> None:
        import pyarrow.parquet as pq

        from generator.dataset.features import arrow_schema
        from generator.dataset.stats import StatsAccumulator

        self.schema = arrow_schema()
        self.sink = _HashingFile(handle)
        self.writer = pq.ParquetWriter(self.sink, self.schema, **PARQUET_OPTIONS)
        self.result = ShardResult(config=config, split=split, index=index, file=file, rows=0, num_bytes=0, size=0,
                                  sha256="", stats=StatsAccumulator(), images=0, without_images=0)
        self.row_group_size, self.validate, self.departures = row_group_size, validate, list(departures)
        self.keep_example, self.first_row = keep_example, first_row
        self.buffer: list[dict[str, Any]] = []
        self.count = 0

    def add(self, row: Mapping[str, Any]) -> None:
        result = self.result
        if self.validate:
            from generator.dataset.schema import validate_row

            validate_row(row, f"{result.config}/{result.split} row {self.first_row + self.count}",
                         config=result.config, allow=self.departures)
        if self.keep_example and result.example is None:
            result.example = _example_row(row)
        result.stats.add(row, result.split)
        result.images += len(row["images"])
        result.without_images += not row["images"]
        self.buffer.append(encode_row(row))
        self.count += 1
        if len(self.buffer) >= self.row_group_size:
            self._flush()

    def _flush(self) -> None:
        import pyarrow as pa

        if self.buffer:
            table = pa.Table.from_pylist(self.buffer, schema=self.schema)
            self.writer.write_table(table, row_group_size=self.row_group_size)
            self.buffer = []

    def close(self) -> ShardResult:
        """Finish the file and return its result (size, hash and footer counts filled in)."""
        try:
            self._flush()
        finally:
            self.writer.close()
        meta = self.writer.writer.metadata
        result = self.result
        result.rows = meta.num_rows
        result.num_bytes = sum(meta.row_group(i).total_byte_size for i in range(meta.num_row_groups))
        result.size, result.sha256 = self.sink.size, self.sink.digest.hexdigest()
        return result

    def abort(self) -> None:
        """Release the parquet writer after a failure (what was written is discarded by the caller)."""
        if self.writer.is_open:
            self.writer.close()


def settle_pyarrow_without_pandas() -> bool:
    """Have pyarrow record, before its first conversion, that pandas is not available; True when it did so.

    The first time pyarrow converts Python objects it imports pandas to recognise pandas objects: half of a small
    generation's start-up, for rows that are plain lists and dicts. A process that writes rows and never hands
    pandas objects to ``pyarrow.array`` (the ``gen`` command) calls this first; nothing is done when pandas is
    already loaded. pyarrow still imports pandas later if a pandas feature (``to_pandas``, ``from_pandas``) is
    used; only ``pyarrow.array`` of a pandas object made before that would see a plain sequence.
    """
    import sys

    if "pandas" in sys.modules:
        return False
    import pyarrow as pa

    class NoPandas:
        @staticmethod
        def find_spec(name: str, *_: Any) -> None:
            if name == "pandas":
                raise ModuleNotFoundError("pandas is not needed to write rows", name=name)

    finder = NoPandas()
    sys.meta_path.insert(0, finder)  # type: ignore[arg-type]
    try:
        pa.array([0])
    finally:
        sys.meta_path.remove(finder)  # type: ignore[arg-type]
    return "pandas" not in sys.modules


def write_shard(handle: Any, rows: Iterable[Mapping[str, Any]], **options: Any) -> ShardResult:
    """Stream ``rows`` (one shard's, in order) into ``handle``; ``options`` as for :class:`ShardWriter`."""
    writer = ShardWriter(handle, **options)
    try:
        for row in rows:
            writer.add(row)
    except BaseException:
        writer.abort()
        raise
    return writer.close()


def shard_count(rows: int, max_rows_per_shard: int = DEFAULT_MAX_ROWS_PER_SHARD) -> int:
    """How many shards a split of ``rows`` rows has (one, empty, for no rows): fixed before any work starts."""
    return max(1, -(-rows // max_rows_per_shard))


def assemble_folder(meta_dir: Path, results: Iterable[ShardResult], *, order: Mapping[str, Iterable[str]],
                    default_config: str, card_context: Mapping[str, Any] | None = None,
                    generation_args: Mapping[str, Any] | None = None, departures: Iterable[str] = (),
                    shards_in_meta_dir: bool = True, extra_files: Mapping[str, bytes] | None = None
                    ) -> tuple[dict[str, Any], dict[str, dict[str, Any]]]:
    """Write README.md, assets/, scoring.py and manifest.json into ``meta_dir`` from the shards' results alone.

    ``order`` gives ``{config: [splits]}`` in folder order. ``extra_files`` (name -> bytes) are written at the top
    of the folder before the manifest, which lists and hashes them. The shards themselves are not read: their sizes and
    hashes come with their results, so this step is cheap and works when they live in object storage
    (``shards_in_meta_dir=False``). Returns the manifest and ``{config: statistics}``.
    """
    from generator.dataset import card as card_module
    from generator.dataset.manifest import MANIFEST_NAME, build_manifest, file_entries, write_manifest
    from generator.dataset.stats import StatsAccumulator

    context = dict(card_context or {})
    if generation_args is None:
        generation_args = context.get("generation_args") or {}
    departures = sorted(departures)
    by_key = {(r.config, r.split, r.index): r for r in results}
    config_info: dict[str, dict[str, Any]] = {}
    stats: dict[str, dict[str, Any]] = {}
    embedded: dict[str, dict[str, int]] = {}
    shard_files: dict[str, dict[str, Any]] = {}
    example = None
    for config, splits in order.items():
        acc = StatsAccumulator()
        extra: dict[str, int] = {}
        embedded[config] = {"images": 0, "conversations_without_images": 0}
        split_info: dict[str, dict[str, Any]] = {}
        for split in splits:
            shards = sorted((r for key, r in by_key.items() if key[:2] == (config, split)), key=lambda r: r.index)
            if not shards or [r.index for r in shards] != list(range(len(shards))):
                raise RuntimeError(f"shards of {config}/{split} are missing")
            for result in shards:
                acc.merge(result.stats)
                embedded[config]["images"] += result.images
                embedded[config]["conversations_without_images"] += result.without_images
                for key, value in result.extra.items():
                    extra[key] = extra.get(key, 0) + value
                if example is None and config == default_config and result.example is not None:
                    example = result.example
                shard_files[result.file] = {"size": result.size, "sha256": result.sha256}
            split_info[split] = {"num_examples": sum(r.rows for r in shards),
                                 "num_bytes": sum(r.num_bytes for r in shards),
                                 "files": [r.file for r in shards]}
        extra_given = (context.get("extra_stats") or {}).get(config) or extra
        stats[config] = acc.result(extra_given or None)
        config_info[config] = {"splits": split_info}
        if extra_given:
            config_info[config]["extra_stats"] = dict(extra_given)
    sizes = {name: entry["size"] for name, entry in shard_files.items()}
    summary = card_module.make_summary(meta_dir, default_config=default_config, config_info=config_info, stats=stats,
                                       example=example, generation_args=generation_args, embedded=embedded,
                                       departures=departures, sizes=sizes)
    card_module.write_assets(meta_dir, summary)
    card_options = {key: context[key] for key in card_module.CARD_OPTIONS if context.get(key) is not None}
    readme = card_module.render_card(summary, version=context.get("version"), changelog=context.get("changelog"),
                                     describe=context.get("describe"), **card_options)
    (meta_dir / "README.md").write_text(readme, encoding="utf-8")
    for name, content in (extra_files or {}).items():
        if "/" in name or name.startswith(".") or (meta_dir / name).exists():
            raise ValueError(f"extra file name {name!r} is not a free top-level name")
        (meta_dir / name).write_bytes(content)
    _write_scoring_script(meta_dir)
    files = None
    if not shards_in_meta_dir:
        files = {**{k: v for k, v in file_entries(meta_dir).items() if k != MANIFEST_NAME}, **shard_files}
    manifest = build_manifest(meta_dir, configs=config_info, default_config=default_config,
                              generation_args=generation_args, card=card_options, departures=departures, files=files)
    write_manifest(meta_dir, manifest)
    return manifest, stats


def _check_names(configs: Mapping[str, Mapping[str, Any]]) -> None:
    """Config names become folders beside README.md, manifest.json, scoring.py and assets/: plain names only."""
    if not configs:
        raise UserError("nothing to write: no configs given")
    for config, splits in configs.items():
        if not is_valid_config_name(config):
            raise UserError(f"invalid config name {config!r}: use letters, digits, '_' and '-', starting with a "
                            f"letter or digit, and none of {', '.join(sorted(RESERVED_NAMES))}")
        if not splits:
            raise UserError(f"config {config!r} has no splits")
        for split in splits:
            if not SPLIT_PATTERN.match(split):
                raise UserError(f"invalid split name {split!r} in config {config!r} (letters, digits, '_', '.')")


def written_by_this_tool(folder: str | os.PathLike) -> bool:
    """True when ``folder`` holds a ``manifest.json`` that this generator wrote (its ``format`` and ``generator``).

    Only such a folder (or an empty one) may be replaced: a README.md alone proves nothing, and a project folder
    given by mistake as the output must never be wiped.
    """
    from generator.dataset.manifest import FORMAT, MANIFEST_NAME

    try:
        with open(Path(folder) / MANIFEST_NAME, encoding="utf-8") as handle:
            manifest = json.load(handle)
    except (OSError, ValueError):
        return False
    if not isinstance(manifest, dict) or manifest.get("format") != FORMAT:
        return False
    generator = manifest.get("generator")
    return isinstance(generator, dict) and generator.get("name") == "mmmt-if"


def _check_parent(out: Path, resolved: Path) -> None:
    """Refuse an output whose parent cannot hold a folder (a file on the way, no such or read-only folder)."""
    ancestor = resolved.parent
    while not ancestor.exists() and ancestor != ancestor.parent:
        ancestor = ancestor.parent
    if not ancestor.is_dir():
        raise UserError(f"cannot create the output folder {out}: {ancestor} is not a folder")
    if not os.access(ancestor, os.W_OK | os.X_OK):
        raise UserError(f"cannot create the output folder {out}: {ancestor} is not writable")


def prepare_target(out_dir: str | os.PathLike, *, overwrite: bool) -> Path:
    """Check that ``out_dir`` may be written and return it; called before any row is generated.

    A non-empty folder is refused without ``overwrite``; with it, a non-empty folder is replaced only if its
    ``manifest.json`` shows that this tool wrote it, so a mistyped path cannot wipe unrelated files.
    """
    out = Path(out_dir)
    resolved, cwd = out.resolve(), Path.cwd().resolve()
    if resolved == cwd or resolved in cwd.parents or resolved == Path(resolved.anchor):
        raise UserError(f"cannot replace {out}: it is the current folder, contains it or is the root; give a "
                        "subfolder such as ./mmmt-if")
    _check_parent(out, resolved)
    _check_name_length(out, resolved)
    if out.exists() and not out.is_dir():
        raise UserError(f"output path {out} exists and is not a folder")
    if out.is_dir() and any(out.iterdir()):
        if not overwrite:
            raise UserError(f"output folder {out} is not empty (use --overwrite to replace it)")
        if not written_by_this_tool(out):
            raise UserError(f"{out} does not look like a dataset folder written by mmmt-if; refusing to replace "
                            "it (only a folder with this tool's manifest.json is replaced)")
        problem = foreign_content(out)
        if problem:
            raise UserError(f"refusing to replace {out}: {problem} (only a folder holding nothing but what this "
                            "tool wrote is replaced)")
    return out


def _check_name_length(out: Path, resolved: Path) -> None:
    """The output's siblings (``.<name>.tmp-<pid>``, ``.<name>.old-<pid>``, ``.<name>.lock``) must fit a name."""
    ancestor = resolved.parent
    while not ancestor.exists() and ancestor != ancestor.parent:
        ancestor = ancestor.parent
    try:
        limit = os.pathconf(ancestor, "PC_NAME_MAX")
    except (OSError, ValueError):
        limit = 255
    longest = max((len(os.fsencode(part)) for part in resolved.parts[1:]), default=0)
    needed = len(os.fsencode(resolved.name)) + len(".") + len(".old-") + 10
    if longest > limit or needed > limit:
        raise UserError(f"the output folder name is too long ({len(os.fsencode(resolved.name))} bytes; at most "
                        f"{limit - 16} for --out's last part)", where="--out")


def foreign_content(folder: Path) -> str | None:
    """Why ``folder`` may not be replaced, or None: it must hold this tool's manifest and only the files it lists.

    A folder written by this tool that has since received other files (notes, a hand-made subfolder) is not
    replaced: replacing it would delete what this tool did not write.
    """
    from generator.dataset.manifest import MANIFEST_NAME

    if not written_by_this_tool(folder):
        return "it does not look like a dataset folder written by mmmt-if (no manifest.json of this tool)"
    try:
        with open(folder / MANIFEST_NAME, encoding="utf-8") as handle:
            listed = set(json.load(handle).get("files") or ())
    except (OSError, ValueError, AttributeError):
        return "its manifest.json cannot be read"
    listed.add(MANIFEST_NAME)
    for path in sorted(folder.rglob("*")):
        rel = path.relative_to(folder).as_posix()
        if path.is_symlink() or (not path.is_dir() and rel not in listed):
            return f"it holds {rel}, which mmmt-if did not write"
    return None


_HELD_LOCKS: dict[str, list[int]] = {}


@contextmanager
def output_lock(out_dir: str | os.PathLike) -> Iterator[None]:
    """Hold ``.<name>.lock`` beside the output for the whole run: a second run to the same output fails at once.

    Re-entrant within a process (generation holds it, then the writer takes it again). The lock file is removed
    when the run ends; an advisory ``flock`` is released by the kernel when a process dies, so a killed run never
    blocks the next one.
    """
    import fcntl

    target = Path(out_dir).resolve()
    key = str(target)
    if key in _HELD_LOCKS:
        _HELD_LOCKS[key][1] += 1
        try:
            yield
        finally:
            _HELD_LOCKS[key][1] -= 1
        return
    lock_path = target.parent / f".{target.name}.lock"
    try:
        target.parent.mkdir(parents=True, exist_ok=True)
        while True:
            fd = os.open(lock_path, os.O_RDWR | os.O_CREAT, 0o644)
            try:
                fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
            except BlockingIOError:
                holder = os.pread(fd, 32, 0).decode("ascii", "replace").strip()
                os.close(fd)
                raise UserError(f"another mmmt-if run{f' (pid {holder})' if holder.isdigit() else ''} is writing "
                                f"{out_dir}; wait for it to finish or choose another --out") from None
            # the file may have been removed by the run that held it just before: lock the file that is there
            if os.path.exists(lock_path) and os.fstat(fd).st_ino == os.stat(lock_path).st_ino:
                break
            os.close(fd)
        os.ftruncate(fd, 0)
        os.pwrite(fd, f"{os.getpid()}\n".encode(), 0)
    except OSError as exc:
        raise UserError(f"cannot create the output folder {out_dir}: {exc.strerror or exc}") from None
    _HELD_LOCKS[key] = [fd, 1]
    try:
        yield
    finally:
        del _HELD_LOCKS[key]
        with suppress(OSError):
            os.unlink(lock_path)
        os.close(fd)


def recover_leftovers(target: Path) -> None:
    """Restore or sweep what killed runs left beside ``target`` (called with the output lock held).

    ``.<name>.old-<pid>`` is the previous dataset a run set aside just before its final rename: it is put back
    when the run died before the new folder took its place, and removed when the new folder is there.
    ``.<name>.tmp-<pid>`` folders of dead runs are removed. Each action is reported in one line.
    """
    from generator.common.atomic import note, process_alive

    prefix = f".{target.name}.old-"
    try:
        siblings = sorted(target.parent.iterdir())
    except OSError:
        return
    for path in siblings:
        pid_text = path.name[len(prefix):]
        if not path.name.startswith(prefix) or not _TMP_PID.match(pid_text) or not path.is_dir() \
                or path.is_symlink() or int(pid_text) == os.getpid() or process_alive(int(pid_text)):
            continue
        if target.is_dir() and not target.is_symlink() and not any(target.iterdir()):
            target.rmdir()  # an empty folder holds nothing to lose; the previous dataset goes back in its place
        if not target.exists() and not target.is_symlink():
            os.replace(path, target)
            note(f"restored the previous dataset {target.name} from {path.name} (a run was killed while "
                 "replacing it)")
        elif written_by_this_tool(target) and foreign_content(path) is None:
            shutil.rmtree(path, ignore_errors=True)
            note(f"removed {path.name}, the previous dataset a killed run had already replaced")
        else:
            note(f"left {path.name} (the folder {target.name} replaced by a killed run) as it is: look inside "
                 "and remove it yourself")
    for path in remove_stale_temporaries(target):
        note(f"removed {path.name}, the unfinished output of a killed run")


def remove_stale_temporaries(target: Path) -> list[Path]:
    """Remove ``.<name>.tmp-<pid>`` siblings of ``target`` left by runs that were killed, and return them.

    Only folders of this very output whose process no longer exists are removed: a concurrent run's temporary
    folder (live pid, or one owned by another user) is left alone.
    """
    removed: list[Path] = []
    prefix = f".{target.name}.tmp-"
    try:
        siblings = list(target.parent.iterdir())
    except OSError:
        return removed
    for path in siblings:
        pid_text = path.name[len(prefix):]
        if not path.name.startswith(prefix) or not _TMP_PID.match(pid_text) or not path.is_dir():
            continue
        pid = int(pid_text)
        if pid == os.getpid() or pid <= 0:
            continue
        try:
            os.kill(pid, 0)
        except ProcessLookupError:
            shutil.rmtree(path, ignore_errors=True)
            removed.append(path)
        except OSError:
            continue  # alive, owned by someone else
    return removed


def _example_row(row: Mapping[str, Any]) -> dict[str, Any]:
    """A copy of the row for the card, without image bytes."""
    return {key: value for key, value in row.items() if key != "images"}


def write_dataset(out_dir: str | os.PathLike, configs: Mapping[str, Mapping[str, Iterable[Mapping[str, Any]]]],
                  **options: Any) -> WriteResult:
    """Stream ``{config: {split: rows}}`` into a dataset folder under the output lock (see :func:`_write_dataset`).

    The output is checked, locked (a concurrent run to the same folder fails at once), leftovers of killed runs
    are restored or swept, and the output is checked again before anything is written.
    """
    prepare_target(out_dir, overwrite=bool(options.get("overwrite")))
    with output_lock(out_dir):
        recover_leftovers(Path(out_dir).resolve())
        return _write_dataset(out_dir, configs, **options)


def _write_dataset(out_dir: str | os.PathLike, configs: Mapping[str, Mapping[str, Iterable[Mapping[str, Any]]]], *,
                  card_context: Mapping[str, Any] | None = None, overwrite: bool = False,
                  max_rows_per_shard: int = DEFAULT_MAX_ROWS_PER_SHARD, default_config: str = "mmmt-if",
                  quiet: bool = False, generation_args: Mapping[str, Any] | None = None,
                  row_group_size: int = ROW_GROUP_SIZE, validate: bool = True,
                  extra_files: Mapping[str, bytes] | None = None) -> WriteResult:
    """Stream ``{config: {split: rows}}`` into a dataset folder and return what was written.

    Rows are consumed lazily, config by config and split by split, in the mapping's order. ``default_config`` gets
    ``default: true`` in the README (the first config when it is absent). ``card_context`` feeds the card:
    ``version``, ``changelog`` (list of ``{"version", "changes"}``), ``pretty_name``, ``extra`` (markdown added to
    the body), ``generation_args`` (recorded in the manifest when ``generation_args`` is not given) and
    ``extra_stats`` (``{config: {name: value}}``, counts the rows cannot show, e.g. ``conflicts_avoided``) and
    ``departures`` (names from ``generator.dataset.schema.DEPARTURES`` that imported data needs; recorded in the manifest
    so that ``mmmtif validate`` applies the same rules). ``extra_files`` (name -> bytes) are written at the top of
    the folder before the manifest, so they are listed, hashed and published like every other file (the official
    import's MMDU mapping is one).
    """
    from generator.common.progress import progress
    from generator.dataset.schema import check_departures

    if max_rows_per_shard < 1 or row_group_size < 1:
        raise UserError("max_rows_per_shard and row_group_size must be at least 1")
    _check_names(configs)
    out = prepare_target(out_dir, overwrite=overwrite)
    context = dict(card_context or {})
    if generation_args is None:
        generation_args = context.get("generation_args") or {}
    departures = sorted(check_departures(context.get("departures") or ()))
    default = default_config if default_config in configs else next(iter(configs))

    target = out.resolve()
    tmp = make_temporary_folder(target)
    bar = progress(desc="writing", unit="conv", quiet=quiet)
    try:
        results: list[ShardResult] = []
        order: dict[str, list[str]] = {}
        for config, splits in configs.items():
            folder = tmp / config
            folder.mkdir()
            order[config] = list(splits)
            for split, rows in splits.items():
                results.extend(_write_split(tmp, config, split, rows, bar=bar, max_rows=max_rows_per_shard,
                                            row_group_size=row_group_size, validate=validate,
                                            departures=departures, keep_example=config == default))
        bar.close()
        manifest, stats = assemble_folder(tmp, results, order=order, default_config=default, card_context=context,
                                          generation_args=generation_args, departures=departures,
                                          extra_files=extra_files)
        counts = {config: {split: sum(r.rows for r in results if (r.config, r.split) == (config, split))
                           for split in splits} for config, splits in order.items()}
        has_script = (tmp / "scoring.py").is_file()
        files = sorted([*manifest["files"], "manifest.json"])
        swap_into_place(tmp, target, overwrite=overwrite)
    except BaseException:
        bar.close()
        shutil.rmtree(tmp, ignore_errors=True)
        raise
    return WriteResult(path=out, default_config=default, counts=counts, files=files, stats=stats,
                       scoring_script=has_script)


def _write_split(root: Path, config: str, split: str, rows: Iterable[Mapping[str, Any]], *, bar: Any, max_rows: int,
                 row_group_size: int, validate: bool, departures: Iterable[str], keep_example: bool
                 ) -> list[ShardResult]:
    """Cut a stream of unknown length into shards of ``max_rows``; named once their count is known."""
    from itertools import chain, islice

    iterator = iter(rows)
    written: list[tuple[Path, ShardResult]] = []
    end = object()

    def counted(chunk: Iterable[Mapping[str, Any]]) -> Iterable[Mapping[str, Any]]:
        for row in chunk:
            bar.update(1)
            yield row

    while True:
        first = next(iterator, end)
        if first is end and written:
            break
        chunk: Iterable[Mapping[str, Any]] = (
            () if first is end else chain([first], islice(iterator, max_rows - 1)))  # type: ignore[list-item]
        part = root / config / f".{split}.part{len(written):05d}"
        with open(part, "wb") as handle:
            result = write_shard(handle, counted(chunk), config=config, split=split, index=len(written), file="",
                                 row_group_size=row_group_size, validate=validate, departures=departures,
                                 keep_example=keep_example and not written, first_row=len(written) * max_rows)
        written.append((part, result))
        if first is end:
            break
    for part, result in written:
        name = shard_name(split, result.index, len(written))
        os.replace(part, part.parent / name)
        result.file = f"{config}/{name}"
    return [result for _, result in written]


def _write_scoring_script(folder: Path) -> bool:
    """Write ``scoring.py`` from ``generator.dataset.bundle`` when that module is available."""
    try:
        from generator.dataset.bundle import build_scoring_script
    except ImportError:
        return False
    (folder / "scoring.py").write_text(build_scoring_script(), encoding="utf-8")
    return True


def make_temporary_folder(target: Path) -> Path:
    """``.<name>.tmp-<pid>`` beside ``target``, empty, after sweeping those of dead runs: where a folder is built
    before it replaces ``target`` in one rename."""
    tmp = target.parent / f".{target.name}.tmp-{os.getpid()}"
    try:
        target.parent.mkdir(parents=True, exist_ok=True)
        remove_stale_temporaries(target)
        if tmp.exists():
            shutil.rmtree(tmp)
        tmp.mkdir()
    except OSError as exc:
        raise UserError(f"cannot create the output folder {target}: {exc.strerror or exc}") from None
    return tmp


def swap_into_place(tmp: Path, out: Path, *, overwrite: bool = True) -> None:
    """Move the finished folder to ``out``: one rename, the old folder set aside first and removed last.

    The destination is checked again here, at the moment of the swap: files that appeared in it while rows were
    being generated (or a folder created meanwhile) are never deleted; the run fails instead, leaving them as
    they are.
    """
    old = None
    if out.is_symlink() or (out.exists() and not out.is_dir()):
        raise UserError(f"{out} changed while generating: it is no longer a folder; nothing was replaced")
    if out.exists():
        if not any(out.iterdir()):
            out.rmdir()
        else:
            if not overwrite:
                raise UserError(f"{out} changed while generating: files appeared in it; nothing was replaced "
                                "(use --overwrite only for folders this tool wrote)")
            old = out.parent / f".{out.name}.old-{os.getpid()}"
            if old.exists():
                shutil.rmtree(old)
            os.replace(out, old)
            problem = foreign_content(old)  # checked after moving it aside: nothing can be added to it meanwhile
            if problem:
                os.replace(old, out)
                raise UserError(f"{out} changed while generating: {problem}; nothing was replaced")
    try:
        os.replace(tmp, out)
    except OSError as exc:
        if old is not None:
            try:
                os.replace(old, out)
            except OSError:
                raise UserError(f"cannot move the new dataset into {out} ({exc.strerror}); the previous one is "
                                f"kept as {old}") from None
        raise UserError(f"cannot move the new dataset into {out} ({exc.strerror}); nothing was replaced") from None
    if old is not None:
        shutil.rmtree(old, ignore_errors=True)
