"""`mmmtif gen` / `mmmtif-gen` argument handling: every mistake is one line on stderr and exit code 2."""

from __future__ import annotations

import subprocess
import sys

import pytest
from click.testing import CliRunner

from generator.cli import cli
from generator.cli.commands.gen import resolve_configs


@pytest.fixture
def run_gen(tmp_path):
    def run(*args: str):
        runner = CliRunner()
        return runner.invoke(cli, ["gen", "--quiet", *args], catch_exceptions=False)
    return run


@pytest.mark.parametrize(("args", "fragment"), [
    (["--turns", "0"], "--turns"),
    (["--turns", "many"], "--turns"),
    (["--bogus"], "--bogus"),
    (["--variant", "nope"], "unknown variant 'nope'"),
    (["--variant", "mmmt-if,mmmt-if"], "selected twice"),
    (["--splits", "test=0"], "--splits"),
    (["--splits", "test"], "--splits"),
    (["--conversations", "3", "--splits", "test=2"], "either --conversations or --splits"),
    (["--conversations", "0"], "--conversations"),
    (["--images-per-chat", "5-2"], "--images-per-chat"),
    (["--instruction-turns", "0"], "--instruction-turns"),
    (["--instruction-turns", "1,30"], "outside the chat's turns 1..20"),
    (["--instruction-turns", "1,2,3,4,5,6,7,8"], "--instruction-turns"),
    (["--instruction-turns", "1,1,1"], "--instruction-turns"),
    (["--instruction-turns", "1,2,30"], "--instruction-turns"),
    (["--variant", "hard", "--instruction-turns", "1,2,3,4,5,6,7,8,9,10,11,12,13"], "--instruction-turns"),
    (["--turns", "5", "--instruction-turns", "1,8"], "--instruction-turns"),
    (["--num-proc", "0"], "--num-proc"),
    (["--difficulty", "4"], "--difficulty"),
    (["--seed", "-1"], "--seed"),
    (["--config", "does-not-exist.yaml"], "does-not-exist.yaml"),
    (["--source", "no-such-source"], "unknown source"),
    (["--column-map", "image"], "--column-map"),
    (["--source", "hf:x/y", "--column-map", "image"], "--column-map"),
])
def test_bad_arguments_are_one_line_errors(run_gen, tmp_path, args, fragment) -> None:
    result = run_gen("--out", str(tmp_path / "out"), *args)
    assert result.exit_code == 2, result.output
    lines = [line for line in result.stderr.splitlines() if line.strip()]
    assert len(lines) == 1, result.stderr
    assert fragment in lines[0]
    assert "Traceback" not in result.output
    assert not (tmp_path / "out").exists()


def test_non_empty_output_folder_is_refused_without_overwrite(run_gen, tmp_path) -> None:
    out = tmp_path / "out"
    out.mkdir()
    (out / "keep.txt").write_text("mine")
    result = run_gen("--out", str(out), "--conversations", "1", "--turns", "2")
    assert result.exit_code == 2
    assert "--overwrite" in result.stderr
    assert (out / "keep.txt").read_text() == "mine"


def test_console_script_reports_one_line(tmp_path) -> None:
    script = [sys.executable, "-c", "from generator.cli import gen_main; gen_main()"]
    proc = subprocess.run([*script, "--turns", "zero", "--out", str(tmp_path / "o")], capture_output=True,
                          text=True, timeout=60)
    assert proc.returncode == 2
    assert len(proc.stderr.strip().splitlines()) == 1, proc.stderr


def test_overrides_apply_to_every_selected_variant(tmp_path) -> None:
    cfg_file = tmp_path / "c.yaml"
    cfg_file.write_text("name: mine\nturns: 9\n")
    configs = resolve_configs(("long,hard", "system"), (cfg_file,), turns=6, images_per_chat="1-2",
                              instruction_turns="1,4")
    assert [c.name for c in configs] == ["long", "hard", "system", "mine"]
    for cfg in configs:
        assert (cfg.turns, cfg.images_min, cfg.images_max) == (6, 1, 2)
        assert cfg.schedule == "fixed" and cfg.instruction_turns == (1, 4)
    default = resolve_configs((), (), turns=None, images_per_chat=None, instruction_turns=None)
    assert [c.name for c in default] == ["mmmt-if", "appended"]
    only_file = resolve_configs((), (cfg_file,), turns=None, images_per_chat=None, instruction_turns=None)
    assert [(c.name, c.turns) for c in only_file] == [("mine", 9)]
