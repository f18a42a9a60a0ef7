"""``mmmtif stats DIR [--json]``: the statistics of each config of a dataset folder (the same ones the card shows)."""

from __future__ import annotations

import json
from pathlib import Path

import click

from generator.cli import COMMANDS
from generator.common.errors import UserError


@click.command("stats")
@click.argument("dataset_dir", type=click.Path(file_okay=False, path_type=Path))
@click.option("--json", "as_json", is_flag=True, help="Print the statistics as one JSON object keyed by config.")
@click.option("--config", "configs", multiple=True, help="Only these configs (repeatable).")
@click.option("--quiet", "-q", is_flag=True, help="No progress bar.")
def command(dataset_dir: Path, as_json: bool, configs: tuple[str, ...], quiet: bool) -> None:
    """Print per-config statistics: active instructions per turn, instruction age, first-instruction turn, ..."""
    from generator.dataset.layout import dataset_files
    from generator.dataset.stats import format_stats, stats_from_dir

    if not dataset_dir.is_dir():
        raise UserError("dataset folder not found", where=str(dataset_dir))
    if not dataset_files(dataset_dir):
        raise UserError("no parquet shards found (expected <config>/<split>-NNNNN-of-NNNNN.parquet)",
                        where=str(dataset_dir))
    stats = stats_from_dir(dataset_dir, quiet=quiet or as_json)
    if configs:
        unknown = sorted(set(configs) - set(stats))
        if unknown:
            raise UserError(f"unknown config(s) {', '.join(unknown)}; available: {', '.join(stats)}",
                            where="--config")
        stats = {name: stats[name] for name in configs}
    if as_json:
        click.echo(json.dumps(stats, indent=2, sort_keys=True))
    else:
        click.echo(format_stats(stats))


COMMANDS.register(command.name or "", command)
