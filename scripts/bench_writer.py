"""Throughput and peak memory of the dataset writer (validation + encoding + parquet), apart from generation.

Rows are synthetic but shaped like real ones: 20 turns, up to 6 active instructions, N images of about 10 KB each
(distinct bytes, so parquet cannot deduplicate them; each run draws its own rows from its own seed). Every run is a
fresh process, so peak RSS is per run; the parent reads the child's CPU time and peak RSS from ``wait4`` and
prints min / median / max over ``--repeats`` for each size, with the commit and the load average:

    python scripts/bench_writer.py --rows 1000,5000 [--repeats 3] [--no-validate]

The child also reports the CPU and wall seconds of ``write_dataset`` alone (rows are synthesised lazily inside it,
so that includes drawing the rows) and, afterwards, the CPU seconds of synthesising as many rows without writing.
"""

from __future__ import annotations

import argparse
import json
import os
import random
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import benchinfo

WORDINGS = ["Start every sentence with the letter (S).", "End every sentence with a question mark (?).",
            "Include at least one even number in the range bigger than 5 in each of your responses.",
            "Use the word 'per se' at least once in all future responses.",
            "Make all the following responses no more than 4 sentences.",
            "Only use responses to question where each sentence in the response is at most 18 words in all future "
            "responses."]
IDS = ["start:letter", "end:punctuation", "number:even", "keyword:per_se", "sentences:max", "words:max"]


def make_row(index: int, n_images: int, rng: random.Random) -> dict:
    turns, active = [], []
    for number in range(1, 21):
        new = []
        if len(active) < 6 and rng.random() < 0.4:
            k = len(active)
            item = {"id": IDS[k], "kwargs": json.dumps({"k": k}), "wording": WORDINGS[k]}
            new = [{**item, "action": "add"}]
            active.append({**item, "given_at": number})
        question = f"How many objects are in Image{rng.randint(1, n_images)}? Explain briefly."
        prefix = f"Instruction: {new[0]['wording']} " if new else ""
        turns.append({"turn": number, "question": question, "prompt": prefix + question,
                      "new_instructions": new, "active_instructions": [dict(a) for a in active],
                      "distractors": [], "reference_answer": str(rng.randint(0, 20)), "answer_type": "number",
                      "image_indices": [0]})
    return {"id": f"bench-{index:06d}", "config": "mmmt-if", "source": "bench", "system_prompt": "",
            "images": [rng.randbytes(10_000) for _ in range(n_images)],
            "image_meta": [{"name": f"Image{k + 1}", "source": "bench", "license": "CC0-1.0", "attribution": "",
                            "spec": "{}"} for k in range(n_images)],
            "turns": turns}


def child(rows: int, images: int, validate: bool, seed: int) -> None:
    """One measured write; prints a JSON object of its own timings and the parquet size."""
    import generator.dataset.bundle
    from generator.dataset.writer import write_dataset

    generator.dataset.bundle.build_scoring_script = lambda: "# scorer left out of the writer benchmark\n"

    rng = random.Random(seed)
    tmp = Path(tempfile.mkdtemp(prefix="bench-writer-"))
    try:
        cpu, wall = time.process_time(), time.perf_counter()
        write_dataset(tmp / "mmmt-if", {"mmmt-if": {"test": (make_row(i, images, rng) for i in range(rows))}},
                      quiet=True, validate=validate)
        cpu, wall = time.process_time() - cpu, time.perf_counter() - wall
        size = sum(p.stat().st_size for p in (tmp / "mmmt-if").rglob("*.parquet"))
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    rng = random.Random(seed + 1_000_000)
    synth = time.process_time()
    for i in range(rows):
        make_row(i, images, rng)
    synth = time.process_time() - synth
    print(json.dumps({"write_cpu": cpu, "write_wall": wall, "synth_cpu": synth, "bytes": size}))


def run_child(rows: int, images: int, validate: bool, seed: int) -> dict:
    """Run one write in a fresh process; add its wall time, CPU time and peak RSS (MiB) as seen by ``wait4``."""
    command = [sys.executable, __file__, "--child", "--rows", str(rows), "--images", str(images),
               "--seed", str(seed)] + ([] if validate else ["--no-validate"])
    start = time.perf_counter()
    proc = subprocess.Popen(command, stdout=subprocess.PIPE)
    assert proc.stdout is not None
    out = proc.stdout.read()
    proc.stdout.close()
    _, status, usage = os.wait4(proc.pid, 0)
    wall = time.perf_counter() - start
    if os.waitstatus_to_exitcode(status) != 0:
        raise SystemExit(f"the writer run failed: {' '.join(command)}")
    result = json.loads(out)
    result.update(wall=wall, cpu=usage.ru_utime + usage.ru_stime, rss=usage.ru_maxrss / 1024)
    return result


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", default="1000", help="comma-separated sizes")
    parser.add_argument("--images", type=int, default=4)
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--seed", type=int, default=7, help="the first run's seed; run k uses seed + k")
    parser.add_argument("--no-validate", action="store_true")
    parser.add_argument("--child", action="store_true", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        child(int(args.rows), args.images, not args.no_validate, args.seed)
        return

    # The environment may forbid writing bytecode; compile once so that no run pays for compiling the package.
    subprocess.run([sys.executable, "-m", "compileall", "-q", str(benchinfo.ROOT / "generator")], check=True,
                   stdout=subprocess.DEVNULL)
    started, started_cpu = time.perf_counter(), benchinfo.script_cpu()
    benchinfo.header(f"dataset writer, {args.images} images/row, validate: {not args.no_validate}, "
                     f"{args.repeats} fresh processes per size (min / median / max)")
    print("| rows | process wall s | process CPU s | write wall s | write CPU s | synthesis CPU s | "
          "parquet MB | rows/s (median write wall) | rows/s (median write CPU) | peak RSS MiB |")
    print("|---|---|---|---|---|---|---|---|---|---|")
    seed = args.seed
    for rows in (int(size) for size in args.rows.split(",")):
        runs = []
        for _ in range(args.repeats):
            runs.append(run_child(rows, args.images, not args.no_validate, seed))
            seed += 1
        column = {key: benchinfo.spread([run[key] for run in runs]) for key in runs[0]}
        write_wall = statistics.median(run["write_wall"] for run in runs)
        write_cpu = statistics.median(run["write_cpu"] for run in runs)
        print(f"| {rows:,} | {column['wall']} | {column['cpu']} | {column['write_wall']} | {column['write_cpu']} | "
              f"{column['synth_cpu']} | {statistics.median(run['bytes'] for run in runs) / 1e6:.0f} | "
              f"{rows / write_wall:,.0f} | {rows / write_cpu:,.0f} | {benchinfo.spread([run['rss'] for run in runs], 0)} |")
    benchinfo.footer(benchinfo.script_cpu() - started_cpu, time.perf_counter() - started)


if __name__ == "__main__":
    main()
