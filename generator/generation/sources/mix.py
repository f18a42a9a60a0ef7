"""Procedural sources: one family per source (``bar_chart``, ``shapes``...) and ``mix``, the default.

``mix`` draws a few families per chat and gives several images to at least one of them, so that the chat can
ask comparison questions ("Which of Image1 and Image3 has more bars?"); comparisons are only asked between
images of the same family, where they make sense.
"""

from __future__ import annotations

import itertools
import random
from typing import Any

from generator.generation.sources.base import QA, ChatMaterial, ImageSpec, Source, image_name, pick_questions
from generator.generation.sources.families import Family, all_families

PROCEDURAL_LICENSE = "CC0-1.0"


def procedural_image_spec(family: Family, spec: dict[str, Any]) -> ImageSpec:
    return {"source": family.name, "kind": "procedural", "family": family.name, "spec": spec}


class ProceduralSource(Source):
    """Images from one or more procedural families, with answers computed from the scene specs."""

    kind = "procedural"

    def __init__(self, name: str, families: list[Family], difficulty: int = 1) -> None:
        self.name = name
        self.families = families
        self.difficulty = difficulty

    def assign_families(self, rng: random.Random, n_images: int) -> list[Family]:
        """Return the family of each image of a chat."""
        return [self.families[0]] * n_images

    def sample_chat(self, rng: random.Random, n_images: int, n_questions: int) -> ChatMaterial:
        if n_images < 1:
            raise ValueError("a chat needs at least one image")
        families = self.assign_families(rng, n_images)
        specs = [family.sample_valid(rng, self.difficulty) for family in families]
        names = [image_name(i) for i in range(n_images)]
        singles = [[QA(q, a, t, [i]) for q, a, t in family.questions(spec, names[i], rng)]
                   for i, (family, spec) in enumerate(zip(families, specs, strict=True))]
        multis: list[QA] = []
        groups: dict[str, list[int]] = {}
        for i, family in enumerate(families):
            groups.setdefault(family.name, []).append(i)
        for indices in groups.values():
            family = families[indices[0]]
            combos = list(itertools.combinations(indices, 2))
            if len(indices) >= 3:
                combos.append(tuple(sorted(rng.sample(indices, 3))))
            for combo in combos:
                for q, a, t in family.compare([specs[i] for i in combo], [names[i] for i in combo], rng):
                    multis.append(QA(q, a, t, list(combo)))
        qas = pick_questions(rng, singles, multis, n_questions)
        images = [procedural_image_spec(family, spec) for family, spec in zip(families, specs, strict=True)]
        return ChatMaterial(images=images, qas=qas)


class MixSource(ProceduralSource):
    """The default source: every built-in family, a few per chat, same-family images compared."""

    def __init__(self, difficulty: int = 1) -> None:
        super().__init__("mix", all_families(), difficulty)

    def assign_families(self, rng: random.Random, n_images: int) -> list[Family]:
        # Between n//2 and ceil(n/2) families: as varied as possible while some family always has two images
        # (with two or more images), so that comparison questions can be asked.
        count = rng.randint(max(1, n_images // 2), max(1, (n_images + 1) // 2))
        chosen = rng.sample(self.families, min(count, len(self.families)))
        assigned = list(chosen) + [rng.choice(chosen) for _ in range(n_images - len(chosen))]
        rng.shuffle(assigned)
        return assigned[:n_images]
