"""Benchmark planning with the per-turn proof: CPU milliseconds per conversation (plan, question placement and the
fluent reference text of every turn, written and checked), no rendering.

    python scripts/bench_plan.py [--variant mmmt-if] [--conversations 200] [--repeats 3]
"""

from __future__ import annotations

import argparse
import statistics
import time


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--variant", default="mmmt-if")
    parser.add_argument("--conversations", type=int, default=200)
    parser.add_argument("--repeats", type=int, default=3)
    args = parser.parse_args()

    from generator.generation.pipeline import GenerationRun, _source
    from generator.generation.plan import _compatible_keys, plan_conversation
    from generator.generation.variants import get_variant

    cfg = get_variant(args.variant)
    source = _source(GenerationRun(seed=7))
    runs = []
    for _ in range(args.repeats):
        _compatible_keys.cache_clear()
        start = time.process_time()
        for index in range(args.conversations):
            plan_conversation(cfg, seed=7, split="test", index=index, source=source)
        runs.append((time.process_time() - start) / args.conversations * 1000)
    print(f"{args.variant}: {args.conversations} conversations x {args.repeats}; CPU ms per conversation "
          f"min {min(runs):.1f} median {statistics.median(runs):.1f} max {max(runs):.1f}")


if __name__ == "__main__":
    main()
