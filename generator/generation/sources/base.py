"""Data types shared by every image Q&A source, and the question picker they all use.

A source turns an RNG into *material* for one chat: image specs (pure JSON data, rendered later, possibly in
another process) and questions that already name the images as Image1..ImageN. Keeping the plan as pure data
is what lets generation be split across workers and still be byte-identical.
"""

from __future__ import annotations

import random
from abc import ABC, abstractmethod
from dataclasses import dataclass, field
from typing import Any, ClassVar

from generator.common.errors import UserError
from generator.common.registry import Registry
from generator.core.instructions.facts import ChatFacts, ImageFacts

ANSWER_TYPES = ("number", "word", "yes/no", "list", "sequence", "open")
SOURCE_KINDS = ("procedural", "photos", "user")

ImageSpec = dict[str, Any]
"""JSON-serialisable description of one image; ``render_image`` turns it into bytes."""


@dataclass(frozen=True)
class QA:
    """One question of a chat.

    ``image_indices`` are 0-based positions in ``ChatMaterial.images`` of the images the question is about
    (the question text names them 1-based: index 0 is "Image1"). ``reference_answer`` is None when the answer
    cannot be checked (``answer_type == "open"`` without a reference).
    """

    question: str
    reference_answer: str | None
    answer_type: str
    image_indices: list[int] = field(default_factory=list)
    #: The form the question asks the answer to take, as instructions it implies (id, canonical kwargs), e.g.
    #: "in two sentences" -> exactly 2 sentences. The planner never places a question whose form clashes with
    #: the active instructions; it uses ``plain`` (the same question without the form) or another question.
    form: tuple[tuple[str, str], ...] = ()
    plain: str | None = None

    def __post_init__(self) -> None:
        if self.answer_type not in ANSWER_TYPES:
            raise ValueError(f"unknown answer type {self.answer_type!r}")
        if self.answer_type != "open" and not self.reference_answer:
            raise ValueError(f"answer type {self.answer_type!r} needs a reference answer: {self.question!r}")

    def to_dict(self) -> dict[str, Any]:
        return {"question": self.question, "reference_answer": self.reference_answer,
                "answer_type": self.answer_type, "image_indices": list(self.image_indices)}


@dataclass
class ChatMaterial:
    """The images and the questions of one chat, in chat order."""

    images: list[ImageSpec]
    qas: list[QA]


@dataclass(frozen=True)
class SourceInfo:
    """What ``mmmtif sources`` lists about a source."""

    name: str
    kind: str
    question_types: tuple[str, ...]
    license: str
    description: str

    def to_dict(self) -> dict[str, Any]:
        return {"name": self.name, "kind": self.kind, "question_types": list(self.question_types),
                "license": self.license, "description": self.description}


class Source(ABC):
    """A provider of chat material. Subclasses set ``name`` and ``kind``.

    A subclass that sets ``prefix`` registers itself in :data:`SOURCES` when it is defined: ``--source
    <prefix>:<argument>`` (or just ``<prefix>``) builds it with :meth:`from_spec`. The image spec kinds it plans
    (``image_kinds``) register with it, so :func:`~generator.generation.sources.render_image` and
    :func:`~generator.generation.sources.image_meta` find their renderer without a list of cases.
    """

    name: str
    kind: str
    #: ``--source`` prefix of a registered source ("folder", "hf", "photos"); empty for helper classes.
    prefix: ClassVar[str] = ""
    #: The ``kind`` values of the image specs this source plans.
    image_kinds: ClassVar[tuple[str, ...]] = ()

    def __init_subclass__(cls, **kwargs: Any) -> None:
        super().__init_subclass__(**kwargs)
        if cls.__dict__.get("prefix"):
            SOURCES.register(cls.prefix, cls)
        for image_kind in cls.__dict__.get("image_kinds", ()):
            IMAGE_KINDS.register(image_kind, cls)

    @classmethod
    def from_spec(cls, argument: str, *, column_map: dict[str, str], difficulty: int) -> Source:
        """Build the source from the part of ``--source`` after ``<prefix>:`` (empty when there is none)."""
        raise NotImplementedError(f"{cls.__name__} cannot be built from --source")

    @classmethod
    def render(cls, spec: ImageSpec) -> tuple[bytes, str]:
        """The encoded bytes and format of one planned image of this source."""
        raise NotImplementedError(f"{cls.__name__} renders no images")

    @classmethod
    def meta(cls, spec: ImageSpec) -> dict[str, Any]:
        """``{"source", "license", "attribution"}`` of one planned image of this source."""
        return {"source": spec.get("source", ""), "license": spec.get("license") or "unspecified (user data)",
                "attribution": spec.get("attribution") or ""}

    @abstractmethod
    def sample_chat(self, rng: random.Random, n_images: int, n_questions: int) -> ChatMaterial:
        """Return images and ``n_questions`` questions for one chat, using only ``rng`` for choices."""

    def image_facts(self, spec: ImageSpec) -> ImageFacts:
        """What one planned image shows, for image-grounded instructions. By default nothing is known about its
        content (only that it is an image, so the chat's image count is still a fact)."""
        return ImageFacts()

    def chat_facts(self, material: ChatMaterial) -> ChatFacts:
        """The facts of a chat's images in order, plus its questions (``generator.core.instructions.facts``)."""
        return ChatFacts(images=tuple(self.image_facts(spec) for spec in material.images),
                         questions=tuple(qa.question for qa in material.qas))


