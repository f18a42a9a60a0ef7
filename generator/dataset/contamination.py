"""Keeping training data out of the benchmark: fingerprints of conversations and an index of evaluation folders.

A training split must not teach what an evaluation split tests. Three things are compared, from the finest to the
coarsest:

- a *scene*: for a procedural image its spec (``image_meta[].spec``, canonical JSON), which fixes the rendered
  image; for a user image (``folder:``, ``hf:``, MMDU...) a hash of its bytes, since its spec only names where it
  came from and the same picture may sit under another folder or file name;
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


def _is_procedural(spec: str) -> bool:
    try:
        data = json.loads(spec)
    except ValueError:
        return False
    return isinstance(data, Mapping) and data.get("kind") == "procedural"


def _image_bytes(image: Any) -> bytes | None:
    data = image.get("bytes") if isinstance(image, Mapping) else image
    return bytes(data) if isinstance(data, bytes | bytearray | memoryview) and len(data) else None


def image_keys(row: Mapping[str, Any]) -> tuple[str, ...]:
    """The scene key of each image of a row: its spec when procedural, else the hash of its bytes when the row
    carries them (a row without its images falls back to the spec)."""
    images = row.get("images") or []
    keys = []
    for position, meta in enumerate(row.get("image_meta") or []):
        spec = meta.get("spec") or ""
        data = None if _is_procedural(spec) or position >= len(images) else _image_bytes(images[position])
        keys.append(scene_key(spec) if data is None
                    else "bytes:" + hashlib.blake2b(data, digest_size=16).hexdigest())
    return tuple(keys)


def _needs_bytes(row: Mapping[str, Any]) -> bool:
    return any(not _is_procedural(meta.get("spec") or "") for meta in row.get("image_meta") or [])


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
    """The fingerprints of one conversation row (``image_meta``, ``turns`` and, for user images, ``images``)."""
    scenes = image_keys(row)

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
                        rows = pq.read_table(path, columns=["image_meta", "turns"]).to_pylist()
                        if any(map(_needs_bytes, rows)):
                            # User images are keyed by their bytes: read them only where there are some.
                            images = pq.read_table(path, columns=["images"]).column("images").to_pylist()
                            rows = [{**row, "images": row_images}
                                    for row, row_images in zip(rows, images, strict=True)]
                    except (OSError, KeyError, ValueError) as exc:
                        raise UserError(f"cannot read the conversations ({exc})",
                                        where=f"{option} {folder}: {config}/{path.name}") from None
                    for row in rows:
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


__all__ = ["EvaluationIndex", "Fingerprints", "image_keys", "is_training_split", "row_fingerprints", "scene_key",
           "shared_items"]
