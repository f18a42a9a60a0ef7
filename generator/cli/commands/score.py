"""``mmmtif score``: score a responses file against a dataset and write report.json (and details, a plot)."""

from __future__ import annotations

from pathlib import Path

import click

from generator.cli import COMMANDS


@click.command("score")
@click.option("--dataset", required=True, help="Dataset folder, or a Hub repo id ORG/NAME.")
@click.option("--config", default=None, help="Config (variant) to score; default: the dataset's default config.")
@click.option("--split", default=None, help="Split to score; optional when the config has only one.")
@click.option("--revision", default=None, help="Hub revision (tag such as v1.0.0, branch or commit).")
@click.option("--responses", "responses_path", required=True, type=click.Path(path_type=Path),
              help="responses.jsonl: one {id, turn, sample, response} object per line.")
@click.option("--out", required=True, type=click.Path(path_type=Path), help="Where to write report.json.")
@click.option("--details", type=click.Path(path_type=Path), default=None,
              help="Also write one JSON line per scored response with every verdict.")
@click.option("--plot", type=click.Path(path_type=Path), default=None,
              help="Also draw PIF by turn and by number of active instructions (PNG, SVG or PDF).")
@click.option("--mode", type=click.Choice(["strict", "loose"]), default="strict", show_default=True,
              help="strict checks the text as given; loose also accepts it after removing a preamble line, "
                   "a closing line or markdown emphasis.")
@click.option("--samples", type=click.IntRange(min=1), default=None,
              help="Samples per turn (N of PIF-N-K); default: as `mmmtif run` declared it on the response lines, "
                   "else the highest sample index + 1.")
@click.option("--allow-partial", is_flag=True,
              help="Score a responses file that lacks some turns or samples; every headline figure is then "
                   "marked partial.")
@click.option("--quiet", is_flag=True, help="No progress bar and no summary.")
def command(dataset: str, config: str | None, split: str | None, revision: str | None, responses_path: Path,
            out: Path, details: Path | None, plot: Path | None, mode: str, samples: int | None,
            allow_partial: bool, quiet: bool) -> None:
    """Score RESPONSES against DATASET: PIF, PIF-N-K, breakdowns and answer accuracy."""
    from generator.common.progress import iterate
    from generator.scoring import run_score

    if plot is not None:
        from generator.common.atomic import check_distinct_paths
        from generator.reports.plots import check_plot_path

        check_plot_path(plot)
        check_distinct_paths({"--responses": responses_path, "--out": out, "--details": details, "--plot": plot})

    def progress(items, total):
        return iterate(items, total=total, desc="scoring", unit="resp")

    def plot_output(report: dict) -> dict:
        if plot is None:
            return {}
        from generator.reports.plots import plot_writer

        return {plot: plot_writer([(responses_path.stem, report)], plot)}

    # report, details and plot are written together: a plot that cannot be written leaves the old report in place
    run_score(dataset, responses_path=responses_path, out=out, config=config, split=split, revision=revision,
              details=details, mode=mode, progress=None if quiet else progress, samples=samples,
              allow_partial=allow_partial, echo=None if quiet else click.echo, more_outputs=plot_output)
    if not quiet:
        click.echo(f"\nreport: {out}" + (f"   details: {details}" if details else "")
                   + (f"   plot: {plot}" if plot else ""))


COMMANDS.register(command.name or "", command)
