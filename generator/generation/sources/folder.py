"""The user's own images: a folder with ``metadata.jsonl`` in the Hugging Face imagefolder convention.

Each line is a JSON object: ``file_name`` (relative to the folder), ``question``, optional ``answer``, optional
``answer_type`` (number, word, yes/no, list, open; guessed from the answer when absent), optional ``license``
and ``attribution``, and optional facts for image-grounded instructions: ``title`` (the image's title) and
``objects`` (a list of things it shows; objects listed for other images of the folder but for none of a chat's
images count as things that chat does not show). Several lines may name the same image to give it several questions. Every problem is
reported once, naming the file, the line and the field.
"""

from __future__ import annotations

import io
import json
import random
import re
from dataclasses import dataclass
from pathlib import Path
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
)

METADATA = "metadata.jsonl"
MAX_SIDE = 1024  # larger user images are scaled down so a dataset row stays a reasonable size
PASS_THROUGH = {"PNG": "png", "JPEG": "jpeg", "WEBP": "webp", "GIF": "gif"}
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


def make_qa(question: str, answer: Any, answer_type: Any, where: str) -> tuple[str, str | None, str]:
    """Validate one user question/answer pair; return (question, reference or None, answer type)."""
    if not isinstance(question, str) or not question.strip():
        raise UserError("the question is missing or empty", where=f"{where}: field question")
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


def encode_user_image(data: bytes, where: str) -> tuple[bytes, str]:
    """Check that ``data`` is an image; pass common formats through, re-encode others (or big ones) as PNG."""
    from PIL import Image, UnidentifiedImageError

    from generator.generation.sources.drawing import encode_jpeg, encode_png

    try:
        with Image.open(io.BytesIO(data)) as image:
            image.load()
            fmt = image.format
            if fmt in PASS_THROUGH and max(image.size) <= MAX_SIDE:
                return data, PASS_THROUGH[fmt]
            picture = image.convert("RGBA" if "A" in image.getbands() else "RGB")
    except (UnidentifiedImageError, OSError, ValueError, Image.DecompressionBombError) as exc:
        raise UserError(f"cannot read the image ({exc})", where=where) from None
    picture.thumbnail((MAX_SIDE, MAX_SIDE), Image.Resampling.LANCZOS)
    if fmt == "JPEG" and picture.mode == "RGB":
        return encode_jpeg(picture), "jpeg"
    return encode_png(picture), "png"


def render_file(spec: ImageSpec) -> tuple[bytes, str]:
    """Read an image file named by a ``kind: file`` spec."""
    path = Path(spec["root"]) / spec["file"]
    try:
        data = path.read_bytes()
    except OSError as exc:
        raise UserError(f"cannot read the image file ({exc.strerror or exc})", where=str(path)) from None
    return encode_user_image(data, str(path))


def file_spec(source: str, root: Path, file: str, licence: str = "", attribution: str = "") -> ImageSpec:
    return {"source": source, "kind": "file", "root": str(root), "file": file, "license": licence,
            "attribution": attribution}


@dataclass
class _Item:
    file: str
    license: str
    attribution: str
    qas: list[tuple[str, str | None, str]]
    title: str | None = None
    objects: tuple[str, ...] = ()


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
        self.name = f"folder:{path}"
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
        from PIL import Image, UnidentifiedImageError

        items: dict[str, _Item] = {}
        with metadata.open(encoding="utf-8") as handle:
            for number, line in enumerate(handle, start=1):
                if not line.strip():
                    continue
                where = f"{metadata}:line {number}"
                try:
                    record = json.loads(line)
                except json.JSONDecodeError as exc:
                    raise UserError(f"not valid JSON ({exc.msg})", where=where) from None
                if not isinstance(record, dict):
                    raise UserError("each line must be a JSON object", where=where)
                file = record.get("file_name")
                if not isinstance(file, str) or not file.strip():
                    raise UserError("file_name is missing", where=f"{where}: field file_name")
                item = items.get(file)
                if item is None:
                    image_path = (self.root / file).resolve()
                    if not image_path.is_file():
                        raise UserError(f"image {file!r} not found in {self.root}", where=f"{where}: field file_name")
                    try:
                        with Image.open(image_path):
                            pass
                    except (UnidentifiedImageError, OSError) as exc:
                        raise UserError(f"image {file!r} cannot be read ({exc})",
                                        where=f"{where}: field file_name") from None
                    item = items[file] = _Item(file, str(record.get("license") or ""),
                                               str(record.get("attribution") or ""), [])
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
        images = [file_spec("folder", self.root, item.file, item.license, item.attribution) for item in chosen]
        return ChatMaterial(images=images, qas=qas)
