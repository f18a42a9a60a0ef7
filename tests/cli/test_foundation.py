"""Foundation: hash-derived RNG, the lazy CLI group, one-line user errors, resources in the wheel."""

from __future__ import annotations

import subprocess
import sys
import zipfile
from pathlib import Path

import click
import pytest
from click.testing import CliRunner

from generator import cli as cli_module
from generator.common.errors import UnknownInstructionError, UserError
from generator.common.resources import resource_dir, resource_path
from generator.common.rng import derive_rng, derive_seed

ROOT = Path(__file__).resolve().parents[2]


def test_derive_seed_golden_values() -> None:
    # Pinned: a change here changes every generated dataset.
    assert derive_seed(7, "test", "plan", 0) == 12284655531395868083
    assert derive_seed(7, "test", "plan", 1) == 15106540397910341376
    assert derive_rng(7, "test", "plan", 0).random() == 0.5955631371937086


def test_neighbouring_keys_are_unrelated() -> None:
    # seed + index arithmetic would make (7, item 1) equal (8, item 0); hashing must not.
    a = [derive_rng(7, "test", "plan", i).random() for i in range(50)]
    b = [derive_rng(8, "test", "plan", i).random() for i in range(50)]
    assert not set(a) & set(b)
    assert len(set(a)) == 50


def test_key_types_are_distinguished() -> None:
    assert derive_seed(1, "x") != derive_seed("1", "x")
    assert derive_seed("a", "bc") != derive_seed("ab", "c")


def test_cli_lists_every_command_and_each_module_exists() -> None:
    modules = {p.stem for p in (ROOT / "generator" / "cli" / "commands").glob("*.py") if p.stem != "__init__"}
    assert len(cli_module.COMMANDS) == len(modules), "every command module registers exactly one command"
    for name in cli_module.COMMANDS:
        assert name.replace("-", "_") in modules, name
        cmd = cli_module.cli.get_command(click.Context(cli_module.cli), name)
        assert isinstance(cmd, click.Command), name


def test_cli_help_and_unknown_command() -> None:
    runner = CliRunner()
    result = runner.invoke(cli_module.cli, ["--help"])
    assert result.exit_code == 0
    for name in cli_module.COMMANDS:
        assert name in result.output
    result = runner.invoke(cli_module.cli, ["no-such-command"])
    assert result.exit_code != 0
    assert "No such command" in result.output


def test_user_error_is_one_line_without_traceback() -> None:
    @cli_module.cli.command("boom-for-test")
    def boom() -> None:
        raise UserError("missing field 'response'", where="r.jsonl:line 3")

    try:
        original = cli_module.LazyGroup.get_command

        def get_command(self, ctx, name):  # type: ignore[no-untyped-def]
            return boom if name == "boom-for-test" else original(self, ctx, name)

        cli_module.LazyGroup.get_command = get_command  # type: ignore[method-assign]
        result = CliRunner().invoke(cli_module.cli, ["boom-for-test"])
    finally:
        cli_module.LazyGroup.get_command = original  # type: ignore[method-assign]
    assert result.exit_code == 2
    assert result.output.strip() == "mmmtif: error: r.jsonl:line 3: missing field 'response'"
    assert "Traceback" not in result.output


def test_unknown_instruction_error_message_is_plain() -> None:
    err = UnknownInstructionError("unknown instruction id 'x:y'")
    assert str(err) == "unknown instruction id 'x:y'"
    assert isinstance(err, KeyError) and isinstance(err, UserError)


def test_resources_resolve_in_checkout() -> None:
    for name in ("templates", "schemas", "dataset_card"):
        assert resource_dir(name).is_dir()
    with pytest.raises(FileNotFoundError):
        resource_path("schemas", "no-such-file.json")


def test_console_scripts_run() -> None:
    out = subprocess.run([sys.executable, "-m", "generator.cli", "--version"], capture_output=True, text=True,
                         check=True)
    assert "mmmt-if" in out.stdout


def test_version_is_the_installed_distributions() -> None:
    """The version is a literal in the package that the build reads; an install must carry the same one."""
    from importlib.metadata import version

    import generator

    assert version("mmmt-if") == generator.__version__, "the installed metadata is stale: run `pip install -e .`"


@pytest.mark.slow
def test_wheel_carries_resource_folders(tmp_path: Path) -> None:
    """The installed package has no repository root, so the wheel must contain the resource folders."""
    result = subprocess.run(
        [sys.executable, "-m", "pip", "wheel", "--no-deps", "--quiet", "-w", str(tmp_path), str(ROOT)],
        capture_output=True, text=True,
    )
    assert result.returncode == 0, result.stderr[-2000:]
    wheel = next(tmp_path.glob("mmmt_if-*.whl"))
    names = zipfile.ZipFile(wheel).namelist()
    for folder in ("templates", "schemas", "dataset_card"):
        assert any(n.startswith(f"generator/_data/{folder}/") for n in names), folder
    assert "generator/cli/__init__.py" in names
    assert not any(n.startswith("tests/") for n in names)


@pytest.mark.parametrize("name", cli_module.COMMANDS.names())
def test_usage_errors_are_one_line_for_every_command(name: str) -> None:
    result = CliRunner().invoke(cli_module.cli, [name, "--no-such-option"], prog_name="mmmtif")
    assert result.exit_code == 2
    lines = result.output.strip().splitlines()
    assert len(lines) == 1, result.output
    assert lines[0].startswith("mmmtif: error: No such option '--no-such-option'.")
    assert lines[0].endswith(f"(see 'mmmtif {name} --help')")
