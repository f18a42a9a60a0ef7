"""Atomic writes: whole file or nothing, no temporary left behind, ordinary file permissions."""

from __future__ import annotations

import os
import stat
from pathlib import Path

import pytest

from generator.common import atomic


def test_write_text_replaces_whole_file(tmp_path: Path) -> None:
    target = tmp_path / "sub" / "report.json"
    atomic.write_text(target, "one\n")
    atomic.write_text(target, "two\n", fsync=True)
    assert target.read_text() == "two\n"
    assert sorted(p.name for p in target.parent.iterdir()) == ["report.json"]


def test_failed_write_leaves_old_file_and_no_temporary(tmp_path: Path) -> None:
    target = tmp_path / "x.txt"
    atomic.write_text(target, "old")

    def broken(tmp: str) -> None:
        Path(tmp).write_text("half")
        raise RuntimeError("disk full")

    with pytest.raises(RuntimeError):
        atomic.replace_with(target, broken)
    assert target.read_text() == "old"
    assert [p.name for p in tmp_path.iterdir()] == ["x.txt"]


def test_files_get_the_umask_mode_not_owner_only(tmp_path: Path) -> None:
    previous = os.umask(0o022)
    try:
        atomic.write_bytes(tmp_path / "a.bin", b"\x00")
        plain = tmp_path / "plain.bin"
        plain.write_bytes(b"\x00")
    finally:
        os.umask(previous)
    mode = stat.S_IMODE((tmp_path / "a.bin").stat().st_mode)
    assert mode == stat.S_IMODE(plain.stat().st_mode) == 0o644
