"""Synthetic MMDU files built in the tests, some dialogues carrying the official release's real questions.

MMDU itself is never downloaded. The fixture writes MMDU's two container shapes and both role spellings:

- ``benchmark.json``: a dict keyed by id, roles ``user``/``assistant``, images in ``mmdu_pics.zip``;
- ``mmdu-45k.json``: a list, roles ``human``/``gpt``, images unzipped under ``mmdu-45k_pics/``.

Paths are stored with MMDU's leading ``/``; the first user turn lists its images as ``Image1: <ImageHere>; ...``.
The dialogues (see :data:`EXPECTED`) carry the real questions of a few official conversations, with curator-style
edits and interleaved extra turns, next to near-duplicate decoys, an ambiguous pair, an identical copy and a
partial decoy, so the matcher is exercised on the real wordings, on ambiguity and on misses.
"""

from __future__ import annotations

import csv
import hashlib
import io
import json
import re
import zipfile
from dataclasses import dataclass, field
from pathlib import Path

REPO_ROOT = Path(__file__).resolve().parent.parent
OFFICIAL_CSV = REPO_ROOT / "tests" / "data" / "official" / "mmmt_if_public_release.csv"

#: official conversation -> expected decision (the dialogue key for a match)
EXPECTED = {
    "0": ("matched", "benchmark.json#bench-0"),  # exact questions; a two-word-edit decoy is refused
    "1": ("matched", "mmdu-45k.json#45k-1"),  # curator edits and extra MMDU turns interleaved
    "2": ("matched", "benchmark.json#bench-2"),  # a decoy with a third of the questions replaced is refused
    "3": ("ambiguous", None),  # the same questions in two dialogues with different images
    "4": ("no-match", None),  # only a partial decoy carries half of its questions
    "5": ("matched", "benchmark.json#bench-5"),  # an identical copy (same image bytes) is not ambiguity
    "32": ("matched", "mmdu-45k.json#45k-32"),  # the official numbering skips turn 10
}
DECOYS = ("mmdu-45k.json#decoy-0", "mmdu-45k.json#decoy-2", "benchmark.json#twin-3a", "mmdu-45k.json#twin-3b",
          "benchmark.json#partial-4")
EXTRA_QUESTIONS = ("Which colours stand out most in Image1?", "How would you title Image2 for a catalogue?")
_IMAGE_REF = re.compile(r"\bImage\s?(\d+)\b")


def official_questions() -> dict[str, list[tuple[int, str]]]:
    """(turn, question) of every official conversation, read from the release with the project's own parser."""
    from generator.release.official_import import read_official

    release = read_official(OFFICIAL_CSV)
    return {chat.id: [(t.turn, t.question) for t in chat.turns] for chat in release.chats}


def write_official_subset(path: Path, ids: tuple[str, ...] = tuple(EXPECTED)) -> Path:
    """The official CSV reduced to the conversations ``ids`` (header and rows verbatim)."""
    with OFFICIAL_CSV.open(newline="", encoding="utf-8") as handle:
        rows = list(csv.reader(handle))
    with path.open("w", newline="", encoding="utf-8") as handle:
        writer = csv.writer(handle)
        writer.writerow(rows[0])
        writer.writerows(row for row in rows[1:] if row and row[0].strip() in ids)
    return path


def image_bytes(seed: int) -> bytes:
    """A small JPEG, different for every seed."""
    from PIL import Image, ImageDraw

    picture = Image.new("RGB", (40, 30), ((seed * 67) % 256, (seed * 131) % 256, (seed * 29) % 256))
    ImageDraw.Draw(picture).rectangle((seed % 20, 5, seed % 20 + 10, 20), fill=(255 - seed % 256, 10, 90))
    out = io.BytesIO()
    picture.save(out, format="JPEG", quality=90)
    return out.getvalue()


def bomb_png(side: int = 14000) -> bytes:
    """A small PNG declaring more pixels than Pillow's limit: twice over it by default (Pillow raises), 10000 for
    a size between the limit and twice it (Pillow only warns)."""
    import io

    from PIL import Image

    out = io.BytesIO()
    Image.new("1", (side, side)).save(out, format="PNG")
    return out.getvalue()


def edit(question: str, words: int) -> str:
    """A curator-style edit: ``words`` words replaced, case and final punctuation changed."""
    tokens = question.split()
    for k in range(words):
        position = (3 + 5 * k) % len(tokens)
        if not _IMAGE_REF.search(tokens[position]):
            tokens[position] = "quite"
    return " ".join(tokens).rstrip("?.") + " ?"


@dataclass
class Dialogue:
    """One synthetic MMDU record before it is written."""

    id: str
    file: str  # "benchmark.json" or "mmdu-45k.json"
    questions: list[str]
    images: list[int]  # image seeds, in marker order
    names: list[str] = field(default_factory=list)  # image file names (default: <id>_<k>.jpg)

    @property
    def key(self) -> str:
        return f"{self.file}#{self.id}"


def needed_images(questions: list[str]) -> int:
    return max([2, *(int(m) for q in questions for m in _IMAGE_REF.findall(q))])


