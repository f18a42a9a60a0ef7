"""Atomic file writes: temporaries in the same folder, then ``os.replace``; several files all together or none.

A reader (or a killed run) sees either the old files or the whole new ones, never half of them. Temporary files
are named ``.<name>.<pid>-<random>.tmp``: the next write to the same folder removes those whose process has died.
Every failure of the file system (no such folder, a file where a folder is expected, read-only, disk full, name
too long) is a :class:`UserError` naming the file, and leaves every previous file untouched. Standard library
only, because the standalone scoring script embeds the modules that use it.
"""

from __future__ import annotations

import os
import re
import sys
import tempfile
from collections.abc import Callable, Mapping
from pathlib import Path

from generator.common.errors import UserError

Writer = Callable[[str], None]
_TEMPORARY = re.compile(r"^\.(?P<name>.+)\.(?P<pid>\d+)-[A-Za-z0-9_]{8}\.tmp$")


def _default_mode() -> int:
    """The mode a plain ``open(path, "w")`` would give under the current umask (read without changing it twice)."""
    mask = os.umask(0)
    os.umask(mask)
    return 0o666 & ~mask


def process_alive(pid: int) -> bool:
    """True unless ``pid`` certainly does not exist (a process of another user counts as alive)."""
    if pid <= 0:
        return True
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except OSError:
        return True
    return True


def note(message: str) -> None:
    """A one-line notice on stderr (what was restored or swept); it is not an error."""
    print(f"mmmtif: note: {message}", file=sys.stderr)


def sweep_temporaries(folder: str | os.PathLike[str], name: str | None = None) -> list[Path]:
    """Remove ``.<name>.<pid>-XXXXXXXX.tmp`` files of ``folder`` whose process has died; return them.

    Only files of this naming scheme are touched, never anything else, and never those of a live process.
    """
    removed: list[Path] = []
    try:
        entries = list(os.scandir(folder))
    except OSError:
        return removed
    for entry in entries:
        match = _TEMPORARY.match(entry.name)
        if not match or (name is not None and match["name"] != name) or not entry.is_file(follow_symlinks=False):
            continue
        if int(match["pid"]) == os.getpid() or process_alive(int(match["pid"])):
            continue
        try:
            os.unlink(entry.path)
        except OSError:
            continue
        removed.append(Path(entry.path))
    if removed:
        note(f"removed {len(removed)} temporary file(s) left in {folder} by a killed run")
    return removed


def os_error(exc: OSError, target: str | os.PathLike[str], action: str = "write") -> UserError:
    """The one-line error for a failed write of ``target`` (read-only, disk full, a file in the way...)."""
    reason = exc.strerror or type(exc).__name__
    return UserError(f"cannot {action} {os.fspath(target)}: {reason}")


def _check_target(target: Path) -> Path:
    """Create the parent folder and refuse a target that is a folder; return the folder."""
    folder = target.parent if str(target.parent) else Path(".")
    if target.is_dir():
        raise UserError(f"cannot write {target}: it is a folder")
    try:
        folder.mkdir(parents=True, exist_ok=True)
    except FileExistsError:
        raise UserError(f"cannot write {target}: {folder} is not a folder") from None
    except OSError as exc:
        raise os_error(exc, target) from None
    return folder


def _temporary(target: Path, folder: Path) -> str:
    fd, tmp = tempfile.mkstemp(prefix=f".{target.name}.{os.getpid()}-", suffix=".tmp", dir=folder)
    os.close(fd)
    os.chmod(tmp, _default_mode())
    return tmp


