"""``mmmtif compare``: several score reports side by side, as a markdown table and one plot."""

from __future__ import annotations

from pathlib import Path

import click

from generator.cli import COMMANDS
from generator.common.atomic import Writer, text_writer, write_together
from generator.common.errors import UserError


@click.command("compare")
@click.argument("reports", nargs=-1, required=True, type=click.Path(dir_okay=False))
@click.option("--labels", default=None, help="Comma-separated column labels, one per report (default: file names).")
@click.option("--out", "out_path", default=None, type=click.Path(dir_okay=False),
              help="Also write the markdown table here (e.g. compare.md).")
@click.option("--plot", "plot_path", default=None, type=click.Path(dir_okay=False),
              help="Draw PIF by turn and by number of active instructions, one line per report (e.g. compare.png).")
@click.option("--across", is_flag=True,
              help="Compare reports of different datasets or configs (refused otherwise: their figures measure "
                   "different things).")
def command(reports: tuple[str, ...], labels: str | None, out_path: str | None, plot_path: str | None,
            across: bool) -> None:
    """Compare report.json files written by `mmmtif score` (one column per report).

    The first rows name what each column is: model, dataset, config, split and history mode.
    """
    from generator.reports.compare import check_comparable, compare_markdown, default_labels, load_report

    if labels is None:
        names = default_labels(reports)
    else:
        names = [name.strip() for name in labels.split(",")]
        if len(names) != len(reports) or not all(names):
            raise UserError(f"give one non-empty label per report ({len(reports)}), got {len(names)}",
                            where="--labels")
    loaded = [(name, load_report(path)) for name, path in zip(names, reports, strict=True)]
    check_comparable(loaded, across=across)
    text = compare_markdown(loaded)
    click.echo(text, nl=False)
    files: dict[Path, Writer] = {}
    if out_path:
        files[Path(out_path)] = text_writer(text)
    if plot_path:
        try:
            from generator.reports.plots import plot_writer
        except ImportError as exc:
            raise UserError(f"plotting is not available in this installation ({exc})", where="--plot") from None
        Path(plot_path).parent.mkdir(parents=True, exist_ok=True)
        files[Path(plot_path)] = plot_writer(loaded, plot_path)
    write_together(files)  # the table and the plot together, or neither


COMMANDS.register(command.name or "", command)