#: ``--source`` prefixes -> source classes; every module of the sources package is imported on first lookup.
SOURCES: Registry[type[Source]] = Registry("source", package="generator.generation.sources", error=UserError,
                                           hint="see `mmmtif sources`")
#: Image spec ``kind`` -> the source class that renders and describes such images.
IMAGE_KINDS: Registry[type[Source]] = Registry("image spec kind", package="generator.generation.sources")


def public_location(path: str) -> str:
    """How a user's folder or file is named in published data: as given when relative, else its last part.

    An absolute path (or ``~/...``) names this machine, not the data: a dataset built from ``/home/me/pics``
    records ``pics``. A relative path is recorded as given (normalised), so the same arguments give the same bytes
    from any working directory.
    """
    import os
    from pathlib import Path, PurePosixPath

    text = path.replace("\\", "/")
    if text.startswith(("/", "~")) or Path(path).is_absolute():
        return Path(path).expanduser().resolve().name or "root"
    return PurePosixPath(os.path.normpath(text).replace("\\", "/")).as_posix()


def public_source(source: str) -> str:
    """A ``--source`` value as published data records it: the paths of user sources (``folder:``, ``hf:``,
    ``mmdu:``) through :func:`public_location`; Hub ids and other sources as given."""
    from pathlib import Path

    prefix, sep, rest = source.partition(":")
    kind = SOURCES.find(prefix) if sep and rest else None
    if kind is None or kind.kind != "user":  # the user's own files: a folder, a file or a Hub repository
        return source
    path, split = rest, ""
    if prefix == "hf" and not Path(rest).expanduser().exists():
        head, _, tail = rest.rpartition(":")
        if head and Path(head).expanduser().exists():
            path, split = head, f":{tail}"
    if not Path(path).expanduser().exists():
        return source
    return f"{prefix}:{public_location(path)}{split}"


def provenance(spec: ImageSpec) -> ImageSpec:
    """The published part of an image spec: keys starting with ``_`` only serve rendering on this machine."""
    return {key: value for key, value in spec.items() if not key.startswith("_")}


def image_name(index: int) -> str:
    """Return the chat name of the image at 0-based ``index`` ("Image1" for 0)."""
    return f"Image{index + 1}"


def join_names(names: list[str]) -> str:
    """Join names as English prose: "Image1 and Image3", "Image1, Image2 and Image4"."""
    if len(names) == 1:
        return names[0]
    return ", ".join(names[:-1]) + " and " + names[-1]


