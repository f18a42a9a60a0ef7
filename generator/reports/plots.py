"""Figures from score reports: PIF by turn (the paper's main figure) and PIF by number of active instructions.

One line per report, so the same function serves ``mmmtif score --plot`` and side-by-side comparisons. Each point
is labelled with the number of responses behind it and shaded with its 95% interval (``ci95`` of the report,
conversations as clusters), so a point that rests on a handful of responses shows as such.
Matplotlib is imported lazily with the Agg backend (no display needed); metadata that would vary between runs
is left out so that the same reports give the same file.
"""

from __future__ import annotations

import os
from collections.abc import Sequence
from pathlib import Path

from generator.common import atomic
from generator.common.errors import UserError

_FORMATS = {".png": "png", ".svg": "svg", ".pdf": "pdf"}


def _series(report: dict, section: str, key: str) -> list[dict]:
    """The points of one curve: rows with a PIF, in x order."""
    return [row for row in report.get(section, []) if row.get("pif") is not None]


def _draw(axis: object, rows: list[dict], key: str, label: str) -> None:
    """A line with its 95% band (where the report has one) and the number of responses behind each point."""
    xs, ys = [row[key] for row in rows], [row["pif"] for row in rows]
    (line,) = axis.plot(xs, ys, marker="o", markersize=3.5, linewidth=1.6, label=label)  # type: ignore[attr-defined]
    banded = [row for row in rows if isinstance(row.get("ci95"), list)]
    if banded:
        axis.fill_between([row[key] for row in banded], [row["ci95"][0] for row in banded],  # type: ignore[attr-defined]
                          [row["ci95"][1] for row in banded], color=line.get_color(), alpha=0.15, linewidth=0)
    for x, y, row in zip(xs, ys, rows, strict=True):
        axis.annotate(f"n={row.get('responses', '?')}", (x, y), textcoords="offset points",  # type: ignore[attr-defined]
                      xytext=(0, -11), ha="center", fontsize=6, color=line.get_color())


def check_plot_path(path: str | os.PathLike) -> str:
    """Return the figure format of ``path`` (from its suffix); refuse an unknown suffix or a missing folder."""
    path = Path(path)
    fmt = _FORMATS.get(path.suffix.lower())
    if fmt is None:
        raise UserError(f"unsupported plot format {path.suffix!r} (use .png, .svg or .pdf)", where=str(path))
    folder = path.parent if str(path.parent) else Path(".")
    if not folder.is_dir():
        raise UserError("output folder does not exist", where=str(folder))
    return fmt


def plot_reports(reports: Sequence[tuple[str, dict]], path: str | os.PathLike) -> Path:
    """Draw PIF by turn and by active-instruction count, one line per ``(label, report)``; write ``path``."""
    path = Path(path)
    atomic.replace_with(path, plot_writer(reports, path))
    return path


def plot_writer(reports: Sequence[tuple[str, dict]], path: str | os.PathLike) -> atomic.Writer:
    """The plot of :func:`plot_reports` as a writer, to be written together with other files."""
    path = Path(path)
    fmt = check_plot_path(path)
    if not reports:
        raise UserError("nothing to plot: no reports given")

    import matplotlib

    matplotlib.use("Agg", force=True)
    from matplotlib.figure import Figure

    fig = Figure(figsize=(11, 4.2), dpi=100, layout="constrained")
    by_turn, by_count = fig.subplots(1, 2)
    for label, report in reports:
        _draw(by_turn, _series(report, "by_turn", "turn"), "turn", label)
        _draw(by_count, _series(report, "by_active_count", "active"), "active", label)
    fig.suptitle("shaded: 95% interval (conversations as clusters); n: responses behind each point",
                 fontsize="small")
    for axis, xlabel, title in ((by_turn, "turn", "PIF by turn"),
                                (by_count, "active instructions", "PIF by number of active instructions")):
        axis.set_xlabel(xlabel)
        axis.set_ylabel("PIF")
        axis.set_title(title)
        axis.set_ylim(-0.02, 1.02)
        axis.grid(True, alpha=0.3)
        axis.xaxis.get_major_locator().set_params(integer=True)
    by_turn.legend(loc="best", fontsize="small", frameon=False)

    metadata = {"png": {"Software": None}, "svg": {"Date": None, "Creator": None},
                "pdf": {"CreationDate": None, "Creator": None, "Producer": None}}[fmt]
    return lambda tmp: fig.savefig(tmp, format=fmt, metadata=metadata)
