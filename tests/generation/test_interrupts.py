"""A generation stopped by SIGTERM or SIGINT leaves no output and no temporary folder behind."""

from __future__ import annotations

import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest


@pytest.mark.parametrize("sig", [signal.SIGTERM, signal.SIGINT])
def test_interrupted_generation_leaves_nothing_behind(tmp_path: Path, sig: signal.Signals) -> None:
    out = tmp_path / "ds"
    proc = subprocess.Popen(
        # Ctrl-C as in a terminal: a shell starts background jobs with SIGINT ignored, and a test run started that
        # way would pass the ignored disposition on, so the child restores Python's own handler first.
        [sys.executable, "-c", "import signal, sys; signal.signal(signal.SIGINT, signal.default_int_handler); "
         "from generator.cli import gen_main; sys.argv[0] = 'mmmtif-gen'; gen_main()",
         "--conversations", "2000", "--turns", "20", "--quiet", "--out", str(out)],
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
    )
    deadline = time.monotonic() + 60
    # wait until the writer has started (its temporary folder exists), then interrupt it
    while time.monotonic() < deadline and not any(tmp_path.glob(".ds.tmp*")):
        if proc.poll() is not None:
            pytest.fail(f"generation ended before it could be interrupted: {proc.stderr.read()}")
        time.sleep(0.05)
    time.sleep(0.5)
    proc.send_signal(sig)
    _, stderr = proc.communicate(timeout=60)
    assert proc.returncode != 0
    assert "Traceback" not in stderr
    assert sorted(p.name for p in tmp_path.iterdir()) == []