# Open questions used when a chat needs more questions than its material offers. They never have a reference
# answer, so they cannot make a chat "wrong"; they keep the turn count the user asked for.
# Forms some generic questions ask for, as the instructions they imply (see QA.form).
FORM_TWO_SENTENCES: tuple[tuple[str, str], ...] = (("length:sentences", '{"n":2,"relation":"exactly"}'),)
FORM_TITLE: tuple[tuple[str, str], ...] = (
    ("length:sentences", '{"n":1,"relation":"at_most"}'),
    ("length:words_per_sentence", '{"n":12,"relation":"at_most"}'),
    ("length:words", '{"n":30,"relation":"at_most"}'),
)
FORM_CAPTION: tuple[tuple[str, str], ...] = (
    ("length:sentences", '{"n":2,"relation":"at_most"}'),
    ("length:words", '{"n":60,"relation":"at_most"}'),
)
#: Generic questions that ask for a form: (text, form, the same question without the form or None).
GENERIC_FORMED: tuple[tuple[str, tuple[tuple[str, str], ...], str | None], ...] = (
    ("Describe {a} in two sentences.", FORM_TWO_SENTENCES, "Describe {a}."),
    ("Give {a} a short title.", FORM_TITLE, None),
)
GENERIC_SINGLE = (
    "What is the most prominent element in {a}?",
    "Which colours dominate {a}?",
    "What would you change to make {a} easier to read or understand?",
    "What detail in {a} is easiest to overlook?",
    "What is in the top left corner of {a}?",
    "Summarise what {a} shows for someone who cannot see it.",
    "What is in the centre of {a}?",
    "What question would you ask about {a} to test a careful reader?",
    "Where might {a} be used?",
    "What is the first thing you notice in {a}?",
)
GENERIC_MULTI = (
    "What do {a} and {b} have in common?",
    "What is the biggest difference between {a} and {b}?",
    "Which of {a} and {b} contains more detail, and why?",
)
GENERIC_MULTI_FORMED: tuple[tuple[str, tuple[tuple[str, str], ...], str | None], ...] = (
    ("If {a} and {b} were put side by side in a report, what caption would fit both?", FORM_CAPTION, None),
)
# Form-free open questions the planner places when a question cannot be placed at a turn.
FALLBACK_SINGLE = ("What stands out to you in {a}?", "What do you notice first in {a}?",
                   "What is shown in {a}?")
FALLBACK_MULTI = ("How do {a} and {b} differ?", "What do {a} and {b} show?")


def fallback_question(image_indices: list[int], turn: int) -> QA:
    """A form-free open question about the same images as a question that could not be placed."""
    names = [image_name(i) for i in image_indices] or [image_name(0)]
    if len(names) >= 2:
        text = FALLBACK_MULTI[turn % len(FALLBACK_MULTI)].format(a=names[0], b=names[1])
        return QA(text, None, "open", list(image_indices[:2]))
    return QA(FALLBACK_SINGLE[turn % len(FALLBACK_SINGLE)].format(a=names[0]), None, "open",
              list(image_indices[:1]) or [0])


def generic_deck(rng: random.Random, n_images: int) -> list[QA]:
    """Every generic open question for a chat with ``n_images`` images, shuffled with ``rng``.

    Drawing from a shuffled deck (rather than a template at a time) keeps the filler questions varied.
    """
    deck = [QA(t.format(a=image_name(i)), None, "open", [i]) for t in GENERIC_SINGLE for i in range(n_images)]
    deck += [QA(t.format(a=image_name(i)), None, "open", [i], form,
                plain.format(a=image_name(i)) if plain else None)
             for t, form, plain in GENERIC_FORMED for i in range(n_images)]
    deck += [QA(t.format(a=image_name(i), b=image_name(j)), None, "open", [i, j])
             for t in GENERIC_MULTI for i in range(n_images) for j in range(i + 1, n_images)]
    deck += [QA(t.format(a=image_name(i), b=image_name(j)), None, "open", [i, j], form, None)
             for t, form, _ in GENERIC_MULTI_FORMED for i in range(n_images) for j in range(i + 1, n_images)]
    rng.shuffle(deck)
    return deck


def pick_questions(rng: random.Random, singles: list[list[QA]], multis: list[QA], n_questions: int,
                   *, multi_share: float = 0.25) -> list[QA]:
    """Choose ``n_questions`` distinct questions: images asked about in turn, some comparisons mixed in.

    ``singles[i]`` holds the candidate questions about image ``i`` alone. When the candidates run out, generic
    open questions fill the remaining turns (deterministically, from ``rng``).
    """
    if not singles:
        raise ValueError("a chat needs at least one image")
    pools = [list(pool) for pool in singles]
    for pool in pools:
        rng.shuffle(pool)
    multis = list(multis)
    rng.shuffle(multis)
    order = list(range(len(pools)))
    rng.shuffle(order)
    seen: set[str] = set()
    chosen: list[QA] = []
    cursor = 0
    deck: list[QA] = []
    while len(chosen) < n_questions:
        qa: QA | None = None
        if multis and rng.random() < multi_share:
            qa = multis.pop()
        else:
            for step in range(len(order)):
                pool = pools[order[(cursor + step) % len(order)]]
                if pool:
                    qa = pool.pop()
                    cursor = (cursor + step + 1) % len(order)
                    break
            if qa is None and multis:
                qa = multis.pop()
        if qa is None:
            if not deck:
                # a fresh deck; once every generic question has been used, repeats are allowed
                deck = generic_deck(rng, len(pools))
                if all(item.question in seen for item in deck):
                    seen.clear()
            qa = deck.pop()
        if qa.question in seen:
            continue
        seen.add(qa.question)
        chosen.append(qa)
    return chosen
