"""Reward throughput on one core: ``generator.rewards`` on generated turns and realistic completions.

Conversations are generated in-process (``--variant``, default ``mmmt-if`` and ``hard``: up to 6 and up to 12
active instructions), every turn's reward spec is built as ``mmmtif export`` writes it, and each turn gets
``--group`` completions (the witness answer, damaged copies, a think trace, unrelated text), as a GRPO group would.
Three paths are timed, each run ``--repeats`` times (min/median/max of rewards per CPU second reported):

- ``trl``: the TRL adapter on batches of one group (spec parsed once per group, as TRL passes the same spec for
  every completion of a prompt), including the per-group compliance logging;
- ``warm``: ``score_response(text, spec)`` with the spec already parsed (the steady state of a long run);
- ``cold``: every call parses its spec afresh (the spec cache cleared before each call).

    python scripts/bench_rewards.py [--conversations 40] [--turns 12] [--group 8] [--repeats 5]

Times are CPU seconds of this process (``time.process_time``) and wall seconds; one process, one core.
"""

from __future__ import annotations

import argparse
import platform
import statistics
import sys
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

import benchinfo  # noqa: E402


def build_inputs(variants: list[str], conversations: int, turns: int, group: int, seed: int
                 ) -> list[tuple[str, list[str]]]:
    """``[(spec, completions)]``: one entry per turn of every generated conversation."""
    from generator.authoring.oracle import oracle_responses
    from generator.generation.pipeline import GenerationRun, build_row
    from generator.generation.variants import get_variant
    from generator.scoring.spec import make_spec

    run = GenerationRun(seed=seed)
    inputs = []
    for name in variants:
        cfg = get_variant(name).replace(turns=turns)
        for index in range(conversations):
            row = build_row(cfg, run, "bench", index, validate=False)
            witnesses = [r["response"] for r in oracle_responses([row])]
            for turn, witness in zip(row["turns"], witnesses, strict=True):
                texts = [witness, witness.lower(), witness.replace(".", "!"), "<think>Plan it.</think>" + witness,
                         "Sure, here it is:\n" + witness, witness.upper(), witness[: len(witness) // 2],
                         "I cannot tell from the image."]
                inputs.append((make_spec(row["id"], turn), (texts * (group // len(texts) + 1))[:group]))
    return inputs


def time_it(fn: Any, repeats: int) -> list[tuple[float, float]]:
    """``[(cpu seconds, wall seconds)]`` of ``repeats`` runs."""
    out = []
    for _ in range(repeats):
        cpu, wall = time.process_time(), time.perf_counter()
        fn()
        out.append((time.process_time() - cpu, time.perf_counter() - wall))
    return out


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--variant", action="append", default=None)
    parser.add_argument("--conversations", type=int, default=40)
    parser.add_argument("--turns", type=int, default=12)
    parser.add_argument("--group", type=int, default=8)
    parser.add_argument("--repeats", type=int, default=5)
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args(argv)

    from generator.rewards import make_trl_reward, score_response
    from generator.scoring import spec as spec_module

    inputs = build_inputs(args.variant or ["mmmt-if", "hard"], args.conversations, args.turns, args.group, args.seed)
    calls = sum(len(texts) for _, texts in inputs)
    reward = make_trl_reward()
    metrics: list[Any] = []

    def trl() -> None:
        spec_module._parse_text.cache_clear()
        for spec, texts in inputs:
            reward(["prompt"] * len(texts), texts, reward_spec=[spec] * len(texts),
                   log_metric=lambda name, value: metrics.append(value))

    def warm() -> None:
        for spec, texts in inputs:
            for text in texts:
                score_response(text, spec)

    def cold() -> None:
        for spec, texts in inputs:
            for text in texts:
                spec_module._parse_text.cache_clear()
                score_response(text, spec)

    print(f"commit {benchinfo.commit()}  python {platform.python_version()}  turns {len(inputs)}  "
          f"rewards per run {calls}")
    print("| path | rewards/s min | median | max | CPU s (median) | wall s (median) |")
    print("|---|---|---|---|---|---|")
    warm()  # fill the spec cache and import everything once
    for name, fn in (("trl (per group)", trl), ("warm (spec cached)", warm), ("cold (spec parsed)", cold)):
        runs = time_it(fn, args.repeats)
        rates = sorted(calls / cpu for cpu, _ in runs)
        print(f"| {name} | {rates[0]:,.0f} | {statistics.median(rates):,.0f} | {rates[-1]:,.0f} | "
              f"{statistics.median(c for c, _ in runs):.2f} | {statistics.median(w for _, w in runs):.2f} |")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
