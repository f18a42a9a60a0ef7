"""``mmmtif oracle``: fluent reference responses for every turn (they must score PIF 1.0 and answer accuracy 1.0)."""

from __future__ import annotations

from pathlib import Path

import click

from generator.cli import COMMANDS


@click.command("oracle")
@click.option("--dataset", required=True, help="Dataset folder, or a Hub repo id ORG/NAME.")
@click.option("--config", default=None, help="Config (variant); default: the dataset's default config.")
@click.option("--split", default=None, help="Split; optional when the config has only one.")
@click.option("--revision", default=None, help="Hub revision (tag, branch or commit).")
@click.option("--out", required=True, type=click.Path(path_type=Path), help="Where to write responses.jsonl.")
@click.option("--samples", default=1, show_default=True, type=click.IntRange(min=1),
              help="Responses per turn (all identical), to exercise PIF-N-K.")
@click.option("--quiet", is_flag=True, help="Print nothing on success.")
def command(dataset: str, config: str | None, split: str | None, revision: str | None, out: Path, samples: int,
            quiet: bool) -> None:
    """Write fluent reference responses that obey every active instruction and give the reference answer."""
    from generator.authoring.oracle import write_oracle
    from generator.scoring import load_rows

    rows = load_rows(dataset, config, split, revision)
    count = write_oracle(rows, out, samples)
    if not quiet:
        click.echo(f"wrote {count} responses for {len(rows)} conversations to {out}")


COMMANDS.register(command.name or "", command)
