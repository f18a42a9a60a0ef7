"""The user's own images: a folder with ``metadata.jsonl`` in the Hugging Face imagefolder convention.

Each line is a JSON object: ``file_name`` (relative to the folder), ``question``, optional ``answer``, optional
``answer_type`` (number, word, yes/no, list, open; guessed from the answer when absent), optional ``license``
and ``attribution``, and optional facts for image-grounded instructions: ``title`` (the image's title) and
``objects`` (a list of things it shows; objects listed for other images of the folder but for none of a chat's
images count as things that chat does not show). Several lines may name the same image to give it several questions. Every problem is
reported once, naming the file, the line and the field.
"""

from __future__ import annotations

import math
import random
import re
from dataclasses import dataclass, field
from pathlib import Path, PurePosixPath
from typing import Any

from generator.common.errors import UserError
from generator.core.instructions.facts import ImageFacts
from generator.generation.sources.base import (
    ANSWER_TYPES,
    QA,
    ChatMaterial,
    ImageSpec,
    Source,
    image_name,
    pick_questions,
    public_location,
)
from generator.generation.sources.images import check_image_file, encode_user_image

METADATA = "metadata.jsonl"
_IMAGE_REF = re.compile(r"\bImage(\d+)\b")
# A plain number, or one with proper thousands groups ("1,234"); "1,2" is a list, not twelve.
_NUMBER = re.compile(r"[-+]?(?:\d{1,3}(?:,\d{3})+|\d+)(?:\.\d+)?")
# Sentence punctuation closing a short answer ("Red."), which is not part of the answer.
_TRAILING_PUNCTUATION = re.compile(r"[\s.!?;:,]+$")


def infer_answer_type(answer: str) -> str:
    """Guess the answer type of a reference: number, yes/no, short word/phrase, or open for long answers."""
    text = answer.strip()
    if _NUMBER.fullmatch(_TRAILING_PUNCTUATION.sub("", text)):
        return "number"
    if text.lower().strip(".!") in ("yes", "no"):
        return "yes/no"
    if len(text.split()) <= 3:
        return "word"
    return "open"


def make_qa(question: Any, answer: Any, answer_type: Any, where: str) -> tuple[str, str | None, str]:
    """Validate one user question/answer pair; return (question, reference or None, answer type)."""
    if not isinstance(question, str) or not question.strip():
        raise UserError("the question is missing or empty", where=f"{where}: field question")
    if answer is not None and (isinstance(answer, bool) or not isinstance(answer, str | int | float)
                               or (isinstance(answer, float) and not math.isfinite(answer))):
        raise UserError(f"the answer must be text or a number, got {answer!r}", where=f"{where}: field answer")
    reference = None if answer is None else str(answer).strip() or None
    if answer_type is None or answer_type == "":
        kind = infer_answer_type(reference) if reference else "open"
    elif answer_type not in ANSWER_TYPES:
        raise UserError(f"answer_type {answer_type!r} is not one of {', '.join(ANSWER_TYPES)}",
                        where=f"{where}: field answer_type")
    else:
        kind = answer_type
    if kind != "open" and not reference:
        raise UserError(f"answer_type {kind!r} needs an answer", where=f"{where}: field answer")
    if kind == "yes/no" and reference and reference.lower().strip(".!") not in ("yes", "no"):
        raise UserError(f"a yes/no answer must be yes or no, got {reference!r}", where=f"{where}: field answer")
    if kind in ("number", "word") and reference:
        # "Red." answers "red": the full stop closes the sentence, it is not part of the answer.
        reference = _TRAILING_PUNCTUATION.sub("", reference) or reference
    if kind == "number" and reference and not _NUMBER.fullmatch(reference):
        raise UserError(f"a number answer must be a number, got {reference!r}", where=f"{where}: field answer")
    return question.strip(), reference, kind


def name_images(question: str, positions: list[int]) -> str:
    """Rewrite an item's own image names (Image1 = its first image) to chat names, or add one if none.

    ``positions[k]`` is the 0-based chat position of the item's k-th image.
    """
    def renumber(match: re.Match[str]) -> str:
        local = int(match.group(1)) - 1
        return image_name(positions[local]) if 0 <= local < len(positions) else match.group(0)

    if _IMAGE_REF.search(question):
        return _IMAGE_REF.sub(renumber, question)
    if len(positions) == 1:
        return f"Looking at {image_name(positions[0])}: {question}"
    names = ", ".join(image_name(p) for p in positions)
    return f"Looking at {names}: {question}"


def render_file(spec: ImageSpec) -> tuple[bytes, str]:
    """Read an image file named by a ``kind: file`` spec (``_dir`` is the folder on this machine)."""
    root = Path(spec.get("_dir") or spec["root"])
    path = resolve_inside(root, spec["file"], str(root))
    try:
        data = path.read_bytes()
    except OSError as exc:
        raise UserError(f"cannot read the image file ({exc.strerror or exc})", where=str(path)) from None
    return encode_user_image(data, str(path))


def file_spec(source: str, root: Path, file: str, licence: str = "", attribution: str = "", *,
              public_root: str) -> ImageSpec:
    """The spec of one image file: ``root`` as the user named it is published, ``_dir`` only renders it."""
    return {"source": source, "kind": "file", "root": public_root, "_dir": str(root), "file": file,
            "license": licence, "attribution": attribution}


