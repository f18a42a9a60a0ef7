"""Responses that follow every text-only rule and state the reference answer, but ignore the image-grounded rules.

Usage: ``python scripts/grounded_blind_baseline.py DATASET_DIR CONFIG OUT.jsonl`` then ``mmmtif score``. The
image-grounded PIF of these responses shows how much of those rules a model could pass without the images (only
where the answer itself happens to carry the fact); their text-only PIF is 1.
"""

from __future__ import annotations

import argparse
import json

from generator.authoring import compose_witness
from generator.common.atomic import write_text
from generator.core.answers import answer_phrase, is_checkable
from generator.core.instructions import Instruction, get_type, is_grounded
from generator.scoring.loader import load_rows


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("dataset")
    parser.add_argument("config")
    parser.add_argument("out")
    args = parser.parse_args()
    lines = []
    for row in load_rows(args.dataset, args.config, None, None):
        for turn in row["turns"]:
            active = [Instruction(a["id"], json.loads(a["kwargs"])) for a in turn["active_instructions"]]
            text_only = [a for a in active if not is_grounded(get_type(a.id))]
            reference, kind = turn["reference_answer"], turn["answer_type"]
            answer = answer_phrase(reference, kind) if is_checkable(reference, kind) else None
            record = {"id": row["id"], "turn": turn["turn"], "response": compose_witness(text_only, answer)}
            lines.append(json.dumps(record) + "\n")
    write_text(args.out, "".join(lines))
    print(f"wrote {len(lines)} responses to {args.out}")


if __name__ == "__main__":
    main()
