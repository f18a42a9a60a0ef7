"""Where the CPU time of building rows goes: per-phase CPU milliseconds per conversation, in one process.

    python scripts/bench_generate_phases.py                                   # mmmt-if + appended, 200 conversations
    python scripts/bench_generate_phases.py --variant mmmt-if --conversations 500

Each phase is timed with ``time.process_time`` around the function that does it (no profiler, so the figures are
close to a normal run's): drawing the material, the instruction schedule, placing and proving the questions,
distractors, drawing and encoding the images, rendering the turns, validating the rows; then the rows are
encoded to arrow and written to an in-memory parquet file per config and row group, as the shard writer does.
Phases nest (the schedule's compatibility checks write reference texts too, counted under the schedule only).
"""

from __future__ import annotations

import argparse
import io
import time
from collections import defaultdict
from collections.abc import Callable
from typing import Any

from generator.dataset.writer import settle_pyarrow_without_pandas

TIMES: dict[str, float] = defaultdict(float)


def timed(module: Any, name: str, label: str) -> None:
    """Replace ``module.name`` by a wrapper adding its CPU time to ``TIMES[label]``."""
    original: Callable[..., Any] = getattr(module, name)

    def wrapper(*args: Any, **kwargs: Any) -> Any:
        start = time.process_time()
        try:
            return original(*args, **kwargs)
        finally:
            TIMES[label] += time.process_time() - start

    setattr(module, name, wrapper)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--variant", default="mmmt-if,appended", help="comma-separated presets built together")
    parser.add_argument("--conversations", type=int, default=200)
    parser.add_argument("--turns", type=int, default=20)
    args = parser.parse_args()
    settle_pyarrow_without_pandas()

    import pyarrow as pa
    import pyarrow.parquet as pq

    from generator.dataset import schema
    from generator.dataset.features import arrow_schema
    from generator.dataset.writer import PARQUET_OPTIONS, ROW_GROUP_SIZE, encode_row
    from generator.generation import plan, render
    from generator.generation.pipeline import GenerationRun, build_conversation
    from generator.generation.variants import get_variant

    for module, name, label in [(plan, "plan_material", "material (images and questions drawn)"),
                                (plan, "draw_schedule", "instruction schedule"),
                                (plan, "place_question", "questions placed and proven"),
                                (plan, "_plan_distractors", "distractors"),
                                (render, "render_images", "images drawn and encoded"),
                                (render, "render_turns", "turns rendered"),
                                (schema, "validate_row", "rows validated in full"),
                                (schema, "validate_sibling_row", "sibling rows validated")]:
        if hasattr(module, name):
            timed(module, name, label)
    configs = tuple(get_variant(name).replace(turns=args.turns) for name in args.variant.split(","))
    run = GenerationRun(seed=7, splits={"test": args.conversations})
    n = args.conversations
    build_conversation(configs, run, "test", n)  # warm-up: source, fonts, templates, catalogue
    TIMES.clear()
    start = time.process_time()
    built = [build_conversation(configs, run, "test", index) for index in range(n)]
    TIMES["rows built (total of the above)"] = time.process_time() - start
    arrow = arrow_schema()
    for position in range(len(configs)):
        rows = [conversation[position][0] for conversation in built]
        for first in range(0, n, ROW_GROUP_SIZE):
            clock = time.process_time()
            table = pa.Table.from_pylist([encode_row(row) for row in rows[first:first + ROW_GROUP_SIZE]],
                                         schema=arrow)
            TIMES["arrow encoding"] += time.process_time() - clock
            clock = time.process_time()
            writer = pq.ParquetWriter(io.BytesIO(), arrow, **PARQUET_OPTIONS)
            writer.write_table(table, row_group_size=ROW_GROUP_SIZE)
            writer.close()
            TIMES["parquet"] += time.process_time() - clock
    print(f"{args.variant}, {args.turns} turns, {n} conversations: CPU ms per conversation (all configs)")
    for label, seconds in sorted(TIMES.items(), key=lambda item: -item[1]):
        print(f"  {label:40s} {1000 * seconds / n:7.2f}")


if __name__ == "__main__":
    main()
