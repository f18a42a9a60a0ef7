"""Keeping training data out of the benchmark: fingerprints of conversations and an index of evaluation folders.

A training split must not teach what an evaluation split tests. Three things are compared, from the finest to the
coarsest:

- a *scene*: one image's spec (``image_meta[].spec``, canonical JSON), which fixes the rendered image;
- a *question instance*: a question with each image name (``Image2``) replaced by that image's scene, plus the
  reference answer, so the same question about the same picture matches whatever position the picture has;
- a *conversation fingerprint*: the scenes in order and, per turn, the question instance and the active
  instructions (ids and parameters).

Procedural families have finite spaces (a clock has 12 x 12 x a few faces), so independent streams still meet on
some scenes; that is why training generation checks every candidate against the index and never relies on the
seed alone. Splits whose name starts with ``train`` are training splits; every other split of an evaluation folder
is indexed.
"""

from __future__ import annotations

import hashlib
import json
import os
import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from generator.common.errors import UserError
from generator.common.jsonutil import canonical_json

TRAINING_PREFIX = "train"
_IMAGE_NAME = re.compile(r"\bImage(\d+)\b")


def is_training_split(name: str) -> bool:
    """Training splits are named ``train`` or start with it (``train``, ``train_easy``, ``training``)."""
    return name.casefold().startswith(TRAINING_PREFIX)


def _digest(text: str) -> str:
    return hashlib.blake2b(text.encode("utf-8"), digest_size=16).hexdigest()


def scene_key(spec: str) -> str:
    """The key of one image spec (canonical JSON, so key order and spacing do not matter)."""
    try:
        return _digest(canonical_json(json.loads(spec)))
    except ValueError:
        return _digest(spec)


@dataclass(frozen=True)
class Fingerprints:
    """What a conversation row would share with another: scenes, question instances, and itself."""

    scenes: tuple[str, ...]
    questions: tuple[str, ...]
    conversation: str


def _kwargs(value: Any) -> Any:
    if isinstance(value, str):
        try:
            return json.loads(value or "{}")
        except ValueError:
            return value
    return value


def row_fingerprints(row: Mapping[str, Any]) -> Fingerprints:
    """The fingerprints of one conversation row (``image_meta`` and ``turns`` are read)."""
    scenes = tuple(scene_key(meta.get("spec") or "") for meta in row.get("image_meta") or [])

    def named(match: re.Match[str]) -> str:
        position = int(match.group(1)) - 1
        return f"<scene:{scenes[position]}>" if 0 <= position < len(scenes) else match.group(0)

    questions = []
    turns = []
    for turn in row.get("turns") or []:
        question = _IMAGE_NAME.sub(named, turn.get("question") or "")
        key = _digest(canonical_json([question, turn.get("reference_answer") or ""]))
        questions.append(key)
        active = sorted(canonical_json([item.get("id"), _kwargs(item.get("kwargs"))])
                        for item in turn.get("active_instructions") or [])
        turns.append([key, active])
    return Fingerprints(scenes=scenes, questions=tuple(questions),
                        conversation=_digest(canonical_json([list(scenes), turns])))


@dataclass
class EvaluationIndex:
    """Every scene, question instance and conversation of some evaluation folders."""

    scenes: set[str] = field(default_factory=set)
    questions: set[str] = field(default_factory=set)
    conversations: set[str] = field(default_factory=set)
    folders: list[dict[str, Any]] = field(default_factory=list)

    def add(self, row: Mapping[str, Any]) -> None:
        prints = row_fingerprints(row)
        self.scenes.update(prints.scenes)
        self.questions.update(prints.questions)
        self.conversations.add(prints.conversation)

    def overlap(self, row: Mapping[str, Any]) -> str | None:
        """Why ``row`` may not be trained on (the first shared item), or None when it shares nothing."""
        prints = row_fingerprints(row)
        if prints.conversation in self.conversations:
            return "the whole conversation"
        for position, key in enumerate(prints.scenes):
            if key in self.scenes:
                return f"the scene of Image{position + 1}"
        for position, key in enumerate(prints.questions):
            if key in self.questions:
                return f"the question instance of turn {position + 1}"
        return None

    def record(self) -> list[dict[str, Any]]:
        """What a manifest records about the excluded folders: content hashes and counts, never their paths."""
        return list(self.folders)

    @classmethod
    def from_folders(cls, folders: Sequence[str | os.PathLike], *, option: str = "--exclude-from"
                     ) -> EvaluationIndex:
        """Index every evaluation split (any split not named ``train...``) of each dataset folder."""
        index = cls()
        for folder in folders:
            index._add_folder(Path(folder), option)
        return index

    def _add_folder(self, folder: Path, option: str) -> None:
        import pyarrow.parquet as pq

        from generator.dataset.layout import dataset_files
        from generator.dataset.manifest import file_sha256

        if not folder.is_dir():
            raise UserError("evaluation folder not found", where=f"{option} {folder}")
        files = dataset_files(folder)
        conversations = 0
        for config, splits in files.items():
            for split, paths in splits.items():
                if is_training_split(split):
                    continue
                for path in paths:
                    try:
                        table = pq.read_table(path, columns=["image_meta", "turns"])
                    except (OSError, KeyError, ValueError) as exc:
                        raise UserError(f"cannot read the conversations ({exc})",
                                        where=f"{option} {folder}: {config}/{path.name}") from None
                    for row in table.to_pylist():
                        self.add(row)
                        conversations += 1
        if not conversations:
            raise UserError("no evaluation conversations in this folder (no <config>/<split>-*.parquet files "
                            "outside training splits)", where=f"{option} {folder}")
        manifest = folder / "manifest.json"
        self.folders.append({"manifest_sha256": file_sha256(manifest) if manifest.is_file() else None,
                             "rows": conversations})


def shared_items(training: Iterable[Mapping[str, Any]], index: EvaluationIndex) -> dict[str, int]:
    """How many scenes, question instances and conversations of ``training`` the index holds (all 0 = disjoint)."""
    shared = {"scenes": 0, "questions": 0, "conversations": 0}
    for row in training:
        prints = row_fingerprints(row)
        shared["scenes"] += sum(key in index.scenes for key in prints.scenes)
        shared["questions"] += sum(key in index.questions for key in prints.questions)
        shared["conversations"] += prints.conversation in index.conversations
    return shared


__all__ = ["EvaluationIndex", "Fingerprints", "is_training_split", "row_fingerprints", "scene_key",
           "shared_items"]
