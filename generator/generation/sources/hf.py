"""Any ``datasets`` dataset as a source, read through a column map; MMDU's dialogue layout included.

Two layouts:

- *one question per row*: roles ``image``, ``question``, optional ``answer`` and ``answer_type``
  (defaults: columns of the same names). A chat draws a few rows, one image each. Optional ``title`` (a string)
  and ``objects`` (a list of strings) describe the row's image for image-grounded instructions, as in a folder's
  metadata.
- *dialogues* (MMDU): roles ``images`` (a list of images or paths) and ``conversations`` (a list of turns
  ``{"from": "user"|"assistant", "value": ...}``; ``human``/``gpt`` and ``role``/``content`` also work).
  A chat is one record: its images in order, its user turns as questions (the record's own Image1..ImageN
  naming), the assistant turns kept as reference answers of type ``open``. This rebuilds the official
  MMMT-IF setting from a local copy of MMDU. It is chosen when the map names ``conversations`` or when the
  dataset has a ``conversations`` column and no ``question`` column.

``PATH_OR_ID`` may be a folder written by ``save_to_disk``, a folder or file of data files (json, jsonl,
parquet, csv), or a Hub id (needs the network). Image paths stored as strings are resolved against the
dataset's folder.
"""

from __future__ import annotations

import random
import re
from functools import lru_cache
from pathlib import Path
from typing import Any

from generator.common.errors import UserError
from generator.core.instructions.facts import ImageFacts
from generator.generation.sources.base import (
    QA,
    ChatMaterial,
    ImageSpec,
    Source,
    pick_questions,
    public_location,
)
from generator.generation.sources.folder import (
    file_spec,
    make_qa,
    name_images,
    parse_objects,
    parse_title,
    resolve_inside,
)
from generator.generation.sources.images import encode_user_image

FILE_BUILDERS = {".json": "json", ".jsonl": "json", ".parquet": "parquet", ".csv": "csv"}
USER_ROLES = ("user", "human")
ASSISTANT_ROLES = ("assistant", "gpt", "model")
# MMDU's first user turn starts with "Image1: <ImageHere>; Image2: <ImageHere>. ..."; the images are attached
# to the chat separately, so the placeholders are dropped from the question text.
_PLACEHOLDER_LIST = re.compile(r"(?:Image\d+\s*:\s*)?<(?:ImageHere|image)>\s*[;,.]?\s*", re.IGNORECASE)


def parse_target(target: str) -> tuple[str, str | None]:
    """Split ``PATH_OR_ID[:split]``; a trailing ``:name`` is a split unless the whole string is a path."""
    if not target:
        raise UserError("hf: needs a dataset path or id, e.g. hf:./my_dataset:test", where="--source")
    head, sep, tail = target.rpartition(":")
    if sep and head and re.fullmatch(r"[\w.-]+", tail) and not Path(target).exists():
        return head, tail
    return target, None


@lru_cache(maxsize=4)
def load_split(path: str, split: str | None) -> tuple[Any, str, str | None]:
    """Load one split; return (dataset, split name, base folder for relative image paths)."""
    import datasets

    local = Path(path).expanduser()
    try:
        if local.is_dir() and ((local / "dataset_info.json").is_file() or (local / "dataset_dict.json").is_file()):
            loaded = datasets.load_from_disk(str(local))
            base = str(local.resolve())
        elif local.is_file():
            builder = FILE_BUILDERS.get(local.suffix.lower())
            if builder is None:
                raise UserError(f"unsupported data file type {local.suffix!r} (use json, jsonl, parquet or csv)",
                                where=str(local))
            loaded = datasets.load_dataset(builder, data_files={split or "train": str(local)})
            base = str(local.resolve().parent)
        elif local.is_dir():
            loaded = datasets.load_dataset(str(local))
            base = str(local.resolve())
        elif path.startswith((".", "/", "~")):
            raise UserError("no such file or folder", where=path)
        else:
            loaded = datasets.load_dataset(path)
            base = None
    except UserError:
        raise
    except Exception as exc:  # datasets raises many types; the user needs the message, not a traceback
        raise UserError(f"cannot load the dataset ({type(exc).__name__}: {exc})", where=path) from None
    if isinstance(loaded, datasets.DatasetDict):
        names = list(loaded)
        if split is None:
            split = "test" if "test" in names else "train" if "train" in names else names[0] if len(names) == 1 else None
            if split is None:
                raise UserError(f"choose a split with hf:{path}:SPLIT (available: {', '.join(names)})", where=path)
        if split not in loaded:
            raise UserError(f"split {split!r} not found (available: {', '.join(names)})", where=path)
        return loaded[split], split, base
    return loaded, split or "train", base


