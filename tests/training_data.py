"""Generate a small dataset and export it as training rows, for the real-trainer tests."""

from __future__ import annotations

from pathlib import Path

from click.testing import CliRunner

from generator.cli import cli


def generate_and_export(root: Path, fmt: str, gen_args: list[str], *, images: bool = False) -> tuple[Path, Path]:
    """``mmmtif gen GEN_ARGS`` into ``root/data``, then ``mmmtif export --format FMT`` (with ``--no-images``
    unless ``images``) into ``root/FMT``; returns both folders."""
    runner = CliRunner()
    result = runner.invoke(cli, ["gen", "--quiet", *gen_args, "--out", str(root / "data")])
    assert result.exit_code == 0, result.output
    result = runner.invoke(cli, ["export", "--quiet", "--format", fmt, *([] if images else ["--no-images"]), "--dataset", str(root / "data"),
                                 "--out", str(root / fmt)])
    assert result.exit_code == 0, result.output
    return root / "data", root / fmt
