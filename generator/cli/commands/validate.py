"""``mmmtif validate DIR``: re-check a dataset folder (see :mod:`generator.dataset.checks`)."""

from __future__ import annotations

from pathlib import Path

import click

from generator.cli import COMMANDS
from generator.common.errors import UserError, ValidationError
from generator.dataset.checks import validate_dataset


@click.command("validate")
@click.argument("dataset_dir", metavar="DATASET")
@click.option("--no-images", is_flag=True, help="Skip decoding every image (faster).")
@click.option("--max-errors", default=100, show_default=True, type=click.IntRange(min=1),
              help="Stop after this many problems.")
@click.option("--quiet", "-q", is_flag=True, help="No progress bar.")
def command(dataset_dir: str, no_images: bool, max_errors: int, quiet: bool) -> None:
    """Check a dataset folder (or an fsspec URL such as s3://bucket/prefix): rows, card, manifest hashes and
    images. Exits non-zero on any problem."""
    from generator.dataset.storage import is_url, local_copy

    if is_url(dataset_dir):
        with local_copy(dataset_dir) as local:
            _validate(local, dataset_dir, no_images=no_images, max_errors=max_errors, quiet=quiet)
        return
    _validate(Path(dataset_dir), dataset_dir, no_images=no_images, max_errors=max_errors, quiet=quiet)


def _validate(dataset_dir: Path, shown: str, *, no_images: bool, max_errors: int, quiet: bool) -> None:
    if not dataset_dir.is_dir():
        raise UserError("dataset folder not found", where=shown)
    problems = validate_dataset(dataset_dir, quiet=quiet, decode_images=not no_images, max_problems=max_errors)
    if problems:
        for problem in problems:
            click.echo(problem, err=True)
        raise ValidationError(f"{len(problems)} problem(s) found", where=shown)
    from generator.dataset.manifest import load_manifest

    manifest = load_manifest(dataset_dir)
    summary = ", ".join(f"{config}: " + "/".join(f"{split} {info['num_examples']}" for split, info in
                                                 cinfo["splits"].items())
                        for config, cinfo in manifest["configs"].items())
    departures = manifest.get("departures") or []
    declared = f"; declared departures: {', '.join(departures)}" if departures else ""
    click.echo(f"ok: {shown} ({summary}{declared})")


COMMANDS.register(command.name or "", command)
