"""Plots of reports: one line per report, deterministic bytes, clear errors for bad paths."""

from __future__ import annotations

import pytest
from scoring_fakes import FAKE_CATALOGUE, active, turn

from generator.common.errors import UserError
from generator.reports.plots import plot_reports
from generator.scoring import score_rows

ROWS = [{"id": "c", "turns": [turn(1, [active("t:upper", 1)]), turn(2, [active("t:upper", 1)]), turn(3)]}]


def report(texts):
    return score_rows(ROWS, [{"id": "c", "turn": t, "response": x} for t, x in enumerate(texts, 1)],
                      catalogue=FAKE_CATALOGUE)


def test_plot_is_deterministic_and_has_a_line_per_report(tmp_path):
    reports = [("a", report(["A", "b", "c"])), ("b", report(["a", "B", "c"]))]
    first, second = tmp_path / "one.png", tmp_path / "two.png"
    plot_reports(reports, first)
    plot_reports(reports, second)
    assert first.read_bytes() == second.read_bytes()
    svg = tmp_path / "p.svg"
    plot_reports(reports, svg)
    text = svg.read_text()
    assert "PIF by turn" in text and text.count("<g id=\"line2d_") >= 4
    plot_reports(reports[:1], tmp_path / "single.png")
    assert (tmp_path / "single.png").read_bytes() != first.read_bytes()


@pytest.mark.parametrize(("name", "message"), [("plot.gif", "unsupported plot format"),
                                               ("missing/plot.png", "does not exist")])
def test_bad_plot_paths(tmp_path, name, message):
    with pytest.raises(UserError, match=message):
        plot_reports([("a", report(["A", "B", "c"]))], tmp_path / name)
    with pytest.raises(UserError, match="nothing to plot"):
        plot_reports([], tmp_path / "p.png")