def _column(dataset: Any, column_map: dict[str, str], role: str, default: str | None, where: str,
            required: bool = True) -> str | None:
    column = column_map.get(role, default)
    if column is None:
        return None
    if column not in dataset.column_names:
        if not required and role not in column_map:
            return None
        raise UserError(f"column {column!r} not found (columns: {', '.join(dataset.column_names)})",
                        where=f"{where}: --column-map {role}")
    return column


class HFSource(Source):
    """A ``datasets`` dataset, one question per row or MMDU-style dialogues."""

    kind = "user"
    prefix = "hf"
    image_kinds = ("hf",)

    @classmethod
    def from_spec(cls, argument: str, *, column_map: dict[str, str], difficulty: int) -> Source:
        return cls(argument, column_map=column_map)

    @classmethod
    def render(cls, spec: ImageSpec) -> tuple[bytes, str]:
        return render_hf_image(spec)

    def __init__(self, target: str, column_map: dict[str, str] | None = None) -> None:
        path, split = parse_target(target)
        local = Path(path).expanduser()
        # image specs name the dataset; an absolute path lets another process (or folder) render them
        self.path = str(local.resolve()) if local.exists() else path
        # published data names the dataset as the user did (a relative path or a Hub id), never this machine's path
        self.public = public_location(path) if local.exists() else path
        self.name = f"hf:{self.public}" + (f":{split}" if split else "")
        column_map = dict(column_map or {})
        known = {"image", "question", "answer", "answer_type", "images", "conversations", "title", "objects"}
        unknown = sorted(set(column_map) - known)
        if unknown:
            raise UserError(f"unknown column map role {unknown[0]!r} (roles: {', '.join(sorted(known))})",
                            where="--column-map")
        self._split_arg = split
        self._file_rows: dict[str, int] = {}
        self.row_facts: list[tuple[str | None, tuple[str, ...]]] = []
        self.object_pool: tuple[str, ...] = ()
        self.dataset, self.split, self.base = load_split(self.path, split)
        where = f"{self.path}[{self.split}]"
        if len(self.dataset) == 0:
            raise UserError("the dataset has no rows", where=where)
        columns = self.dataset.column_names
        self.dialogues = "conversations" in column_map or ("conversations" in columns and "question" not in columns
                                                          and "question" not in column_map)
        if self.dialogues:
            default_images = "images" if "images" in columns else "image"
            self.image_column = _column(self.dataset, column_map, "images", default_images, where)
            conv_column = _column(self.dataset, column_map, "conversations", "conversations", where)
            assert conv_column is not None  # a required column is found or refused by _column
            self.records = self._read_dialogues(conv_column, where)
        else:
            self.image_column = _column(self.dataset, column_map, "image", "image", where)
            question = _column(self.dataset, column_map, "question", "question", where)
            answer = _column(self.dataset, column_map, "answer", "answer", where, required=False)
            kind = _column(self.dataset, column_map, "answer_type", "answer_type", where, required=False)
            title = _column(self.dataset, column_map, "title", "title", where, required=False)
            objects = _column(self.dataset, column_map, "objects", "objects", where, required=False)
            texts = self.dataset.select_columns([c for c in (question, answer, kind, title, objects) if c]).to_dict()
            self.rows = [make_qa(texts[question][r], texts[answer][r] if answer else None,
                                 texts[kind][r] if kind else None, f"{where} row {r}")
                         for r in range(len(self.dataset))]
            # optional facts for image-grounded instructions, validated like a folder's metadata
            self.row_facts = [(parse_title(texts[title][r], f"{where} row {r}") if title else None,
                               parse_objects(texts[objects][r], f"{where} row {r}") if objects else ())
                              for r in range(len(self.dataset))]
            self.object_pool = tuple(sorted({name for _, names in self.row_facts for name in names}))
        self.image_counts = self._image_counts() if self.dialogues else None

    def _read_dialogues(self, column: str, where: str) -> list[list[tuple[str, str | None, str]]]:
        records = []
        for r, turns in enumerate(self.dataset[column]):
            here = f"{where} row {r}: field {column}"
            if not isinstance(turns, list) or not turns:
                raise UserError("expected a non-empty list of turns", where=here)
            qas: list[tuple[str, str | None, str]] = []
            for t, turn in enumerate(turns):
                if not isinstance(turn, dict):
                    raise UserError(f"turn {t} is not an object", where=here)
                role = str(turn.get("from", turn.get("role", ""))).lower()
                text = turn.get("value", turn.get("content"))
                if not isinstance(text, str):
                    raise UserError(f"turn {t} has no text (value or content)", where=here)
                if role in USER_ROLES:
                    question = _PLACEHOLDER_LIST.sub("", text).strip()
                    qas.append((question, None, "open"))
                elif role in ASSISTANT_ROLES:
                    if qas and qas[-1][1] is None:
                        qas[-1] = (qas[-1][0], text.strip() or None, "open")
                else:
                    raise UserError(f"turn {t} has unknown role {role!r} (expected user or assistant)", where=here)
            qas = [qa for qa in qas if qa[0]]
            if not qas:
                raise UserError("no user question in this dialogue", where=here)
            records.append(qas)
        return records

    def _image_counts(self) -> list[int]:
        counts = []
        for r, value in enumerate(_raw_cached(self.path, self._split_arg, self.image_column)[self.image_column]):
            if not isinstance(value, list) or not value:
                raise UserError("expected a non-empty list of images",
                                where=f"{self.path}[{self.split}] row {r}: field {self.image_column}")
            counts.append(len(value))
        return counts

    def _image_spec(self, row: int, item: int | None) -> ImageSpec:
        """A spec for one image: a file reference for string paths, else (dataset, row, column, item)."""
        raw = _raw_cached(self.path, self._split_arg, self.image_column)[row][self.image_column]
        value = raw[item] if item is not None else raw
        if isinstance(value, str):
            if self.base is None:
                raise UserError("image paths are only supported for local datasets",
                                where=f"{self.path}[{self.split}] row {row}: field {self.image_column}")
            root = Path(self.base)
            where = f"{self.path}[{self.split}] row {row}: field {self.image_column}"
            file = value
            if Path(value).is_absolute() and Path(value).resolve().is_relative_to(root.resolve()):
                file = Path(value).resolve().relative_to(root.resolve()).as_posix()
            resolve_inside(root, file, where)
            spec = file_spec(self.name, root, file, public_root=self.public)
            if item is None:  # one image per row: remember the row, whose columns may hold the image's facts
                self._file_rows[str(root / file)] = row
            return spec
        return {"source": self.name, "kind": "hf", "dataset": self.public, "_dataset": self.path,
                "split": self._split_arg, "row": row, "column": self.image_column, "item": item, "license": "",
                "attribution": ""}

    def image_facts(self, spec: ImageSpec) -> ImageFacts:
        """The row's ``title`` and ``objects`` columns (roles of the column map), when the dataset has them."""
        row = spec.get("row")
        if spec.get("kind") == "file":
            row = self._file_rows.get(str(Path(spec.get("_dir") or spec["root"]) / spec["file"]))
        if self.dialogues or not isinstance(row, int) or not 0 <= row < len(self.row_facts):
            return ImageFacts()
        title, objects = self.row_facts[row]
        return ImageFacts(title=title, categories=objects, category_pool=self.object_pool if objects else ())

    def sample_chat(self, rng: random.Random, n_images: int, n_questions: int) -> ChatMaterial:
        if self.dialogues:
            return self._sample_dialogue(rng, n_images, n_questions)
        count = min(n_images, len(self.rows))
        rows = rng.sample(range(len(self.rows)), count)
        singles = []
        for i, row in enumerate(rows):
            question, reference, kind = self.rows[row]
            singles.append([QA(name_images(question, [i]), reference, kind, [i])])
        qas = pick_questions(rng, singles, [], n_questions)
        return ChatMaterial(images=[self._image_spec(row, None) for row in rows], qas=qas)

    def _sample_dialogue(self, rng: random.Random, n_images: int, n_questions: int) -> ChatMaterial:
        assert self.image_counts is not None
        distance = min(abs(c - n_images) for c in self.image_counts)
        candidates = [r for r, c in enumerate(self.image_counts) if abs(c - n_images) == distance]
        row = rng.choice(candidates)
        count = self.image_counts[row]
        everyone = list(range(count))
        qas = []
        for question, reference, kind in self.records[row][:n_questions]:
            named = [int(m) - 1 for m in re.findall(r"\bImage(\d+)\b", question) if 0 < int(m) <= count]
            qas.append(QA(question if named else name_images(question, everyone), reference, kind,
                          sorted(set(named)) or everyone))
        if len(qas) < n_questions:
            # the dialogue is shorter than the chat: continue with open questions about its images
            extra = pick_questions(rng, [[] for _ in range(count)], [], n_questions - len(qas))
            qas.extend(extra)
        return ChatMaterial(images=[self._image_spec(row, k) for k in range(count)], qas=qas)