def resolve_inside(root: Path, name: str, where: str) -> Path:
    """The file ``name`` of folder ``root``, refusing anything that leads outside it.

    ``..``, absolute paths and symbolic links whose target lies outside are refused before the target is looked
    at, so an error never tells whether a file outside the folder exists.
    """
    parts = PurePosixPath(name.replace("\\", "/")).parts
    if not name.strip() or "\0" in name or PurePosixPath(name).is_absolute() or Path(name).is_absolute() \
            or name.startswith("~") or ".." in parts:
        raise UserError(f"{name!r} is not a path inside the folder (no '..', no absolute path)", where=where)
    base = root.resolve()
    path = (base / name).resolve()
    if not path.is_relative_to(base):
        raise UserError(f"{name!r} leads outside the folder (a symbolic link)", where=where)
    if not path.is_file():
        raise UserError(f"image {name!r} not found in the folder", where=where)
    return path


@dataclass
class _Item:
    file: str
    license: str
    attribution: str
    qas: list[tuple[str, str | None, str]]
    where: str = ""
    given: dict[str, str] = field(default_factory=dict)
    title: str | None = None
    objects: tuple[str, ...] = ()



def _merge_field(item: _Item, name: str, value: Any, where: str) -> None:
    """Licence and attribution of an image may be given on any of its lines, but never two different ones."""
    if value is None or value == "":
        return
    if not isinstance(value, str):
        raise UserError(f"{name} must be text, got {type(value).__name__}", where=f"{where}: field {name}")
    current = getattr(item, name)
    if current and current != value.strip():
        raise UserError(f"{name} {value.strip()!r} differs from {current!r} given for {item.file!r} at "
                        f"{item.given[name]}", where=f"{where}: field {name}")
    if not current:
        setattr(item, name, value.strip())
        item.given[name] = where



def parse_title(value: Any, where: str) -> str | None:
    if value is None:
        return None
    if not isinstance(value, str) or not value.strip() or "\n" in value:
        raise UserError("title must be a non-empty one-line string", where=f"{where}: field title")
    return " ".join(value.split())


def parse_objects(value: Any, where: str) -> tuple[str, ...]:
    if value is None:
        return ()
    if not isinstance(value, list) or not all(isinstance(v, str) and v.strip() and "\n" not in v for v in value):
        raise UserError("objects must be a list of non-empty one-line strings", where=f"{where}: field objects")
    return tuple(" ".join(v.split()) for v in value)


class FolderSource(Source):
    """Images plus ``metadata.jsonl``; chats draw a few images and ask their questions."""

    kind = "user"
    prefix = "folder"
    image_kinds = ("file",)

    @classmethod
    def from_spec(cls, argument: str, *, column_map: dict[str, str], difficulty: int) -> Source:
        return cls(argument)

    @classmethod
    def render(cls, spec: ImageSpec) -> tuple[bytes, str]:
        return render_file(spec)

    def __init__(self, path: str) -> None:
        if not path:
            raise UserError("folder: needs a path, e.g. folder:./my_images", where="--source")
        self.root = Path(path).expanduser().resolve()
        self.public_root = public_location(path)
        self.name = f"folder:{self.public_root}"
        if not self.root.is_dir():
            raise UserError("the folder does not exist", where=str(self.root))
        metadata = self.root / METADATA
        if not metadata.is_file():
            raise UserError(f"{METADATA} not found (one JSON object per line: file_name, question, optional "
                            "answer)", where=str(self.root))
        self.items = self._read(metadata)
        self._by_file = {item.file: item for item in self.items}
        # every object named anywhere in the folder: what an image of this collection could have shown
        self.object_pool = tuple(sorted({name for item in self.items for name in item.objects}))
        if not self.items:
            raise UserError("no questions found", where=str(metadata))

    def _read(self, metadata: Path) -> list[_Item]:
        from generator.common.reading import json_object_lines

        items: dict[str, _Item] = {}
        for where, record in json_object_lines(metadata, what=METADATA):
            file = record.get("file_name")
            if not isinstance(file, str) or not file.strip():
                raise UserError("file_name is missing", where=f"{where}: field file_name")
            item = items.get(file)
            if item is None:
                image_path = resolve_inside(self.root, file, f"{where}: field file_name")
                check_image_file(image_path, f"{where}: field file_name")
                item = items[file] = _Item(file, "", "", [], where)
            for name in ("license", "attribution"):
                _merge_field(item, name, record.get(name), where)
            title = parse_title(record.get("title"), where)
            if title is not None:
                if item.title is not None and item.title != title:
                    raise UserError(f"image {file!r} already has the title {item.title!r}",
                                    where=f"{where}: field title")
                item.title = title
            extra = [name for name in parse_objects(record.get("objects"), where) if name not in item.objects]
            item.objects = (*item.objects, *extra)
            item.qas.append(make_qa(record.get("question"), record.get("answer"), record.get("answer_type"),
                                    where))
        return list(items.values())

    def image_facts(self, spec: ImageSpec) -> ImageFacts:
        """The user's ``title`` and ``objects`` of an image (metadata.jsonl), when given."""
        item = self._by_file.get(spec.get("file", ""))
        if item is None:
            return ImageFacts()
        return ImageFacts(title=item.title, categories=item.objects,
                          category_pool=self.object_pool if item.objects else ())

    def sample_chat(self, rng: random.Random, n_images: int, n_questions: int) -> ChatMaterial:
        count = min(n_images, len(self.items))
        chosen = [self.items[k] for k in rng.sample(range(len(self.items)), count)]
        singles = [[QA(name_images(q, [i]), a, t, [i]) for q, a, t in item.qas] for i, item in enumerate(chosen)]
        qas = pick_questions(rng, singles, [], n_questions)
        images = [file_spec("folder", self.root, item.file, item.license, item.attribution,
                            public_root=self.public_root) for item in chosen]
        return ChatMaterial(images=images, qas=qas)
