"""Share of chats of each image source that can host each image-grounded instruction type.

A type can be hosted by a chat when its sampler finds the facts it needs in the chat's images (a chart with a
title, a clock, a receipt, ...). Chats are drawn exactly as ``mmmtif gen`` draws them (same RNG streams, 2-5
images), so the shares are what a generated dataset of that source offers. Prints a markdown table.

    python scripts/grounded_coverage.py [--chats 500] [--seed 0] [--difficulty 1] [--sources mix,bar_chart,...]
"""

from __future__ import annotations

import argparse

from generator.common.rng import derive_rng
from generator.core.instructions import all_types, is_grounded
from generator.generation.sources import get_source
from generator.generation.sources.families import FAMILIES


def coverage(source_name: str, chats: int, seed: int, difficulty: int) -> dict[str, float]:
    source = get_source(source_name, difficulty=difficulty)
    kinds = [t for t in all_types() if is_grounded(t)]
    hosted = dict.fromkeys((t.id for t in kinds), 0)
    for index in range(chats):
        rng = derive_rng(seed, "test", "plan", index, "material")
        material = source.sample_chat(rng, rng.randint(2, 5), 20)
        facts = source.chat_facts(material)
        for kind in kinds:
            if kind.sample_for_chat(derive_rng(seed, "coverage", kind.id, index), facts) is not None:
                hosted[kind.id] += 1
    return {key: count / chats for key, count in hosted.items()}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--chats", type=int, default=500)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--difficulty", type=int, default=1)
    parser.add_argument("--sources", default=",".join(["mix", *FAMILIES.names()]))
    args = parser.parse_args()
    names = args.sources.split(",")
    table = {name: coverage(name, args.chats, args.seed, args.difficulty) for name in names}
    ids = list(next(iter(table.values())))
    print("| type | " + " | ".join(names) + " |")
    print("|---|" + "---|" * len(names))
    for type_id in ids:
        print(f"| `{type_id}` | " + " | ".join(f"{table[name][type_id]:.0%}" for name in names) + " |")


if __name__ == "__main__":
    main()
