"""Checker throughput per instruction type, strict and loose, on one core.

Usage: ``python scripts/bench_checkers.py [--responses 400] [--repeat 3]``.

Responses are witness texts of random compatible instruction sets (1-8 instructions plus a response length of
60-300 words) so that both passing and failing paths run: every type is checked against every response.
Prints checks per second per type (cold caches) and overall (all types on each response); the last line is ``checks/s strict: <x>``.
"""

from __future__ import annotations

import argparse
import time

from generator.authoring import compatible, compose_witness
from generator.common.rng import derive_rng
from generator.core import text as textmod
from generator.core.instructions import Instruction, all_types, check


def _responses(count: int) -> list[str]:
    out: list[str] = []
    kinds = all_types()
    for index in range(count):
        rng = derive_rng(0, "bench", "checkers", index)
        active: list[Instruction] = [Instruction("length:words", {"relation": "at_least", "n": rng.randint(60, 300)})]
        order = list(kinds)
        rng.shuffle(order)
        for kind in order[: rng.randint(1, 8) * 2]:
            candidate = Instruction(kind.id, kind.sample_kwargs(rng))
            if compatible([*active, candidate]):
                active.append(candidate)
        out.append(compose_witness(active, answer="the red bus near Image2"))
    return out


def _clear_caches() -> None:
    textmod.clear_caches()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--responses", type=int, default=400)
    parser.add_argument("--repeat", type=int, default=3)
    args = parser.parse_args()
    responses = _responses(args.responses)
    words = sum(textmod.word_count(r) for r in responses) / len(responses)
    print(f"{len(responses)} responses, {words:.0f} words on average")
    instances = [Instruction(k.id, k.sample_kwargs(derive_rng(0, "bench", k.id))) for k in all_types()]
    totals = {}
    for mode in ("strict", "loose"):
        started = time.perf_counter()
        for _ in range(args.repeat):
            for response in responses:
                _clear_caches()  # each response is new; its checks share the per-text caches, as in scoring
                for inst in instances:
                    check(inst, response, mode=mode)
        elapsed = time.perf_counter() - started
        totals[mode] = args.repeat * len(instances) * len(responses) / elapsed
    per_type = []
    for inst in instances:
        started = time.perf_counter()
        for response in responses:
            _clear_caches()  # cold: the type pays for splitting the text itself
            check(inst, response)
        per_type.append((len(responses) / (time.perf_counter() - started), inst.id))
    for rate, type_id in sorted(per_type):
        print(f"  {type_id:<28} {rate:>10,.0f} checks/s")
    print(f"checks/s loose: {totals['loose']:,.0f}")
    print(f"checks/s strict: {totals['strict']:,.0f}")


if __name__ == "__main__":
    main()
