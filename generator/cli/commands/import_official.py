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
from typing import Any

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
@click.option("--mmdu", "mmdu_source", default=None, metavar="SOURCE",
              help="Rebuild the images from MMDU: a folder (benchmark.json / mmdu-45k.json with their image zips or "
                   "unzipped folders), one JSON file, a zip, or hub:laolao77/MMDU[/FILE.json]. Each chat is matched "
                   "to its MMDU dialogue by its questions; see docs/official-mmdu.md.")
@click.option("--revision", default=None, help="Hub revision (branch, tag or commit) of a hub: MMDU source.")
@click.option("--quiet", is_flag=True, help="Print nothing but errors.")
def command(csv_path: Path, out_dir: Path, overwrite: bool, allow_unknown: bool, images_dir: Path | None,
            mmdu_source: str | None, revision: str | None, quiet: bool) -> None:
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
    if mmdu_source is not None and images_dir is not None:
        raise UserError("give either --images (your own files) or --mmdu (matched MMDU images), not both",
                        where="--mmdu")
    if revision is not None and mmdu_source is None:
        raise UserError("a revision applies only to a Hub MMDU source (--mmdu hub:OWNER/NAME)", where="--revision")
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
    rebuild, mmdu_args = (None, None)
    if mmdu_source is not None:
        rebuild, mmdu_args = _rebuild(rows, release, mmdu_source, revision, quiet=quiet)
    departures = validate_rows(rows)
    _write(out_dir, rows, CONFIG, SPLIT, csv_path=csv_path, overwrite=overwrite, quiet=quiet, departures=departures,
           rebuild=rebuild, mmdu_args=mmdu_args)

    if quiet:
        return
    turns = release.turns
    share = "100%" if recognised == total else f"{100.0 * recognised / total:.1f}%"
    click.echo(f"imported {csv_path} -> {out_dir} (config '{CONFIG}', split '{SPLIT}')")
    click.echo(f"  chats: {len(release.chats)}   turns: {len(turns)}   "
               f"turns with an active instruction: {sum(1 for t in turns if t.active)}")
    if images_dir is not None:
        click.echo(f"  chats with images attached from {images_dir}: {with_images}/{len(rows)}")
    if rebuild is not None:
        from generator.release.mmdu_match import MAPPING_FILE, MATCHED, shared_lines, summary_line

        click.echo(f"  {summary_line(rebuild.matches)}; mapping: {out_dir / MAPPING_FILE}")
        for match in rebuild.matches:
            if match.status != MATCHED:
                click.echo(f"    - {match.line()} (left without images)")
        for line in shared_lines(rebuild.matches):
            click.echo(f"    - note: {line}")
    click.echo(f"  instruction texts recognised: {recognised}/{total} ({share})")
    click.echo(f"  departures from the row contract (recorded in the manifest): {', '.join(departures) or 'none'}")
    click.echo(f"  discrepancies in the CSV's bookkeeping: {len(release.discrepancies)}")
    for found in release.discrepancies[:MAX_LISTED]:
        click.echo(f"    - {found}")
    if len(release.discrepancies) > MAX_LISTED:
        click.echo(f"    ... and {len(release.discrepancies) - MAX_LISTED} more")


