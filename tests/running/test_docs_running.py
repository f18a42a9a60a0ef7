"""The "Trying it without a model" commands of docs/running.md run as written (only the port is replaced, so that
parallel test runs do not collide); the harness sections are run by tests/test_harness_real.py."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


def _block(heading: str) -> list[str]:
    text = (ROOT / "docs" / "running.md").read_text(encoding="utf-8")
    section = text[text.index(heading):]
    start = section.index("```bash") + 7
    return [line for line in section[start: section.index("```", start)].strip().splitlines() if line]


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def test_trying_it_without_a_model_runs_as_documented(tmp_path):
    subprocess.run([sys.executable, "-m", "generator.cli", "gen", "--turns", "2", "--conversations", "2",
                    "--seed", "3", "--out", str(tmp_path / "mmmt-if"), "--quiet"], check=True, timeout=600)
    (tmp_path / "tests").symlink_to(ROOT / "tests")
    port = str(_free_port())
    commands = [line.replace("8011", port) for line in _block("## Trying it without a model")]
    # the documented server runs in the background: stop it however the commands end
    script = "set -euo pipefail\ntrap 'kill $(jobs -p) 2>/dev/null' EXIT\n" + "\n".join(commands) + "\n"
    env = {**os.environ, "PATH": str(Path(sys.executable).parent) + os.pathsep + os.environ["PATH"]}
    done = subprocess.run(["bash", "-c", script], cwd=tmp_path, env=env, capture_output=True, text=True,
                          timeout=600)
    assert done.returncode == 0, done.stderr[-2000:]
    assert (tmp_path / "fake.report.json").exists()
    assert len((tmp_path / "fake.jsonl").read_text().splitlines()) == 4
