"""``mmmtif import-official``: convert the official MMMT-IF release CSV into a dataset folder in our format.

The result is config ``official``, split ``test``: the 71 official chats with their conversation ids and turn
numbers, each turn's active instructions derived from the prompts, and no images (the release has none; the rows
name Image1..Image5 so that users can attach their own MMDU images with ``--images``). Scoring a model on it uses
the same checkers as every generated variant, which also tests our catalogue against the real wordings.

The rows are validated like any other dataset. Where the release departs from the row contract (no image bytes,
skipped turn numbers) the departures the rows actually need are declared to the writer, which records them in the
manifest so that ``mmmtif validate`` and publishing apply exactly the same rules.
"""

from __future__ import annotations

from pathlib import Path

import click

from generator.cli import COMMANDS
from generator.common.errors import UserError

CARD_DESCRIPTION = (
    "## Source\n\n"
    "The official MMMT-IF release (Epstein et al., 2024; google-research/google-research, mmmt_if/data, "
    "Apache-2.0) converted into this toolkit's row format: one row per conversation, the official conversation "
    "id as `id` and the official turn numbers (gaps included), each turn's active instructions derived from its "
    "prompts. The release has no reference answers (`answer_type` is `open`)."
)

MAX_LISTED = 20  # discrepancies printed in the summary


@click.command("import-official")
@click.argument("csv_path", metavar="CSV", type=click.Path(dir_okay=False, path_type=Path))
@click.option("--out", "out_dir", required=True, type=click.Path(file_okay=False, path_type=Path),
              help="Dataset folder to write (Hub layout; config 'official', split 'test').")
@click.option("--overwrite", is_flag=True, help="Replace an existing output folder.")
@click.option("--allow-unknown", is_flag=True,
              help="Write the dataset even if some instruction texts are not recognised (they are left out of "
                   "the active sets and listed).")
@click.option("--images", "images_dir", type=click.Path(file_okay=False, path_type=Path), default=None,
              help="Folder with your own MMDU images as <conversation id>/Image<k>.jpg (or .png, .webp); "
                   "chats without a folder keep the placeholders.")
@click.option("--quiet", is_flag=True, help="Print nothing but errors.")
def command(csv_path: Path, out_dir: Path, overwrite: bool, allow_unknown: bool, images_dir: Path | None,
            quiet: bool) -> None:
    """Convert the official release CSV into a dataset folder in our format."""
    from generator.release.official_import import (
        CONFIG,
        SPLIT,
        attach_images,
        read_official,
        to_rows,
        validate_rows,
    )

    if not csv_path.is_file():
        raise UserError("no such file", where=str(csv_path))
    release = read_official(csv_path)
    recognised, total = release.instruction_texts()
    if release.unknown:
        listing = "; ".join(str(u) for u in release.unknown[:10])
        more = f" (and {len(release.unknown) - 10} more)" if len(release.unknown) > 10 else ""
        if not allow_unknown:
            raise UserError(f"{len(release.unknown)} instruction text(s) not recognised: {listing}{more}; "
                            "pass --allow-unknown to import anyway", where=str(csv_path))
        if not quiet:
            click.echo(f"warning: {len(release.unknown)} instruction text(s) not recognised and left out of the "
                       f"active sets: {listing}{more}", err=True)

    rows = to_rows(release)
    with_images = attach_images(rows, images_dir) if images_dir is not None else 0
    departures = validate_rows(rows)
    _write(out_dir, rows, CONFIG, SPLIT, csv_path=csv_path, overwrite=overwrite, quiet=quiet, departures=departures)

    if quiet:
        return
    turns = release.turns
    share = "100%" if recognised == total else f"{100.0 * recognised / total:.1f}%"
    click.echo(f"imported {csv_path} -> {out_dir} (config '{CONFIG}', split '{SPLIT}')")
    click.echo(f"  chats: {len(release.chats)}   turns: {len(turns)}   "
               f"turns with an active instruction: {sum(1 for t in turns if t.active)}")
    if images_dir is not None:
        click.echo(f"  chats with images attached from {images_dir}: {with_images}/{len(rows)}")
    click.echo(f"  instruction texts recognised: {recognised}/{total} ({share})")
    click.echo(f"  departures from the row contract (recorded in the manifest): {', '.join(departures) or 'none'}")
    click.echo(f"  discrepancies in the CSV's bookkeeping: {len(release.discrepancies)}")
    for found in release.discrepancies[:MAX_LISTED]:
        click.echo(f"    - {found}")
    if len(release.discrepancies) > MAX_LISTED:
        click.echo(f"    ... and {len(release.discrepancies) - MAX_LISTED} more")


def _write(out_dir: Path, rows: list[dict], config: str, split: str, *, csv_path: Path, overwrite: bool,
           quiet: bool, departures: list[str]) -> None:
    """Hand the rows to the dataset writer, which validates them, writes atomically and refuses to clobber.

    ``departures`` are the release's departures from the row contract that these rows need (see
    :func:`generator.release.official_import.departures_of`); the writer accepts exactly those and records them in the manifest.
    The card states them itself (for unreleased images: how many conversations lack them and how to attach yours).
    """
    import hashlib

    from generator.dataset.writer import write_dataset

    digest = hashlib.sha256(csv_path.read_bytes()).hexdigest()
    card_context = {
        "pretty_name": "MMMT-IF (official release, imported)",
        "extra": CARD_DESCRIPTION,
        "generation_args": {"command": "import-official", "csv": csv_path.name, "csv_sha256": digest},
        "departures": departures,
    }
    write_dataset(out_dir, {config: {split: rows}}, card_context=card_context, overwrite=overwrite,
                  default_config=config, quiet=quiet)


COMMANDS.register(command.name or "", command)
