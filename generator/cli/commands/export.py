"""``mmmtif export``: turn a generated dataset folder into turn-level training rows for TRL or verl."""

from __future__ import annotations

from pathlib import Path

import click

from generator.cli import COMMANDS


@click.command("export")
@click.option("--format", "fmt", required=True, type=click.Choice(["trl", "verl"]),
              help="trl: conversational prompt + images + reward_spec; verl: data_source, prompt, images, "
                   "reward_model.ground_truth, extra_info.")
@click.option("--dataset", required=True, type=click.Path(path_type=Path, file_okay=False),
              help="Dataset folder written by mmmtif-gen.")
@click.option("--out", "out_dir", required=True, type=click.Path(path_type=Path, file_okay=False),
              help="Output folder (Hub layout, one config per exported config).")
@click.option("--config", "configs", multiple=True, help="Config to export (repeatable; default: all).")
@click.option("--split", "splits", multiple=True, help="Split to export (repeatable; default: all).")
@click.option("--no-images", is_flag=True, help="Text-only rows: drop the images (for text-only models).")
@click.option("--overwrite", is_flag=True, help="Replace an output folder this tool wrote.")
@click.option("--quiet", is_flag=True, help="No progress bar and no summary.")
def command(fmt: str, dataset: Path, out_dir: Path, configs: tuple[str, ...], splits: tuple[str, ...],
            no_images: bool, overwrite: bool, quiet: bool) -> None:
    """Write one training row per turn of DATASET, with the reward spec the rewards of generator.rewards read."""
    from generator.dataset.training import export_training

    counts = export_training(dataset, out_dir, fmt, configs=configs or None, splits=splits or None,
                             images=not no_images, overwrite=overwrite, quiet=quiet)
    from generator.dataset.contamination import is_training_split

    evaluation = sorted({split for split_counts in counts.values() for split in split_counts
                         if not is_training_split(split)})
    if evaluation:
        click.echo(f"warning: exported evaluation split(s) {', '.join(evaluation)} as training rows; training on "
                   "them contaminates the benchmark (export --split train, or generate with --exclude-from)",
                   err=True)
    if not quiet:
        total = sum(sum(split.values()) for split in counts.values())
        click.echo(f"wrote {total} {fmt} training rows to {out_dir} (configs: {', '.join(counts)})")
        from generator.dataset.manifest import load_manifest

        default = load_manifest(out_dir)["default_config"]
        click.echo(f"load it with: datasets.load_dataset({str(out_dir)!r}, {default!r})")


COMMANDS.register(command.name or "", command)
