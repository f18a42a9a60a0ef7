"""Same arguments -> byte-identical folder, for any --num-proc; a pinned hash guards against silent drift.

If the golden hash changes on purpose (a new catalogue wording, a new image family...), every previously
published dataset changes with it: update ``GOLDEN_DATA_SHA256`` only together with an entry in CHANGELOG.md
(and a new version). The hash is measured on x86-64 (SSE4.2 or later): the PNG compressor chooses its code by
CPU, so another CPU family may write other bytes for the same pixels.
"""

from __future__ import annotations

import hashlib
from pathlib import Path

import pytest
from click.testing import CliRunner

from generator.cli import cli

TINY = ["--turns", "4", "--seed", "7", "--splits", "test=18,validation=3", "--images-per-chat", "2-3", "--quiet"]
# sha256 over "<path> <sha256>\n" lines of the parquet shards (the data; the card and scoring.py may evolve).
GOLDEN_DATA_SHA256 = "6a80d2637814178fd81e95131b3bc4a8580efcde834baa05e2b72a43b97a0631"


def _generate(out: Path, *extra: str) -> dict[str, str]:
    result = CliRunner().invoke(cli, ["gen", *TINY, "--out", str(out), *extra], catch_exceptions=False)
    assert result.exit_code == 0, result.output
    assert result.output == "" and result.stderr == "", "--quiet must silence the summary and the progress bar"
    return {p.relative_to(out).as_posix(): hashlib.sha256(p.read_bytes()).hexdigest()
            for p in sorted(out.rglob("*")) if p.is_file()}


@pytest.fixture(scope="module")
def serial(tmp_path_factory) -> tuple[Path, dict[str, str]]:
    out = tmp_path_factory.mktemp("serial") / "ds"
    return out, _generate(out, "--num-proc", "1")


def test_two_processes_give_identical_files(serial, tmp_path) -> None:
    _, hashes = serial
    assert any(name.endswith(".parquet") for name in hashes)
    assert _generate(tmp_path / "ds", "--num-proc", "2") == hashes


def test_rerun_is_identical_and_seed_matters(serial, tmp_path) -> None:
    _, hashes = serial
    assert _generate(tmp_path / "again") == hashes
    other = CliRunner().invoke(cli, ["gen", *TINY, "--seed", "8", "--out", str(tmp_path / "other")])
    assert other.exit_code == 0
    assert (tmp_path / "other" / "manifest.json").read_bytes() != (serial[0] / "manifest.json").read_bytes()


def test_golden_data_hash(serial) -> None:
    _, hashes = serial
    shards = {name: digest for name, digest in hashes.items() if name.endswith(".parquet")}
    assert len(shards) == 4  # two configs x two splits
    combined = hashlib.sha256("".join(f"{n} {d}\n" for n, d in sorted(shards.items())).encode()).hexdigest()
    assert combined == GOLDEN_DATA_SHA256, "generated data changed: " + ", ".join(
        f"{k}={v[:12]}" for k, v in shards.items())
