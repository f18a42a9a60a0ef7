"""Generate a small dataset and export it as text-only training rows, for the real-trainer tests."""

from __future__ import annotations

from pathlib import Path

from click.testing import CliRunner

from generator.cli import cli


def generate_and_export(root: Path, fmt: str, gen_args: list[str]) -> tuple[Path, Path]:
    """``mmmtif gen GEN_ARGS`` into ``root/data``, then ``mmmtif export --format FMT --no-images`` into
    ``root/FMT``; returns both folders."""
    runner = CliRunner()
    result = runner.invoke(cli, ["gen", "--quiet", *gen_args, "--out", str(root / "data")])
    assert result.exit_code == 0, result.output
    result = runner.invoke(cli, ["export", "--quiet", "--format", fmt, "--no-images", "--dataset", str(root / "data"),
                                 "--out", str(root / fmt)])
    assert result.exit_code == 0, result.output
    return root / "data", root / fmt
