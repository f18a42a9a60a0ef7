"""MMMT-IF scoring: responses + dataset rows -> PIF, PIF-N-K, breakdowns, answer accuracy, intervals.

The core uses only the standard library (pyarrow or ``datasets`` are imported lazily by the loader, ``jsonschema``
by the report validation), so that the released single-file ``scoring.py`` can embed it unchanged.
"""

from __future__ import annotations

from generator.core.instructions.check import CHECK_MODES
from generator.scoring.evaluation import (
    Evaluation,
    Target,
    default_catalogue,
    evaluate_rows,
    run_score,
    score_rows,
)
from generator.scoring.fingerprint import conversation_fingerprint
from generator.scoring.loader import load_rows, open_rows
from generator.scoring.metrics import Aggregate, details_records
from generator.scoring.report import format_summary, report_json, validate_report, write_details, write_report
from generator.scoring.responses import Response, collect_responses, index_responses_file, read_responses
from generator.scoring.think import strip_think

__all__ = [
    "CHECK_MODES",
    "Aggregate",
    "Evaluation",
    "Response",
    "Target",
    "collect_responses",
    "conversation_fingerprint",
    "default_catalogue",
    "details_records",
    "evaluate_rows",
    "format_summary",
    "index_responses_file",
    "load_rows",
    "open_rows",
    "read_responses",
    "report_json",
    "run_score",
    "score_rows",
    "strip_think",
    "validate_report",
    "write_details",
    "write_report",
]