def _undecoded(feature: Any) -> Any:
    """The same feature with image decoding switched off (bytes and paths instead of PIL objects)."""
    from datasets import Image as ImageFeature

    if isinstance(feature, ImageFeature):
        return ImageFeature(decode=False)
    if isinstance(feature, list) and len(feature) == 1:
        return [_undecoded(feature[0])]
    inner = getattr(feature, "feature", None)
    if inner is not None:
        changed = _undecoded(inner)
        if changed is not inner:
            return type(feature)(changed)
    return feature


def raw_column(dataset: Any, column: str) -> Any:
    """``dataset`` reduced to ``column``, with images as ``{"bytes", "path"}`` dicts instead of decoded."""
    narrowed = dataset.select_columns([column])
    feature = narrowed.features[column]
    raw = _undecoded(feature)
    return narrowed if raw is feature else narrowed.cast_column(column, raw)


def render_hf_image(spec: ImageSpec) -> tuple[bytes, str]:
    """Read image ``item`` of ``column`` at ``row`` of a dataset split (loaded once per process)."""
    column = spec["column"]
    dataset = spec.get("_dataset") or spec["dataset"]
    where = f"{dataset}[{spec['split']}] row {spec['row']}: field {column}"
    value = _raw_cached(dataset, spec["split"], column)[spec["row"]][column]
    if spec.get("item") is not None:
        value = value[spec["item"]]
    if isinstance(value, dict) and value.get("bytes"):
        return encode_user_image(value["bytes"], where)
    if isinstance(value, dict) and value.get("path"):
        path = Path(value["path"])
        try:
            return encode_user_image(path.read_bytes(), where)
        except OSError as exc:
            raise UserError(f"cannot read the image file {path} ({exc.strerror or exc})", where=where) from None
    raise UserError("no image data in this cell", where=where)


@lru_cache(maxsize=4)
def _raw_cached(path: str, split: str, column: str) -> Any:
    return raw_column(load_split(path, split)[0], column)

