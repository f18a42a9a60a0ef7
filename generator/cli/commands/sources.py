"""``mmmtif sources [--json]``: the image Q&A sources ``--source`` accepts, with kind, question types, licence."""

from __future__ import annotations

import json

import click

from generator.cli import COMMANDS


@click.command("sources")
@click.option("--json", "as_json", is_flag=True, help="Print a JSON list of objects (name, kind, question_types, "
                                                      "license, description).")
def command(as_json: bool) -> None:
    """List the sources of images and questions (procedural families, photos, user folders and datasets)."""
    from generator.generation.sources import list_sources

    infos = list_sources()
    if as_json:
        click.echo(json.dumps([info.to_dict() for info in infos], indent=2))
        return
    rows = [(info.name, info.kind, ", ".join(info.question_types), info.license) for info in infos]
    header = ("NAME", "KIND", "QUESTION TYPES", "LICENCE")
    widths = [max(len(row[k]) for row in [header, *rows]) for k in range(4)]
    for row in [header, *rows]:
        click.echo("  ".join(cell.ljust(width) for cell, width in zip(row, widths, strict=True)).rstrip())
    click.echo("\nUse with: mmmtif gen --source NAME (user sources: folder:PATH, mmdu:SOURCE, hf:PATH_OR_ID[:split] "
               "--column-map image=...,question=...,answer=...). See docs/sources.md.")


COMMANDS.register(command.name or "", command)