def write_together(files: Mapping[Path, Writer] | Mapping[str, Writer] | Mapping[str | os.PathLike[str], Writer]
                   ) -> list[Path]:
    """Write several files as one: each ``write(tmp)`` produces a temporary, then all are renamed.

    When any write fails, no target changes and no temporary stays. The renames themselves cannot be made one
    operation by a file system, so previous versions are kept as hard links until every rename succeeded and are
    put back if one fails.
    """
    targets = [Path(path) for path in files]
    if len({os.path.abspath(t) for t in targets}) != len(targets):
        raise UserError("two outputs name the same file: " + ", ".join(map(str, targets)))
    folders = [_check_target(target) for target in targets]
    for folder in dict.fromkeys(folders):
        sweep_temporaries(folder)
    temporaries: list[str] = []
    try:
        for target, folder, write in zip(targets, folders, files.values(), strict=True):
            try:
                tmp = _temporary(target, folder)
            except OSError as exc:
                raise os_error(exc, target) from None
            temporaries.append(tmp)
            try:
                write(tmp)
            except OSError as exc:
                raise os_error(exc, target) from None
        _rename_all(temporaries, targets)
    except BaseException:
        for tmp in temporaries:
            if os.path.exists(tmp):
                os.unlink(tmp)
        raise
    return targets


def _rename_all(temporaries: list[str], targets: list[Path]) -> None:
    backups: list[tuple[str, Path]] = []
    done: list[Path] = []
    try:
        if len(targets) > 1:
            for target in targets:
                if target.is_file():
                    backup = _temporary(target, target.parent or Path("."))
                    os.unlink(backup)
                    os.link(target, backup)
                    backups.append((backup, target))
        for tmp, target in zip(temporaries, targets, strict=True):
            os.replace(tmp, target)
            done.append(target)
    except BaseException as exc:
        restored = {target for _, target in backups}
        for backup, target in backups:
            os.replace(backup, target)
        for target in done:
            if target not in restored:
                os.unlink(target)
        if isinstance(exc, OSError):
            raise os_error(exc, targets[len(done)] if len(done) < len(targets) else targets[-1]) from None
        raise
    for backup, _target in backups:
        os.unlink(backup)


def replace_with(path: str | os.PathLike[str], write: Writer) -> Path:
    """Call ``write(tmp_path)`` to produce the file, then move it over ``path``; the temporary file never stays.

    ``mkstemp`` creates its file readable by the owner only; the result gets the mode an ordinary write would
    give, so a dataset or report written here is as shareable as any other file.
    """
    return write_together({path: write})[0]


def text_writer(text: str, *, fsync: bool = False) -> Writer:
    """A writer for :func:`write_together` that writes ``text`` (UTF-8, ``\\n`` line ends)."""
    return bytes_writer(text.encode("utf-8"), fsync=fsync)


def bytes_writer(data: bytes, *, fsync: bool = False) -> Writer:
    """A writer for :func:`write_together` that writes ``data``; ``fsync`` forces it to disk before the rename."""

    def write(tmp: str) -> None:
        with open(tmp, "wb") as handle:
            handle.write(data)
            if fsync:
                handle.flush()
                os.fsync(handle.fileno())

    return write


def write_text(path: str | os.PathLike[str], text: str, *, fsync: bool = False) -> Path:
    """Write ``text`` (UTF-8, ``\\n`` line ends) atomically; ``fsync`` also forces it to disk before the rename."""
    return replace_with(path, text_writer(text, fsync=fsync))


def write_bytes(path: str | os.PathLike[str], data: bytes, *, fsync: bool = False) -> Path:
    """Write ``data`` atomically; ``fsync`` also forces it to disk before the rename."""
    return replace_with(path, bytes_writer(data, fsync=fsync))


def check_output_path(path: str | Path) -> Path:
    """Refuse an output path whose folder is missing or that is a folder, before any work is done."""
    path = Path(path)
    folder = path.parent if str(path.parent) else Path(".")
    if not folder.is_dir():
        raise UserError("output folder does not exist", where=str(folder))
    if path.is_dir():
        raise UserError("output path is a folder", where=str(path))
    return path


def check_distinct_paths(paths: Mapping[str, str | Path | None]) -> None:
    """Refuse two roles on one file (``--out`` equal to ``--responses`` would replace the answers by the report)."""
    seen: dict[Path, str] = {}
    for role, path in paths.items():
        if path is None:
            continue
        resolved = Path(path).resolve()
        if resolved in seen:
            raise UserError(f"{role} and {seen[resolved]} name the same file", where=str(path))
        seen[resolved] = role


def atomic_write_text(path: str | Path, text: str) -> None:
    """Write ``text`` to ``path`` through a temporary file in the same folder and ``os.replace``."""
    write_text(check_output_path(path), text)