def _rebuild(rows: list[dict], release: Any, source: str, revision: str | None, *, quiet: bool
             ) -> tuple[Any, dict[str, Any]]:
    """Read MMDU, match every chat and attach the matched images; return the rebuild and what the manifest keeps.

    The manifest records no machine path: a Hub source by id and resolved commit, a local one by its name and the
    SHA-256 of its JSON files.
    """
    from generator.common.progress import progress
    from generator.generation.sources.mmdu import HUB_PREFIX, open_mmdu, report_malformed
    from generator.release import mmdu_match
    from generator.release.official_import import attach_mmdu

    data = open_mmdu(source, revision=revision)
    if not quiet:
        report_malformed(data, lambda line: click.echo(line, err=True))
    if not data.dialogues:
        raise UserError(f"no usable MMDU dialogue ({len(data.malformed)} malformed record(s) left out)", where=source)
    read = len(data.malformed)
    bar = progress(total=len(data.dialogues), desc="matching MMDU", unit="dlg", quiet=quiet)
    try:
        rebuild = attach_mmdu(rows, release, data, tick=lambda: bar.update(1))
    finally:
        bar.close()
        if not quiet:  # records left out while matching: an image that does not decode
            report_malformed(data, lambda line: click.echo(line, err=True), start=read)
    named = source if source.startswith(HUB_PREFIX) else Path(source).name
    args = {"source": named, "revision": data.revision, "json_sha256": dict(sorted(data.digests.items())),
            "dialogues": len(data.dialogues), "malformed": len(data.malformed),
            "thresholds": {"question_min": mmdu_match.QUESTION_MIN, "accept": mmdu_match.ACCEPT,
                           "margin": mmdu_match.MARGIN}}
    return rebuild, args


def _mmdu_card(rebuild: Any) -> str:
    from generator.release.mmdu_match import ACCEPT, MAPPING_FILE, MARGIN, QUESTION_MIN, summary_line

    return (
        "\n\n## Images rebuilt from MMDU\n\n"
        "The release names Image1..Image5 but ships no images. Each conversation was matched to the MMDU dialogue "
        "(Liu et al., 2024; `laolao77/MMDU`) whose user questions are its questions, and that dialogue's images "
        "were embedded in marker order. The images are licensed **CC-BY-NC-4.0** (non-commercial use), which "
        "therefore applies to this dataset.\n\n"
        f"{summary_line(rebuild.matches)}. Matching: word-level similarity of normalised questions (a pair counts "
        f"from {QUESTION_MIN}), in-order alignment, a dialogue matches from a score of {ACCEPT} and must beat "
        f"every other dialogue by {MARGIN}; ambiguous or unmatched conversations keep no images. `{MAPPING_FILE}` "
        "lists, for every official turn, the MMDU file, dialogue id and user-turn index it was matched to.\n"
    )


def _write(out_dir: Path, rows: list[dict], config: str, split: str, *, csv_path: Path, overwrite: bool,
           quiet: bool, departures: list[str], rebuild: Any = None, mmdu_args: dict[str, Any] | None = None
           ) -> None:
    """Hand the rows to the dataset writer, which validates them, writes atomically and refuses to clobber.

    ``departures`` are the release's departures from the row contract that these rows need (see
    :func:`generator.release.official_import.departures_of`); the writer accepts exactly those and records them in the manifest.
    The card states them itself (for unreleased images: how many conversations lack them and how to attach yours).
    """
    import hashlib

    from generator.dataset.writer import write_dataset

    digest = hashlib.sha256(csv_path.read_bytes()).hexdigest()
    generation_args: dict[str, Any] = {"command": "import-official", "csv": csv_path.name, "csv_sha256": digest}
    card_context: dict[str, Any] = {
        "pretty_name": "MMMT-IF (official release, imported)",
        "extra": CARD_DESCRIPTION,
        "generation_args": generation_args,
        "departures": departures,
    }
    extra_files = None
    if rebuild is not None:
        from generator.generation.sources.mmdu import LICENSE_ID
        from generator.release.mmdu_match import MAPPING_FILE

        generation_args["mmdu"] = mmdu_args
        card_context["extra"] = CARD_DESCRIPTION + _mmdu_card(rebuild)
        card_context["license"] = LICENSE_ID
        extra_files = {MAPPING_FILE: rebuild.mapping.encode("utf-8")}
    write_dataset(out_dir, {config: {split: rows}}, card_context=card_context, overwrite=overwrite,
                  default_config=config, quiet=quiet, extra_files=extra_files)


COMMANDS.register(command.name or "", command)
