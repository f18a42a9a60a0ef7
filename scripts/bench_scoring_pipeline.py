"""End-to-end cost of ``mmmtif score``: wall time, CPU time and peak memory of the whole command, in its own process.

Responses are distinct and imperfect: the oracle's witness text of each turn (which obeys every active instruction)
is edited per (conversation, turn, sample) by seeded random edits (a preamble line, a sign-off, a change of case, a
dropped word, markdown emphasis, extra sentences...), so caches are not always hot, most responses fail something
and loose mode has to try its relaxed readings. Each measurement runs the scorer (single-threaded) in a fresh
process, ``--repeats`` times, and reports min / median / max of wall time, CPU time and peak RSS, with the load
average, since wall time on a shared machine includes waiting for the neighbours.

    mmmtif gen --variant mmmt-if --seed 7 --conversations 1250 --out ds1250
    python scripts/bench_scoring_pipeline.py --dataset ds1250 --samples 4 --sizes 20,10000,100000 [--mode loose]
    python scripts/bench_scoring_pipeline.py ... --python OTHER_VENV/bin/python   # another checkout, same inputs

``--sizes`` takes the first N responses of the full set (whole turns, dataset order) and scores them with
``--allow-partial`` when N is not the whole set; the largest size must not exceed conversations x turns x samples.

Before timing, the timed interpreter's ``generator`` package is compiled to bytecode (``compileall``), as an
installed package is: in an environment with ``PYTHONDONTWRITEBYTECODE=1`` and an editable install, every run
would otherwise compile each module it imports (about 0.06-0.09 s of CPU). ``--no-compile`` skips that.
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
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

import benchinfo  # noqa: E402

from generator.common.rng import derive_rng  # noqa: E402

FILLER = ["The picture is clear.", "I looked at every detail of the image carefully.", "Hope this helps!",
          "Let me know if you need more.", "It is hard to be certain, but this seems right.",
          "The colours are bright and the labels are readable.", "Overall the data is consistent."]
PREAMBLES = ["Sure, here is my answer:", "Of course!", "Here you go:", "Answer:"]

#: Runs the scorer's CLI entry point and reports nothing else (the parent measures the process).
_SCORE = "import sys; from generator.cli import main; sys.argv[0] = 'mmmtif'; main()"


def imperfect(text: str, key: tuple[object, ...], seed: int) -> str:
    """Zero to three seeded edits of a witness text; most of them break some instruction."""
    rng = derive_rng(seed, "bench", "imperfect", *key)
    for edit in rng.sample(range(8), k=rng.randint(0, 3)):
        if edit == 0:
            text = f"{rng.choice(PREAMBLES)}\n{text}"
        elif edit == 1:
            text = f"{text}\n\n{rng.choice(FILLER)}"
        elif edit == 2:
            text = text.upper() if rng.random() < 0.5 else text.lower()
        elif edit == 3:
            words = text.split(" ")
            if len(words) > 3:
                del words[rng.randrange(1, len(words))]
                text = " ".join(words)
        elif edit == 4:
            text = text.replace(".", "!", 1)
        elif edit == 5:
            text = f"**{text}**"
        elif edit == 6:
            text = text + " " + " ".join(rng.choice(FILLER) for _ in range(rng.randint(1, 3)))
        else:
            text = text.replace(",", "", 1) + f" ({rng.randint(0, 99)})"
    return text


def make_responses(dataset: str, samples: int, seed: int, folder: Path) -> list[str]:
    """Every (conversation, turn, sample) of the dataset's default config as JSON lines, in dataset order."""
    from generator.authoring.oracle import oracle_responses
    from generator.scoring import load_rows

    lines = []
    for record in oracle_responses(load_rows(dataset), samples=1):
        for sample in range(samples):
            key = (record["id"], record["turn"], sample)
            lines.append(json.dumps({"id": record["id"], "turn": record["turn"], "sample": sample,
                                     "response": imperfect(record["response"], key, seed)}, ensure_ascii=False))
    return lines


