"""Benchmark generation: conversations/s, CPU time and peak memory, by size, engine and number of workers.

Each measurement runs in a fresh Python process (so imports and peak RSS are that run's own) and is repeated;
min / median / max are printed for wall time and conversations/s, with the CPU time of the whole process tree
(driver, pool workers, Ray's workers and daemons). Peak RSS is reported for the driver and for the largest worker
(from ``VmHWM`` of every process of the tree, read before it exits).

    python scripts/bench_generate.py                                  # mmmt-if, 1,000 conversations, local, 1 and 2
    python scripts/bench_generate.py --engine local,ray --procs 1,2   # Ray with 1 and 2 workers vs local
    python scripts/bench_generate.py --variant mmmt-if,appended --sizes 500 --turns 20   # the default command
    python scripts/bench_generate.py --code /path/to/other/checkout   # the same measurement of another commit

With ``--engine ray`` the child starts a local Ray instance with ``--procs`` CPUs (startup is included in the wall
time and reported apart as ``ray start``). The last line is ``conversations/s: <median>`` of the last row.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time

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


def measure(n: int, procs: int, turns: int, variants: str, engine: str, code: str | None) -> dict:
    env = dict(os.environ)
    if code:
        env["PYTHONPATH"] = code + (os.pathsep + env["PYTHONPATH"] if env.get("PYTHONPATH") else "")
    env.setdefault("RAY_AUTH_MODE", "disabled")
    with tempfile.TemporaryDirectory(prefix="bench-gen-") as tmp:
        proc = subprocess.run([sys.executable, "-c", CHILD, str(n), str(procs), str(turns), variants, engine,
                               f"{tmp}/out"], capture_output=True, text=True, check=False, env=env, cwd=tmp)
        if proc.returncode != 0:
            raise SystemExit(f"benchmark run failed:\n{proc.stderr[-3000:]}")
        return json.loads(proc.stdout.strip().splitlines()[-1])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", default="1000", help="comma-separated conversation counts (per config)")
    parser.add_argument("--procs", default="1,2", help="comma-separated process / Ray worker counts")
    parser.add_argument("--engine", default="local", help="comma-separated engines: local, ray")
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--turns", type=int, default=20)
    parser.add_argument("--variant", default="mmmt-if", help="comma-separated presets generated together")
    parser.add_argument("--code", default=None, help="checkout whose generator package to measure (PYTHONPATH)")
    args = parser.parse_args()
    sizes = [int(x) for x in args.sizes.split(",")]
    procs = [int(x) for x in args.procs.split(",")]
    engines = args.engine.split(",")
    configs = len(args.variant.split(","))

    print(f"variant {args.variant}, {args.turns} turns, {args.repeats} repeats; conv/s counts rows of every config")
    print(f"{'convs':>7} {'engine':>6} {'procs':>5} {'wall s min/med/max':>20} {'conv/s min/med/max':>20} "
          f"{'CPU s med':>9} {'total s':>8} {'RSS main MB':>11} {'RSS worker MB':>13}")
    last = 0.0
    for n in sizes:
        for engine in engines:
            for p in procs:
                runs = [measure(n, p, args.turns, args.variant, engine, args.code) for _ in range(args.repeats)]
                walls = sorted(r["seconds"] for r in runs)
                rates = sorted(n * configs / w for w in walls)
                cpu = statistics.median(r["cpu"] for r in runs)
                total = statistics.median(r["total_seconds"] for r in runs)
                extra = f"  (ray start {statistics.median(r['ray_start'] for r in runs):.1f}s)" if engine == "ray" else ""
                print(f"{n:>7} {engine:>6} {p:>5} {walls[0]:>6.2f}/{statistics.median(walls):>6.2f}/{walls[-1]:>6.2f} "
                      f"{rates[0]:>6.1f}/{statistics.median(rates):>6.1f}/{rates[-1]:>6.1f} {cpu:>9.2f} {total:>8.2f} "
                      f"{max(r['rss_main_mb'] for r in runs):>11.0f} {max(r['rss_worker_mb'] for r in runs):>13.0f}"
                      f"{extra}", flush=True)
                last = statistics.median(rates)
    print(f"conversations/s: {last:.1f}")


if __name__ == "__main__":
    start = time.perf_counter()
    main()
    print(f"benchmark wall time: {time.perf_counter() - start:.0f}s", file=sys.stderr)
