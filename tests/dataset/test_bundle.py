"""The standalone scoring.py: deterministic, standard-library-only embedding, and the same report as score_rows."""

from __future__ import annotations

import ast
import json
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest
from scoring_fakes import catalogue_rows, write_parquet_dataset

from generator.authoring.oracle import oracle_responses
from generator.dataset.bundle import BundleError, _module_level_imports, build_scoring_script, collect_modules
from generator.scoring import Target, evaluate_rows, report_json

# Runs scoring.py with the toolkit's own dependencies made unimportable, as on a machine with only datasets.
_BLOCKING_RUNNER = textwrap.dedent("""
    import runpy, sys

    BLOCKED = ("click", "jinja2", "jsonschema", "matplotlib", "generator")

    class Blocker:
        def find_spec(self, name, path=None, target=None):
            if name.partition(".")[0] in BLOCKED:
                raise ImportError(f"blocked import of {name}")
            return None

    sys.meta_path.insert(0, Blocker())
    sys.argv = sys.argv[1:]
    runpy.run_path(sys.argv[0], run_name="__main__")
""")


@pytest.fixture(scope="module")
def script():
    return build_scoring_script()


def test_script_is_deterministic_and_self_contained(script):
    assert script == build_scoring_script()
    ast.parse(script)
    import generator

    assert str(generator.__file__).rsplit("/", 2)[0] not in script  # no local paths
    names = set(collect_modules())
    assert {"generator.core.text", "generator.core.answers", "generator.scoring.metrics", "generator.common.errors"} <= names
    assert not any(name.startswith(("generator.cli.commands", "generator.reports.plots", "generator.dataset.bundle")) for name in names)


def test_module_level_import_scan():
    tree = ast.parse(textwrap.dedent("""
        import json
        from typing import TYPE_CHECKING
        if TYPE_CHECKING:
            import jinja2
        try:
            import re
        except ImportError:
            pass
        def lazy():
            import click
        class K:
            import decimal
    """))
    names = sorted(alias.name for node in _module_level_imports(tree) for alias in node.names)
    assert names == ["TYPE_CHECKING", "decimal", "json", "re"]


def test_non_stdlib_module_level_import_is_refused():
    with pytest.raises(BundleError):
        collect_modules(("generator.cli",))


def test_standalone_script_matches_score_rows(script, tmp_path):
    rows = catalogue_rows(31, chats=3, turns=5)
    write_parquet_dataset(tmp_path / "ds", {"cfg": rows})
    responses = list(oracle_responses(rows, samples=2))
    responses[3] = {**responses[3], "response": "<think>no</think>wrong answer"}
    responses_path = tmp_path / "responses.jsonl"
    responses_path.write_text("".join(json.dumps(r) + "\n" for r in responses[:-2]), encoding="utf-8")
    (tmp_path / "scoring.py").write_text(script, encoding="utf-8")
    runner = tmp_path / "run_blocked.py"
    runner.write_text(_BLOCKING_RUNNER, encoding="utf-8")
    out, details = tmp_path / "report.json", tmp_path / "details.jsonl"
    proc = subprocess.run(
        [sys.executable, str(runner), str(tmp_path / "scoring.py"), "--repo", str(tmp_path / "ds"),
         "--responses", str(responses_path), "--out", str(out), "--details", str(details), "--quiet",
         "--allow-partial"],
        cwd=tmp_path, capture_output=True, text=True, timeout=120)
    assert proc.returncode == 0, proc.stderr
    ev = evaluate_rows(rows, responses[:-2], target=Target(dataset=str(tmp_path / "ds"), config="cfg", split="test"))
    assert out.read_text(encoding="utf-8") == report_json(ev.report())
    assert [json.loads(line) for line in details.read_text(encoding="utf-8").splitlines()] == ev.details()


def test_standalone_script_reports_user_errors(script, tmp_path):
    (tmp_path / "scoring.py").write_text(script, encoding="utf-8")
    bad = tmp_path / "r.jsonl"
    bad.write_text("{not json\n", encoding="utf-8")
    proc = subprocess.run([sys.executable, str(tmp_path / "scoring.py"), "--repo", str(tmp_path), "--responses",
                           str(bad), "--out", str(tmp_path / "o.json")],
                          cwd=tmp_path, capture_output=True, text=True, timeout=60)
    assert proc.returncode == 2
    assert f"{bad}:line 1: malformed JSON" in proc.stderr and "Traceback" not in proc.stderr


def test_generation_only_members_are_not_embedded_and_do_not_change_the_scorer() -> None:
    """Samplers, witness contributions, conflicts, examples and perturbations are not part of the scorer."""
    from generator.dataset.bundle import GENERATION_ONLY_MEMBERS, collect_modules, strip_generation_members

    source = (Path(__file__).resolve().parents[2] / "generator/core/instructions/types/end.py").read_text()
    edited = source.replace('failing=("Is it? No.",', 'failing=("Is it? No!",')
    assert edited != source
    assert strip_generation_members(edited) == strip_generation_members(source)
    embedded = collect_modules()["generator.core.instructions.types.end"][1]
    for member in GENERATION_ONLY_MEMBERS:
        assert f"def {member}(" not in embedded and f"    {member} = " not in embedded, member
    assert "def check_text(" in embedded
    compile(embedded, "end.py", "exec")


def test_a_generation_only_member_sharing_a_line_is_refused() -> None:
    """Members are removed line by line, so a statement on the same line would vanish with them unseen."""
    from generator.dataset.bundle import BundleError, strip_generation_members

    source = "class T:\n    examples = (); kept = 1\n\n    def check_text(self):\n        return kept\n"
    with pytest.raises(BundleError, match=r"T.examples shares a line"):
        strip_generation_members(source)
    assert "examples" not in strip_generation_members(source.replace("(); kept = 1", "()\n    kept = 1"))
