"""Benchmark generation: conversations/s, CPU time and peak memory, by size, engine and number of workers.

Each measurement runs in a fresh Python process (so imports and peak RSS are that run's own) and is repeated;
min / median / max are printed for wall time and conversations/s, with the CPU time of the whole process tree
(driver, pool workers, Ray's workers and daemons). Peak RSS is reported for the driver and for the largest worker
(from ``VmHWM`` of every process of the tree, read before it exits).

    python scripts/bench_generate.py                                  # mmmt-if, 1,000 conversations, local, 1 and 2
    python scripts/bench_generate.py --engine local,ray --procs 1,2   # Ray with 1 and 2 workers vs local
    python scripts/bench_generate.py --variant mmmt-if,appended --sizes 500 --turns 20   # the default command
    python scripts/bench_generate.py --code before=/tmp/before --code after=.   # two checkouts, one run

``--code LABEL=DIR`` (repeatable) measures the ``generator`` package of each checkout (``PYTHONPATH=DIR``) in the
same run: the repeats alternate between checkouts, the first of each repeat moving round, and the table ends
with each checkout's median CPU time against the first one's. Before timing, every measured package is compiled
to bytecode (``compileall``), as an installed package has it: an environment with ``PYTHONDONTWRITEBYTECODE``
would otherwise compile every imported module in every run.

``--instructions`` counts the machine instructions of each run instead (``valgrind --tool=callgrind``, one process,
``PYTHONHASHSEED=0``; about 50 times slower than a normal run, so use a few hundred conversations): on a shared,
noisy machine CPU times of the same code spread by 10-30% between runs, while a count repeats to a fraction of a
percent, so it ranks small changes that CPU times cannot. It is a proxy: an instruction is not a fixed cost (cache
misses and branch mispredictions are not counted), and valgrind's emulated CPU hides the newest vector extensions,
so compression and numpy may take other code paths than in a normal run: the targets stay in CPU seconds. This
mode prints no ``conversations/s`` line.

With ``--engine ray`` the child starts a local Ray instance with ``--procs`` CPUs (startup is included in the wall
time and reported apart as ``ray start``). The last line is ``conversations/s: <median>`` of the last row.
"""

from __future__ import annotations

import argparse
import itertools
import json
import os
import re
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator

import benchinfo

CHILD = r"""
import json, os, resource, sys, time
t_start = time.perf_counter()
from generator.generation.pipeline import generate
try:
    from generator.generation.pipeline import GenerationRun
except ImportError:  # checkouts before the rename (e.g. 0d0c991)
    from generator.generation.pipeline import RunOptions as GenerationRun
from generator.generation.variants import get_variant
try:  # what the gen command does before generating (absent from older checkouts)
    from generator.dataset.writer import settle_pyarrow_without_pandas
except ImportError:
    pass
else:
    settle_pyarrow_without_pandas()

n, procs, turns, variants, engine, out = (int(sys.argv[1]), int(sys.argv[2]), int(sys.argv[3]), sys.argv[4],
                                          sys.argv[5], sys.argv[6])
configs = [get_variant(v).replace(turns=turns) for v in variants.split(",")]


def tree():
    # Every descendant of this process (Ray's daemons and workers, pool workers), from /proc.
    children = {}
    for pid in os.listdir("/proc"):
        if pid.isdigit():
            try:
                with open(f"/proc/{pid}/stat") as handle:
                    fields = handle.read().rsplit(")", 1)[1].split()
                children.setdefault(int(fields[1]), []).append(int(pid))
            except OSError:
                pass
    found, todo = [], [os.getpid()]
    while todo:
        for child in children.get(todo.pop(), []):
            found.append(child)
            todo.append(child)
    return found


def usage(pid):
    try:
        with open(f"/proc/{pid}/stat") as handle:
            fields = handle.read().rsplit(")", 1)[1].split()
        with open(f"/proc/{pid}/status") as handle:
            hwm = next(int(line.split()[1]) for line in handle if line.startswith("VmHWM"))
    except (OSError, StopIteration):
        return 0.0, 0
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK"), hwm


ray_start = 0.0
if engine == "ray":
    import ray
    t = time.perf_counter()
    ray.init(num_cpus=procs, include_dashboard=False, log_to_driver=False, configure_logging=False)
    ray_start = time.perf_counter() - t
start = time.perf_counter()
kwargs = {"engine": engine} if engine != "local" else {}
result = generate(out, configs, GenerationRun(seed=7, splits={"test": n}), num_proc=procs, quiet=True, **kwargs)
elapsed = time.perf_counter() - start
worker_cpu, worker_rss = 0.0, 0
if engine == "ray":
    for pid in tree():
        cpu, hwm = usage(pid)
        worker_cpu += cpu
        worker_rss = max(worker_rss, hwm)
    ray.shutdown()
self_usage = resource.getrusage(resource.RUSAGE_SELF)
children = resource.getrusage(resource.RUSAGE_CHILDREN)
cpu = self_usage.ru_utime + self_usage.ru_stime + children.ru_utime + children.ru_stime + worker_cpu
print(json.dumps({"seconds": elapsed, "total_seconds": time.perf_counter() - t_start, "ray_start": ray_start,
                  "cpu": cpu, "images": sum(s["images"] for s in result.stats.values()),
                  "rss_main_mb": self_usage.ru_maxrss / 1024,
                  "rss_worker_mb": max(children.ru_maxrss, worker_rss) / 1024}))
"""


