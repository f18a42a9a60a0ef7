"""Checker throughput per instruction type, strict and loose, on one core.

Usage: ``python scripts/bench_checkers.py [--responses 400] [--repeats 3]``.

Responses are witness texts of random compatible instruction sets (1-8 instructions plus a response length of
60-300 words) so that both passing and failing paths run: every type is checked against every response.
Prints checks per second per type (cold caches) and overall (all types on each response), by CPU time of this
process and by wall time, min / median / max over the repeats, with the commit and the load average. Every timed
pass (each mode of each repeat, and the per-type pass of each repeat) checks its own responses, drawn before
timing, so no response is checked twice.
"""

from __future__ import annotations

import argparse
import itertools
import statistics
import time

import benchinfo

from generator.authoring import compatible, compose_witness
from generator.common.rng import derive_rng
from generator.core import text as textmod
from generator.core.instructions import Instruction, all_types, check


def _responses(count: int, first: int = 0) -> list[str]:
    out: list[str] = []
    kinds = all_types()
    for index in range(first, first + count):
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


def _rate(checks: int, seconds: list[float]) -> str:
    return benchinfo.spread([checks / second for second in seconds], 0)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--responses", type=int, default=400, help="responses per timed pass")
    parser.add_argument("--repeats", type=int, default=3)
    args = parser.parse_args()
    started, started_cpu = time.perf_counter(), benchinfo.script_cpu()
    benchinfo.header(f"checkers, one process; {args.responses} responses per pass, {args.repeats} repeats "
                     "(min / median / max)")
    batches = itertools.count()

    def fresh() -> list[str]:
        return _responses(args.responses, next(batches) * args.responses)

    instances = [Instruction(k.id, k.sample_kwargs(derive_rng(0, "bench", k.id))) for k in all_types()]
    overall: dict[str, list[tuple[float, float]]] = {"strict": [], "loose": []}
    per_type: dict[str, list[tuple[float, float]]] = {inst.id: [] for inst in instances}
    words = []
    for _ in range(args.repeats):
        for mode, runs in overall.items():
            responses = fresh()
            words.extend(textmod.word_count(r) for r in responses)

            def every_type(responses: list[str] = responses, mode: str = mode) -> None:
                for response in responses:
                    _clear_caches()  # each response is new; its checks share the per-text caches, as in scoring
                    for inst in instances:
                        check(inst, response, mode=mode)

            runs.append(benchinfo.timed(every_type))
        responses = fresh()
        for inst in instances:

            def one_type(responses: list[str] = responses, inst: Instruction = inst) -> None:
                for response in responses:
                    _clear_caches()  # cold: the type pays for splitting the text itself
                    check(inst, response)

            per_type[inst.id].append(benchinfo.timed(one_type))
    empty = benchinfo.timed(lambda: [_clear_caches() for _ in range(10_000)])[0] / 10_000 * 1e6
    print(f"{len(words)} responses checked in all, {sum(words) / len(words):.0f} words on average")
    checks = args.responses * len(instances)
    print("\n| mode | checks/s (CPU) | checks/s (wall) |\n|---|---|---|")
    for mode, runs in overall.items():
        print(f"| {mode} | {_rate(checks, [r[0] for r in runs])} | {_rate(checks, [r[1] for r in runs])} |")
    print(f"\nper type, each check preceded by emptying the caches ({empty:.2f} us of CPU when they are empty; "
          "included)")
    print("| type (strict, cold; fastest first) | checks/s (CPU) | checks/s (wall) |\n|---|---|---|")
    for type_id, runs in sorted(per_type.items(), key=lambda item: statistics.median(r[0] for r in item[1])):
        print(f"| `{type_id}` | {_rate(args.responses, [r[0] for r in runs])} | "
              f"{_rate(args.responses, [r[1] for r in runs])} |")
    benchinfo.footer(benchinfo.script_cpu() - started_cpu, time.perf_counter() - started)


if __name__ == "__main__":
    main()
