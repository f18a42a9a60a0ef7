"""What the benchmark scripts print besides their figures: the commit, the load average, min / median / max.

The scripts import it as ``benchinfo`` (``python scripts/bench_x.py`` puts this folder first on ``sys.path``).
"""

from __future__ import annotations

import os
import platform
import statistics
import subprocess
import time
from collections.abc import Callable
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def commit(folder: Path | str = ROOT) -> str:
    """The short commit of the checkout at ``folder`` (this one by default), with ``+changes`` when tracked files
    differ from it; ``unknown`` without git."""
    try:
        head = subprocess.run(["git", "rev-parse", "--short", "HEAD"], cwd=folder, capture_output=True, text=True,
                              check=False).stdout.strip()
        dirty = subprocess.run(["git", "diff", "--quiet", "HEAD"], cwd=folder, capture_output=True,
                               check=False).returncode != 0
    except OSError:
        return "unknown"
    return (head + ("+changes" if dirty else "")) if head else "unknown"


def load() -> str:
    """The load average over 1 / 5 / 15 minutes."""
    return " / ".join(f"{value:.2f}" for value in os.getloadavg())


def header(what: str) -> None:
    print(f"# {what}\ncommit {commit()}, {platform.python_implementation()} {platform.python_version()}, "
          f"{os.cpu_count()} CPUs; load average before: {load()}")


def footer(cpu: float, wall: float) -> None:
    """The whole script's CPU and wall seconds (``cpu`` includes waited-for children) and the load average."""
    print(f"\nwhole script: CPU {cpu:.1f} s, wall {wall:.1f} s; load average after: {load()}")


def script_cpu() -> float:
    """CPU seconds of this process and of its children that have been waited for."""
    times = os.times()
    return times.user + times.system + times.children_user + times.children_system


def timed(function: Callable[[], object]) -> tuple[float, float]:
    """(CPU s of this process, every thread; wall s) of one call."""
    cpu, wall = time.process_time(), time.perf_counter()
    function()
    return time.process_time() - cpu, time.perf_counter() - wall


def spread(values: list[float], digits: int = 2) -> str:
    """``min / median / max``."""
    return " / ".join(f"{v:,.{digits}f}" for v in (min(values), statistics.median(values), max(values)))