def dialogues() -> list[Dialogue]:
    """The fixture's dialogues (see the module docstring and :data:`EXPECTED`)."""
    official = {cid: [q for _, q in turns] for cid, turns in official_questions().items()}
    out: list[Dialogue] = []

    def add(did: str, file: str, questions: list[str], seed: int, count: int | None = None,
            names: list[str] | None = None) -> None:
        n = count or needed_images(questions)
        out.append(Dialogue(did, file, questions, [seed * 10 + k for k in range(n)], names or []))

    q0, q1, q2, q3, q4, q5, q32 = (official[c] for c in ("0", "1", "2", "3", "4", "5", "32"))
    add("bench-0", "benchmark.json", q0, 1)
    add("decoy-0", "mmdu-45k.json", [edit(q, 2) for q in q0], 2)
    interleaved = []
    for k, question in enumerate(q1):
        interleaved.append(edit(question, 1) if k % 3 == 0 else question)
        if k in (1, 4):
            interleaved.append(EXTRA_QUESTIONS[k == 4])
    add("45k-1", "mmdu-45k.json", interleaved, 3)
    add("bench-2", "benchmark.json", q2, 4)
    replaced = [EXTRA_QUESTIONS[k % 2] + f" Detail {k}." if k % 3 == 0 else q for k, q in enumerate(q2)]
    add("decoy-2", "mmdu-45k.json", replaced, 5)
    add("twin-3a", "benchmark.json", q3, 6)
    add("twin-3b", "mmdu-45k.json", q3, 7)
    half = len(q4) // 2
    add("partial-4", "benchmark.json", q4[:half] + [f"Describe the lighting of Image1, part {k}." for k in range(half)],
        8)
    add("bench-5", "benchmark.json", q5, 9)
    copy = out[-1]
    out.append(Dialogue("copy-5", "mmdu-45k.json", list(q5), list(copy.images),
                        [f"copy5_{k}.jpg" for k in range(len(copy.images))]))
    add("45k-32", "mmdu-45k.json", q32, 11)
    add("filler-a", "benchmark.json", list(EXTRA_QUESTIONS), 12, 3)
    add("filler-b", "mmdu-45k.json", list(EXTRA_QUESTIONS) * 2, 13, 4)
    return out


def record(d: Dialogue, roles: tuple[str, str], folder: str) -> dict:
    """The MMDU record of a dialogue; markers are spread over turns 1 and 2 when it has more than two images."""
    names = d.names or [f"{d.id}_{k}.jpg" for k in range(len(d.images))]
    first = min(2, len(d.images))
    conversations = []
    for t, question in enumerate(d.questions):
        if t == 0:
            question = "; ".join(f"Image{k + 1}: <ImageHere>" for k in range(first)) + ". " + question
        elif t == 1 and len(d.images) > first:
            question = "; ".join(f"Image{k + 1}: <ImageHere>" for k in range(first, len(d.images))) + ". " + question
        conversations.append({"from": roles[0], "value": question})
        conversations.append({"from": roles[1], "value": f"MMDU answer {t + 1} of {d.id}."})
    return {"id": d.id, "image": [f"/{folder}/{name}" for name in names], "conversations": conversations}


def write_mmdu(root: Path) -> dict[str, list[str]]:
    """Write the fixture as downloaded (benchmark.json + mmdu_pics.zip, mmdu-45k.json + unzipped pictures).

    Returns the SHA-256 of every dialogue's images in marker order, by dialogue key.
    """
    root.mkdir(parents=True, exist_ok=True)
    bench = [d for d in dialogues() if d.file == "benchmark.json"]
    k45 = [d for d in dialogues() if d.file == "mmdu-45k.json"]
    digests: dict[str, list[str]] = {}
    with zipfile.ZipFile(root / "mmdu_pics.zip", "w") as archive:
        for d in bench:
            rec = record(d, ("user", "assistant"), "mmdu_pics")
            for path, seed in zip(rec["image"], d.images, strict=True):
                archive.writestr(path.lstrip("/"), image_bytes(seed))
            digests[d.key] = [hashlib.sha256(image_bytes(s)).hexdigest() for s in d.images]
    (root / "benchmark.json").write_text(
        json.dumps({d.id: record(d, ("user", "assistant"), "mmdu_pics") for d in bench}, indent=1), "utf-8")
    for d in k45:
        rec = record(d, ("human", "gpt"), "mmdu-45k_pics")
        for path, seed in zip(rec["image"], d.images, strict=True):
            target = root / path.lstrip("/")
            target.parent.mkdir(parents=True, exist_ok=True)
            target.write_bytes(image_bytes(seed))
        digests[d.key] = [hashlib.sha256(image_bytes(s)).hexdigest() for s in d.images]
    (root / "mmdu-45k.json").write_text(
        json.dumps([record(d, ("human", "gpt"), "mmdu-45k_pics") for d in k45], indent=1), "utf-8")
    return digests


def zip_folder(folder: Path, archive: Path) -> Path:
    """The whole fixture folder as one zip (JSON files at the top, the image zip's members unpacked into it)."""
    with zipfile.ZipFile(archive, "w") as out:
        for path in sorted(folder.rglob("*")):
            if not path.is_file():
                continue
            if path.suffix == ".zip":
                with zipfile.ZipFile(path) as inner:
                    for name in inner.namelist():
                        out.writestr(name, inner.read(name))
            else:
                out.write(path, path.relative_to(folder).as_posix())
    return archive
