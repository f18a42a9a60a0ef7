"""Measure matching the official release against an MMDU-sized collection of dialogues (no images needed).

    python scripts/bench_mmdu_match.py [--dialogues 45000] [--repeats 3]

The collection is synthetic and each repeat draws its own (distinct seeds): every official conversation's real questions appear in one dialogue (with small
edits), the rest are dialogues of 9 questions built from the release's own vocabulary, so many share words and
word pairs with the official questions (the pre-selection's worst case is not random text). Times are CPU seconds
of this process and wall seconds for ``match_conversations`` (pre-selection + exact alignment), min / median / max
over repeats, printed with the commit and the load average; the match rate must be 71/71. Results go to docs/benchmarks.md by hand.
"""

from __future__ import annotations

import argparse
import time
from pathlib import Path

import benchinfo

from generator.common.rng import derive_rng
from generator.generation.sources.mmdu import MMDUDialogue, MMDUTurn
from generator.release.mmdu_match import MATCHED, match_conversations
from generator.release.official_import import official_questions, read_official

CSV = Path(__file__).resolve().parent.parent / "tests" / "data" / "official" / "mmmt_if_public_release.csv"


def collection(n: int, conversations: list, seed: int = 0) -> list[MMDUDialogue]:
    vocabulary = sorted({w for c in conversations for _, q in c.turns for w in q.split()})
    out = []
    for k in range(n):
        rng = derive_rng("bench-mmdu", seed, k)
        questions = [" ".join(rng.choice(vocabulary) for _ in range(rng.randint(8, 25))) for _ in range(9)]
        out.append(MMDUDialogue(f"d{k}", "mmdu-45k.json", ("a.jpg", "b.jpg", "c.jpg", "d.jpg", "e.jpg"),
                                tuple(MMDUTurn(q, q, None, ()) for q in questions)))
    for c, conversation in enumerate(conversations):
        questions = [q.replace(" the ", " this ", 1) for _, q in conversation.turns]
        position = (c * 7919 + seed) % len(out)
        out[position] = MMDUDialogue(f"real{c}", "mmdu-45k.json", out[position].images,
                                     tuple(MMDUTurn(q, q, None, ()) for q in questions))
    return out


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--dialogues", type=int, default=45000)
    parser.add_argument("--repeats", type=int, default=3)
    args = parser.parse_args()
    started, started_cpu = time.perf_counter(), benchinfo.script_cpu()
    benchinfo.header(f"matching against {args.dialogues} dialogues, {args.repeats} repeats (min / median / max)")
    conversations = official_questions(read_official(CSV))
    times, walls = [], []
    for repeat in range(args.repeats):
        dialogues = collection(args.dialogues, conversations, seed=repeat)
        cpu, wall = time.process_time(), time.perf_counter()
        matches = match_conversations(conversations, dialogues, lambda p: (str(p),))
        times.append(time.process_time() - cpu)
        walls.append(time.perf_counter() - wall)
        matched = sum(1 for m in matches if m.status == MATCHED)
        assert matched == len(conversations), f"only {matched} matched"
        del dialogues, matches
    print(f"{args.dialogues} dialogues x {len(conversations)} conversations, matched {matched}/{len(conversations)}")
    print(f"CPU s {benchinfo.spread(times)}; wall s {benchinfo.spread(walls)}")
    benchinfo.footer(benchinfo.script_cpu() - started_cpu, time.perf_counter() - started)


if __name__ == "__main__":
    main()
