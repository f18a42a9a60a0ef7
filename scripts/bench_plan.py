"""Benchmark planning with the per-turn proof: CPU milliseconds per conversation (plan, question placement and the
fluent reference text of every turn, written and checked), no rendering.

    python scripts/bench_plan.py [--variant mmmt-if] [--conversations 200] [--repeats 3]

Each repeat plans conversations of its own (indices after the previous repeat's) with the planner's compatibility
cache emptied first (five other conversations
are planned untimed before, for the per-process set-up), and is timed by CPU time of this process and by wall time; prints min / median / max per
conversation with the commit and the load average.
"""

from __future__ import annotations

import argparse
import time

import benchinfo


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--variant", default="mmmt-if")
    parser.add_argument("--conversations", type=int, default=200)
    parser.add_argument("--repeats", type=int, default=3)
    args = parser.parse_args()

    from generator.generation.pipeline import GenerationRun, _source
    from generator.generation.plan import _compatible_keys, plan_conversation
    from generator.generation.variants import get_variant

    started, started_cpu = time.perf_counter(), benchinfo.script_cpu()
    benchinfo.header(f"planning {args.variant}, seed 7, {args.conversations} conversations x {args.repeats} repeats "
                     "(min / median / max)")
    cfg = get_variant(args.variant)
    source = _source(GenerationRun(seed=7))
    for index in range(args.repeats * args.conversations, args.repeats * args.conversations + 5):
        plan_conversation(cfg, seed=7, split="test", index=index, source=source)  # per-process set-up, untimed
    cpus, walls = [], []
    for repeat in range(args.repeats):
        _compatible_keys.cache_clear()
        first = repeat * args.conversations

        def plan(first: int = first) -> None:
            for index in range(first, first + args.conversations):
                plan_conversation(cfg, seed=7, split="test", index=index, source=source)

        cpu, wall = benchinfo.timed(plan)
        cpus.append(cpu / args.conversations * 1000)
        walls.append(wall / args.conversations * 1000)
    print(f"{args.variant}: CPU ms per conversation {benchinfo.spread(cpus, 1)}; "
          f"wall ms per conversation {benchinfo.spread(walls, 1)}")
    benchinfo.footer(benchinfo.script_cpu() - started_cpu, time.perf_counter() - started)


if __name__ == "__main__":
    main()
