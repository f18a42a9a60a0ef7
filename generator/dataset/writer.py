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
    split_totals,
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

    path: Path
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


class _SplitWriter:
    """Streams one split into shards of at most ``max_rows`` rows, ``row_group_size`` rows buffered at a time."""

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
                  row_group_size: int = ROW_GROUP_SIZE, validate: bool = True) -> WriteResult:
    """Stream ``{config: {split: rows}}`` into a dataset folder and return what was written.

    Rows are consumed lazily, config by config and split by split, in the mapping's order. ``default_config`` gets
    ``default: true`` in the README (the first config when it is absent). ``card_context`` feeds the card:
    ``version``, ``changelog`` (list of ``{"version", "changes"}``), ``pretty_name``, ``extra`` (markdown added to
    the body), ``generation_args`` (recorded in the manifest when ``generation_args`` is not given) and
    ``extra_stats`` (``{config: {name: value}}``, counts the rows cannot show, e.g. ``conflicts_avoided``) and
    ``departures`` (names from ``generator.dataset.schema.DEPARTURES`` that imported data needs; recorded in the manifest
    so that ``mmmtif validate`` applies the same rules).
    """
    from generator.common.progress import progress
    from generator.dataset import card as card_module
    from generator.dataset.features import arrow_schema
    from generator.dataset.manifest import build_manifest, write_manifest
    from generator.dataset.schema import check_departures, validate_row
    from generator.dataset.stats import StatsAccumulator

    if max_rows_per_shard < 1 or row_group_size < 1:
        raise UserError("max_rows_per_shard and row_group_size must be at least 1")
    _check_names(configs)
    out = prepare_target(out_dir, overwrite=overwrite)
    context = dict(card_context or {})
    if generation_args is None:
        generation_args = context.get("generation_args") or {}
    extra_stats = context.get("extra_stats") or {}
    departures = sorted(check_departures(context.get("departures") or ()))
    default = default_config if default_config in configs else next(iter(configs))
    schema = arrow_schema()

    target = out.resolve()
    tmp = target.parent / f".{target.name}.tmp-{os.getpid()}"
    try:
        target.parent.mkdir(parents=True, exist_ok=True)
        remove_stale_temporaries(target)
        if tmp.exists():
            shutil.rmtree(tmp)
        tmp.mkdir()
    except OSError as exc:
        raise UserError(f"cannot create the output folder {out}: {exc.strerror or exc}") from None
    bar = progress(desc="writing", unit="conv", quiet=quiet)
    try:
        config_info: dict[str, dict[str, Any]] = {}
        stats: dict[str, dict[str, Any]] = {}
        counts: dict[str, dict[str, int]] = {}
        example: dict[str, Any] | None = None
        images = 0
        embedded: dict[str, dict[str, int]] = {}
        for config, splits in configs.items():
            folder = tmp / config
            folder.mkdir()
            acc = StatsAccumulator()
            embedded[config] = {"images": 0, "conversations_without_images": 0}
            split_info: dict[str, dict[str, Any]] = {}
            for split, rows in splits.items():
                writer = _SplitWriter(folder, split, schema, max_rows_per_shard, row_group_size)
                try:
                    for index, row in enumerate(rows):
                        if validate:
                            validate_row(row, f"{config}/{split} row {index}", config=config, allow=departures)
                        if example is None and config == default:
                            example = _example_row(row)
                        acc.add(row, split)
                        writer.add(encode_row(row))
                        images += len(row["images"])
                        embedded[config]["images"] += len(row["images"])
                        embedded[config]["conversations_without_images"] += not row["images"]
                        bar.update(1)
                        if index % row_group_size == 0:
                            bar.set_postfix(images=images, refresh=False)
                    paths = writer.close()
                finally:
                    writer.abort()
                num_rows, num_bytes = split_totals(paths)
                split_info[split] = {"num_examples": num_rows, "num_bytes": num_bytes,
                                     "files": [p.relative_to(tmp).as_posix() for p in paths]}
            counts[config] = {split: info["num_examples"] for split, info in split_info.items()}
            stats[config] = acc.result(extra_stats.get(config))
            config_info[config] = {"splits": split_info}
            if extra_stats.get(config):
                config_info[config]["extra_stats"] = dict(extra_stats[config])
        bar.close()

        summary = card_module.make_summary(tmp, default_config=default, config_info=config_info, stats=stats,
                                           example=example, generation_args=generation_args,
                                           embedded=embedded, departures=departures)
        card_module.write_assets(tmp, summary)
        card_options = {key: context[key] for key in card_module.CARD_OPTIONS if context.get(key) is not None}
        readme = card_module.render_card(summary, version=context.get("version"),
                                         changelog=context.get("changelog"), describe=context.get("describe"),
                                         **card_options)
        (tmp / "README.md").write_text(readme, encoding="utf-8")
        has_script = _write_scoring_script(tmp)
        manifest = build_manifest(tmp, configs=config_info, default_config=default, generation_args=generation_args,
                                  card=card_options, departures=departures)
        write_manifest(tmp, manifest)
        files = sorted([*manifest["files"], "manifest.json"])
        _swap_into_place(tmp, target, overwrite=overwrite)
    except BaseException:
        bar.close()
        shutil.rmtree(tmp, ignore_errors=True)
        raise
    return WriteResult(path=out, default_config=default, counts=counts, files=files, stats=stats,
                       scoring_script=has_script)


def _write_scoring_script(folder: Path) -> bool:
    """Write ``scoring.py`` from ``generator.dataset.bundle`` when that module is available."""
    try:
        from generator.dataset.bundle import build_scoring_script
    except ImportError:
        return False
    (folder / "scoring.py").write_text(build_scoring_script(), encoding="utf-8")
    return True


def _swap_into_place(tmp: Path, out: Path, *, overwrite: bool) -> None:
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
