"""Benchmark generation: conversations/s, images/s and peak memory, by dataset size and process count.

Each measurement runs in a fresh Python process (so peak RSS is that run's own), generating the `mmmt-if` config
with 20 turns into a temporary folder that is removed afterwards. Peak RSS is reported for the main process
(planning in-process with 1 worker, plus the streaming parquet writer) and for the largest worker.

    python scripts/bench_generate.py                       # 1,000 and 10,000 conversations on 1 and 2 processes
    python scripts/bench_generate.py --sizes 1000 --procs 1,2

The last line is ``conversations/s: <x>`` for the largest size on the most processes.
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import tempfile
import time

CHILD = r"""
import json, resource, sys, time
from generator.generation.pipeline import RunOptions, generate
from generator.generation.variants import get_variant

n, procs, turns, variant, out = int(sys.argv[1]), int(sys.argv[2]), int(sys.argv[3]), sys.argv[4], sys.argv[5]
cfg = get_variant(variant).replace(turns=turns)
start = time.perf_counter()
result = generate(out, [cfg], RunOptions(seed=7, splits={"test": n}), num_proc=procs, quiet=True)
elapsed = time.perf_counter() - start
images = result.stats[cfg.name]["images"]
print(json.dumps({"seconds": elapsed, "images": images,
                  "rss_main_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024,
                  "rss_worker_mb": resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024}))
"""


def measure(n: int, procs: int, turns: int, variant: str) -> dict:
    with tempfile.TemporaryDirectory(prefix="bench-gen-") as tmp:
        proc = subprocess.run([sys.executable, "-c", CHILD, str(n), str(procs), str(turns), variant, f"{tmp}/out"],
                              capture_output=True, text=True, check=False)
        if proc.returncode != 0:
            raise SystemExit(f"benchmark run failed:\n{proc.stderr}")
        data = json.loads(proc.stdout.strip().splitlines()[-1])
    data.update(conversations=n, procs=procs, conv_per_s=n / data["seconds"], img_per_s=data["images"] / data["seconds"])
    return data


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", default="1000,10000", help="comma-separated conversation counts")
    parser.add_argument("--procs", default="1,2", help="comma-separated process counts")
    parser.add_argument("--turns", type=int, default=20)
    parser.add_argument("--variant", default="mmmt-if")
    args = parser.parse_args()
    sizes = [int(x) for x in args.sizes.split(",")]
    procs = [int(x) for x in args.procs.split(",")]

    print(f"{'convs':>7} {'procs':>5} {'seconds':>8} {'conv/s':>8} {'images/s':>9} {'RSS main MB':>11} "
          f"{'RSS worker MB':>13}")
    last = None
    for n in sizes:
        for p in procs:
            t0 = time.perf_counter()
            r = measure(n, p, args.turns, args.variant)
            last = r
            print(f"{n:>7} {p:>5} {r['seconds']:>8.1f} {r['conv_per_s']:>8.1f} {r['img_per_s']:>9.1f} "
                  f"{r['rss_main_mb']:>11.0f} {r['rss_worker_mb']:>13.0f}   (wall {time.perf_counter() - t0:.1f}s)",
                  flush=True)
    assert last is not None
    print(f"conversations/s: {last['conv_per_s']:.1f}")


if __name__ == "__main__":
    main()
