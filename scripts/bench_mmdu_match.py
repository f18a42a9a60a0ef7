"""Measure matching the official release against an MMDU-sized collection of dialogues (no images needed).

    python scripts/bench_mmdu_match.py [--dialogues 45000] [--repeat 3]

The collection is synthetic: every official conversation's real questions appear in one dialogue (with small
edits), the rest are dialogues of 9 questions built from the release's own vocabulary, so many share words and
word pairs with the official questions (the pre-selection's worst case is not random text). Times are CPU seconds
of this process for ``match_conversations`` (pre-selection + exact alignment), min/median/max over repeats;
the match rate must be 71/71. Results go to docs/benchmarks.md by hand.
"""

from __future__ import annotations

import argparse
import platform
import statistics
import subprocess
import time
from pathlib import Path

from generator.common.rng import derive_rng
from generator.generation.sources.mmdu import MMDUDialogue, MMDUTurn
from generator.release.mmdu_match import MATCHED, match_conversations
from generator.release.official_import import official_questions, read_official

CSV = Path(__file__).resolve().parent.parent / "tests" / "data" / "official" / "mmmt_if_public_release.csv"


def collection(n: int, conversations: list) -> list[MMDUDialogue]:
    vocabulary = sorted({w for c in conversations for _, q in c.turns for w in q.split()})
    out = []
    for k in range(n):
        rng = derive_rng("bench-mmdu", k)
        questions = [" ".join(rng.choice(vocabulary) for _ in range(rng.randint(8, 25))) for _ in range(9)]
        out.append(MMDUDialogue(f"d{k}", "mmdu-45k.json", ("a.jpg", "b.jpg", "c.jpg", "d.jpg", "e.jpg"),
                                tuple(MMDUTurn(q, q, None, ()) for q in questions)))
    for c, conversation in enumerate(conversations):
        questions = [q.replace(" the ", " this ", 1) for _, q in conversation.turns]
        position = (c * 7919) % len(out)
        out[position] = MMDUDialogue(f"real{c}", "mmdu-45k.json", out[position].images,
                                     tuple(MMDUTurn(q, q, None, ()) for q in questions))
    return out


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--dialogues", type=int, default=45000)
    parser.add_argument("--repeat", type=int, default=3)
    args = parser.parse_args()
    conversations = official_questions(read_official(CSV))
    dialogues = collection(args.dialogues, conversations)
    times, walls = [], []
    for _ in range(args.repeat):
        cpu, wall = time.process_time(), time.perf_counter()
        matches = match_conversations(conversations, dialogues, lambda p: (str(p),))
        times.append(time.process_time() - cpu)
        walls.append(time.perf_counter() - wall)
        matched = sum(1 for m in matches if m.status == MATCHED)
        assert matched == len(conversations), f"only {matched} matched"
    commit = subprocess.run(["git", "rev-parse", "--short", "HEAD"], capture_output=True, text=True).stdout.strip()
    print(f"commit {commit}, {platform.python_implementation()} {platform.python_version()}, "
          f"{args.dialogues} dialogues x {len(conversations)} conversations, matched {matched}/{len(conversations)}")
    print(f"CPU s min/median/max: {min(times):.2f} / {statistics.median(times):.2f} / {max(times):.2f}; "
          f"wall s median {statistics.median(walls):.2f}")


if __name__ == "__main__":
    main()
