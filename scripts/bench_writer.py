"""Throughput and peak memory of the dataset writer (validation + encoding + parquet), apart from generation.

Rows are synthetic but shaped like real ones: 20 turns, up to 6 active instructions, N images of about 10 KB each
(distinct bytes, so parquet cannot deduplicate them). Run each size in a fresh process so peak RSS is per size:

    python scripts/bench_writer.py --rows 1000
    python scripts/bench_writer.py --rows 10000 --no-validate

The last line is ``rows/s: <x>``.
"""

from __future__ import annotations

import argparse
import json
import random
import resource
import shutil
import sys
import tempfile
import time
from pathlib import Path

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


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=1000)
    parser.add_argument("--images", type=int, default=4)
    parser.add_argument("--no-validate", action="store_true")
    args = parser.parse_args()

    import generator.dataset.bundle
    from generator.dataset.writer import write_dataset

    generator.dataset.bundle.build_scoring_script = lambda: "# scorer left out of the writer benchmark\n"

    rng = random.Random(7)
    rows = (make_row(i, args.images, rng) for i in range(args.rows))
    tmp = Path(tempfile.mkdtemp(prefix="bench-writer-"))
    try:
        start = time.perf_counter()
        write_dataset(tmp / "mmmt-if", {"mmmt-if": {"test": rows}}, quiet=True, validate=not args.no_validate)
        seconds = time.perf_counter() - start
        size = sum(p.stat().st_size for p in (tmp / "mmmt-if").rglob("*.parquet"))
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    peak_mb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    print(f"rows: {args.rows}  images/row: {args.images}  validate: {not args.no_validate}", file=sys.stderr)
    print(f"seconds: {seconds:.2f}  parquet MB: {size / 1e6:.1f}  MB/s: {size / 1e6 / seconds:.1f}  "
          f"peak RSS MB: {peak_mb:.0f}")
    print(f"rows/s: {args.rows / seconds:.0f}")


if __name__ == "__main__":
    main()
