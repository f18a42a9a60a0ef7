"""Atomic file writes: a temporary file in the same folder, then ``os.replace``.

A reader (or a killed run) sees either the old file or the whole new one, never half of it. Standard library
only, because the standalone scoring script embeds the modules that use it.
"""

from __future__ import annotations

import os
import tempfile
from collections.abc import Callable, Mapping
from pathlib import Path

from generator.common.errors import UserError


def _default_mode() -> int:
    """The mode a plain ``open(path, "w")`` would give under the current umask (read without changing it twice)."""
    mask = os.umask(0)
    os.umask(mask)
    return 0o666 & ~mask


def replace_with(path: str | os.PathLike[str], write: Callable[[str], None]) -> Path:
    """Call ``write(tmp_path)`` to produce the file, then move it over ``path``; the temporary file never stays.

    ``mkstemp`` creates its file readable by the owner only; the result gets the mode an ordinary write would
    give, so a dataset or report written here is as shareable as any other file.
    """
    target = Path(path)
    folder = target.parent if str(target.parent) else Path(".")
    folder.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{target.name}.", suffix=".tmp", dir=folder)
    os.close(fd)
    try:
        os.chmod(tmp, _default_mode())
        write(tmp)
        os.replace(tmp, target)
    except BaseException:
        if os.path.exists(tmp):
            os.unlink(tmp)
        raise
    return target


def write_text(path: str | os.PathLike[str], text: str, *, fsync: bool = False) -> Path:
    """Write ``text`` (UTF-8, ``\\n`` line ends) atomically; ``fsync`` also forces it to disk before the rename."""

    def write(tmp: str) -> None:
        with open(tmp, "w", encoding="utf-8", newline="\n") as handle:
            handle.write(text)
            if fsync:
                handle.flush()
                os.fsync(handle.fileno())

    return replace_with(path, write)


def write_bytes(path: str | os.PathLike[str], data: bytes) -> Path:
    """Write ``data`` atomically."""

    def write(tmp: str) -> None:
        with open(tmp, "wb") as handle:
            handle.write(data)

    return replace_with(path, write)


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