def measure(n: int, procs: int, turns: int, variants: str, engine: str, code: str | None,
            instructions: bool = False) -> dict:
    env = dict(os.environ)
    if code:
        env["PYTHONPATH"] = code + (os.pathsep + env["PYTHONPATH"] if env.get("PYTHONPATH") else "")
    env.setdefault("RAY_AUTH_MODE", "disabled")
    prefix: list[str] = []
    if instructions:
        env["PYTHONHASHSEED"] = "0"  # the same set and dict orders in every run, so the same work
        prefix = ["valgrind", "--tool=callgrind", "--callgrind-out-file=/dev/null"]
    with tempfile.TemporaryDirectory(prefix="bench-gen-") as tmp:
        proc = subprocess.run([*prefix, sys.executable, "-c", CHILD, str(n), str(procs), str(turns), variants, engine,
                               f"{tmp}/out"], capture_output=True, text=True, check=False, env=env, cwd=tmp)
        if proc.returncode != 0:
            raise SystemExit(f"benchmark run failed:\n{proc.stderr[-3000:]}")
        result = json.loads(proc.stdout.strip().splitlines()[-1])
        if instructions:
            counted = re.search(r"Collected\s*:\s*(\d+)", proc.stderr)
            if counted is None:
                raise SystemExit(f"valgrind printed no instruction count:\n{proc.stderr[-3000:]}")
            result["instructions"] = int(counted.group(1))
        return result


def compile_package(code: str | None) -> None:
    """Write the bytecode of the ``generator`` package the runs of ``code`` import (see the module docstring)."""
    env = dict(os.environ)
    if code:
        env["PYTHONPATH"] = code + (os.pathsep + env["PYTHONPATH"] if env.get("PYTHONPATH") else "")
    folder = subprocess.run([sys.executable, "-c", "import generator, os; print(os.path.dirname(generator.__file__))"],
                            env=env, cwd=tempfile.gettempdir(), check=True, capture_output=True,
                            text=True).stdout.strip()
    subprocess.run([sys.executable, "-m", "compileall", "-q", folder], check=True, stdout=subprocess.DEVNULL)


def checkouts(values: list[str]) -> list[tuple[str, str | None]]:
    """``LABEL=DIR`` pairs (a bare ``DIR`` is its own label); this checkout when none is given."""
    if not values:
        return [(benchinfo.commit(), None)]
    out: list[tuple[str, str | None]] = []
    for value in values:
        label, _, folder = value.rpartition("=")
        folder = os.path.abspath(folder)
        out.append((label or folder, folder))
    return out


def alternating(codes: list[tuple[str, str | None]], repeats: int) -> Iterator[tuple[str, str | None]]:
    """Every checkout once per repeat, the first of each repeat moving round (so drift hits all of them alike)."""
    for repeat in range(repeats):
        shift = repeat % len(codes)
        yield from codes[shift:] + codes[:shift]