def measure(python: str, args: list[str], cwd: str) -> tuple[float, float, float]:
    """(wall s, CPU s of the child, peak RSS MiB of the child) of one scorer process.

    The scorer is single-threaded, so its CPU time is one core's work. It is not pinned to a core: on a shared
    machine a fixed core may be the busy one, and wall time would then measure the neighbours. ``cwd`` is a
    neutral folder, so that ``python -c`` imports the interpreter's installed ``generator``, not this checkout's.
    """
    start = time.perf_counter()
    proc = subprocess.Popen([python, "-c", _SCORE, *args], cwd=cwd, stdout=subprocess.DEVNULL,
                            stderr=subprocess.PIPE)
    _, status, usage = os.wait4(proc.pid, 0)
    wall = time.perf_counter() - start
    assert proc.stderr is not None
    error = proc.stderr.read().decode()
    proc.stderr.close()
    proc.returncode = os.waitstatus_to_exitcode(status)
    if proc.returncode != 0:
        raise SystemExit(f"scorer failed ({proc.returncode}): {error.strip()[:500]}")
    return wall, usage.ru_utime + usage.ru_stime, usage.ru_maxrss / 1024


def compile_package(python: str, cwd: str) -> str:
    """Write the bytecode of the ``generator`` package that ``python`` imports; returns the package folder."""
    folder = subprocess.run([python, "-c", "import generator, os; print(os.path.dirname(generator.__file__))"],
                            cwd=cwd, check=True, capture_output=True, text=True).stdout.strip()
    subprocess.run([python, "-m", "compileall", "-q", folder], cwd=cwd, check=True, stdout=subprocess.DEVNULL)
    return folder


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--dataset", required=True, help="dataset folder (its default config is scored)")
    parser.add_argument("--samples", type=int, default=4)
    parser.add_argument("--sizes", default="20,10000,100000", help="numbers of responses to score")
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--mode", choices=["strict", "loose"], default="strict")
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument("--python", default=sys.executable, help="interpreter whose `generator` package is timed")
    parser.add_argument("--make-responses", default=None, help=argparse.SUPPRESS)  # internal: write and exit
    parser.add_argument("--no-compile", action="store_true",
                        help="do not compile the timed package to bytecode first (see above)")
    parser.add_argument("--old-cli", action="store_true",
                        help="the timed scorer predates --allow-partial (a checkout before it was added)")
    args = parser.parse_args(argv)

    args.dataset = str(Path(args.dataset).resolve())
    if args.make_responses:
        lines = make_responses(args.dataset, args.samples, args.seed, Path(args.make_responses).parent)
        Path(args.make_responses).write_text("".join(line + "\n" for line in lines), encoding="utf-8")
        return 0
    with tempfile.TemporaryDirectory(prefix="bench_score_") as tmp:
        # Made in a child process: a scorer forked from a parent that holds the dataset would report the
        # parent's memory as its own peak RSS.
        subprocess.run([sys.executable, __file__, "--dataset", args.dataset, "--samples", str(args.samples),
                        "--seed", str(args.seed), "--make-responses", str(Path(tmp, "all.jsonl"))], check=True)
        lines = Path(tmp, "all.jsonl").read_text(encoding="utf-8").splitlines()
        compiled = "not compiled" if args.no_compile else f"bytecode compiled in {compile_package(args.python, tmp)}"
        print(f"# mmmtif score end to end, {args.mode}, {args.repeats} runs per size (min / median / max); "
              f"interpreter: {args.python} ({compiled}); load average {os.getloadavg()[0]:.1f}")
        print(f"dataset: {args.dataset}, {len(lines)} responses available ({args.samples} samples per turn)")
        print()
        print("| responses | wall s | CPU s | responses/s (median wall) | responses/s (median CPU) | peak RSS MiB |")
        print("|---|---|---|---|---|---|")
        for size in (int(s) for s in args.sizes.split(",")):
            if size > len(lines):
                raise SystemExit(f"--sizes {size}: the dataset gives only {len(lines)} responses")
            path = Path(tmp, f"responses-{size}.jsonl")
            path.write_text("".join(line + "\n" for line in lines[:size]), encoding="utf-8")
            command = ["score", "--dataset", args.dataset, "--responses", str(path), "--out",
                       str(Path(tmp, "report.json")), "--mode", args.mode, "--quiet"]
            if size < len(lines) and not args.old_cli:
                command.append("--allow-partial")
            runs = [measure(args.python, command, tmp) for _ in range(args.repeats)]
            walls, cpus, rss = [r[0] for r in runs], [r[1] for r in runs], [r[2] for r in runs]
            print(f"| {size:,} | {benchinfo.spread(walls)} | {benchinfo.spread(cpus)} | "
                  f"{size / statistics.median(walls):,.0f} | "
                  f"{size / statistics.median(cpus):,.0f} | {benchinfo.spread(rss, 0)} |")
        print(f"\nload average at the end: {os.getloadavg()[0]:.1f}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
