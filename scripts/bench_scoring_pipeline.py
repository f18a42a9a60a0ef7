"""Throughput of the whole scoring pipeline (``mmmtif score`` minus plotting) on a generated dataset.

Usage: ``python scripts/bench_scoring_pipeline.py --dataset DIR [--config C] [--samples N] [--mode strict|loose]``.
Witness responses (``mmmtif oracle``) stand in for a model; every stage is timed on one core: loading the rows
(``id`` and ``turns`` only), validating them against the catalogue, checking every response (instructions,
answers, distractors), aggregating the report, and building the standalone ``scoring.py``.
"""

from __future__ import annotations

import argparse
import time


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--dataset", required=True)
    parser.add_argument("--config", default=None)
    parser.add_argument("--split", default=None)
    parser.add_argument("--samples", type=int, default=4)
    parser.add_argument("--mode", choices=["strict", "loose"], default="strict")
    args = parser.parse_args()

    from generator.authoring.oracle import oracle_responses
    from generator.dataset.bundle import build_scoring_script
    from generator.scoring import collect_responses, load_rows
    from generator.scoring.evaluation import default_catalogue
    from generator.scoring.metrics import build_report
    from generator.scoring.turns import prepare_turns
    from generator.scoring.verdicts import evaluate

    t0 = time.perf_counter()
    rows = load_rows(args.dataset, args.config, args.split)
    t1 = time.perf_counter()
    responses = collect_responses(oracle_responses(rows, args.samples))
    t2 = time.perf_counter()
    catalogue = default_catalogue()
    specs = prepare_turns(rows, catalogue)
    t3 = time.perf_counter()
    results = evaluate(specs, responses, catalogue, args.mode)
    t4 = time.perf_counter()
    report = build_report(specs, results, args.mode, responses)
    t5 = time.perf_counter()
    script = build_scoring_script()
    t6 = time.perf_counter()

    checks = sum(len(r.verdicts) + len(r.distractors) for r in results)
    print(f"rows {len(rows)}  turns {len(specs)}  responses {len(responses)}  instruction checks {checks}")
    print(f"load rows        {t1 - t0:7.2f} s")
    print(f"oracle           {t2 - t1:7.2f} s")
    print(f"prepare turns    {t3 - t2:7.2f} s")
    print(f"check responses  {t4 - t3:7.2f} s  ({len(responses) / (t4 - t3):,.0f} responses/s, "
          f"{checks / (t4 - t3):,.0f} checks/s)")
    print(f"build report     {t5 - t4:7.2f} s")
    print(f"bundle script    {t6 - t5:7.2f} s  ({len(script) / 1024:.0f} KiB)")
    print(f"pif {report['pif']}  answer accuracy {report['answers']['accuracy']}")


if __name__ == "__main__":
    main()