def count_instructions(args: argparse.Namespace, sizes: list[int], codes: list[tuple[str, str | None]],
                       configs: int) -> None:
    """The instruction-count table: min / median / max over the repeats, and each checkout against the first."""
    print("| convs | checkout | instructions (G) | instructions per conversation (M, median, start-up included) | "
          "instructions vs first |")
    print("|---|---|---|---|---|")
    for n in sizes:
        counts: dict[str, list[float]] = {label: [] for label, _ in codes}
        for label, folder in alternating(codes, args.repeats):
            result = measure(n, 1, args.turns, args.variant, "local", folder, instructions=True)
            counts[label].append(result["instructions"] / 1e9)
        first = statistics.median(counts[codes[0][0]])
        for label, _ in codes:
            median = statistics.median(counts[label])
            print(f"| {n} | {label} | {benchinfo.spread(counts[label], 3)} | {median * 1e3 / (n * configs):.2f} | "
                  f"{median / first:.3f} |", flush=True)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", default="1000", help="comma-separated conversation counts (per config)")
    parser.add_argument("--procs", default="1,2", help="comma-separated process / Ray worker counts")
    parser.add_argument("--engine", default="local", help="comma-separated engines: local, ray")
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--turns", type=int, default=20)
    parser.add_argument("--variant", default="mmmt-if", help="comma-separated presets generated together")
    parser.add_argument("--code", action="append", default=[], metavar="LABEL=DIR",
                        help="checkout whose generator package to measure (repeatable: compared in one run)")
    parser.add_argument("--instructions", action="store_true",
                        help="count machine instructions under valgrind instead of timing (one process, local)")
    args = parser.parse_args()
    sizes = [int(x) for x in args.sizes.split(",")]
    procs = [int(x) for x in args.procs.split(",")]
    engines = args.engine.split(",")
    configs = len(args.variant.split(","))
    codes = checkouts(args.code)
    if args.instructions:
        if shutil.which("valgrind") is None:
            raise SystemExit("--instructions needs valgrind on PATH")
        if args.procs != parser.get_default("procs") or args.engine != "local":
            raise SystemExit("--instructions counts one local process: leave out --procs and --engine")
    for _, folder in codes:
        compile_package(folder)
    started_cpu, started_wall = benchinfo.script_cpu(), time.perf_counter()
    benchinfo.header(f"generation of {args.variant}, {args.turns} turns, {args.repeats} fresh processes per "
                     f"checkout and size (min / median / max); conv/s counts rows of every config; CPU s is the "
                     f"whole process tree's")
    for label, folder in codes:
        if folder:
            print(f"checkout {label}: commit {benchinfo.commit(folder)}")
    if args.instructions:
        count_instructions(args, sizes, codes, configs)
        benchinfo.footer(benchinfo.script_cpu() - started_cpu, time.perf_counter() - started_wall)
        return
    print("| convs | engine | procs | checkout | wall s | conv/s (wall) | CPU s | conv per CPU s (median) | "
          "total s (median) | RSS main MB | RSS worker MB | speed-up vs first (CPU) |")
    print("|---|---|---|---|---|---|---|---|---|---|---|---|")
    last = 0.0
    for n, engine, p in itertools.product(sizes, engines, procs):
        runs: dict[str, list[dict]] = {label: [] for label, _ in codes}
        for label, folder in alternating(codes, args.repeats):
            runs[label].append(measure(n, p, args.turns, args.variant, engine, folder))
        first_cpu = statistics.median(r["cpu"] for r in runs[codes[0][0]])
        for label, _ in codes:
            done = runs[label]
            walls = [r["seconds"] for r in done]
            cpus = [r["cpu"] for r in done]
            rates = [n * configs / w for w in walls]
            cpu = statistics.median(cpus)
            extra = f" (ray start {statistics.median(r['ray_start'] for r in done):.1f}s)" if engine == "ray" else ""
            print(f"| {n} | {engine} | {p} | {label} | {benchinfo.spread(walls)} | {benchinfo.spread(rates, 1)} | "
                  f"{benchinfo.spread(cpus)} | {n * configs / cpu:.1f} | "
                  f"{statistics.median(r['total_seconds'] for r in done):.2f} | "
                  f"{max(r['rss_main_mb'] for r in done):.0f} | {max(r['rss_worker_mb'] for r in done):.0f} | "
                  f"{first_cpu / cpu:.2f}x{extra} |", flush=True)
            last = statistics.median(rates)
    benchinfo.footer(benchinfo.script_cpu() - started_cpu, time.perf_counter() - started_wall)
    print(f"conversations/s: {last:.1f}")


if __name__ == "__main__":
    start = time.perf_counter()
    main()
    print(f"benchmark wall time: {time.perf_counter() - start:.0f}s", file=sys.stderr)
