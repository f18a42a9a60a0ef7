"""Image Q&A sources: where a chat's images and questions come from.

Spec strings accepted by :func:`get_source`:

- ``mix`` (default): the built-in procedural families, several per chat;
- a family name (``bar_chart``, ``shapes``, ...): that family alone;
- ``photos``: scikit-image's bundled public-domain photographs (the ``photos`` extra), open questions;
- ``folder:PATH``: the user's images with ``metadata.jsonl`` (``file_name``, ``question``, optional ``answer``);
- ``hf:PATH_OR_ID[:split]``: a ``datasets`` dataset read through a column map (MMDU's dialogue layout included);
- ``mmdu:SOURCE``: MMDU's files as published (folder, JSON file, zip or ``hub:OWNER/NAME[/FILE.json][@REV]``),
  one dialogue with 2 to 5 images per chat, questions in order (CC-BY-NC-4.0).

A source only *plans*: :meth:`Source.sample_chat` returns pure-data image specs and questions. Pixels are made
later by :func:`render_image`, which is deterministic and can run in another process.
"""

from __future__ import annotations

from typing import Any

from generator.common.errors import UserError
from generator.generation.sources.base import (
    ANSWER_TYPES,
    IMAGE_KINDS,
    QA,
    SOURCE_KINDS,
    SOURCES,
    ChatMaterial,
    ImageSpec,
    Source,
    SourceInfo,
)

__all__ = [
    "ANSWER_TYPES",
    "QA",
    "SOURCES",
    "SOURCE_KINDS",
    "ChatMaterial",
    "ImageSpec",
    "Source",
    "SourceInfo",
    "get_source",
    "image_meta",
    "list_sources",
    "parse_column_map",
    "render_image",
]

DIFFICULTIES = (1, 2, 3)


def get_source(spec: str, *, column_map: dict[str, str] | str | None = None, difficulty: int = 1) -> Source:
    """Return the source named by ``spec`` (see the module docstring); raise ``UserError`` if unusable.

    A procedural family's name (or ``procedural:<family>``) gives that family alone; anything else is
    ``<prefix>[:<argument>]`` of a registered source (``procedural`` is another name for ``mix``).
    """
    from generator.generation.sources.families import FAMILIES
    from generator.generation.sources.mix import ProceduralSource

    if difficulty not in DIFFICULTIES:
        raise UserError(f"difficulty must be one of {', '.join(map(str, DIFFICULTIES))}, got {difficulty!r}")
    spec = (spec or "mix").strip()
    if spec == "procedural":
        spec = "mix"
    family = FAMILIES.find(spec[len("procedural:"):] if spec.startswith("procedural:") else spec)
    if family is not None:
        return ProceduralSource(family.name, [family], difficulty)
    prefix, _, argument = spec.partition(":")
    if prefix not in SOURCES:
        known = ", ".join(info.name for info in list_sources())
        raise UserError(f"unknown source {spec!r}; use one of: {known}")
    return SOURCES.get(prefix).from_spec(argument, column_map=parse_column_map(column_map), difficulty=difficulty)


def parse_column_map(column_map: dict[str, str] | str | None) -> dict[str, str]:
    """Turn ``"image=img,question=q"`` (or a dict) into a dict; raise ``UserError`` on a malformed entry."""
    if column_map is None:
        return {}
    if isinstance(column_map, dict):
        return {str(k): str(v) for k, v in column_map.items()}
    result: dict[str, str] = {}
    for part in column_map.split(","):
        part = part.strip()
        if not part:
            continue
        key, sep, value = part.partition("=")
        if not sep or not key.strip() or not value.strip():
            raise UserError(f"column map entry {part!r} is not of the form role=column", where="--column-map")
        result[key.strip()] = value.strip()
    return result


def list_sources() -> list[SourceInfo]:
    """Return what every source offers, for ``mmmtif sources``."""
    from generator.generation.sources.families import all_families
    from generator.generation.sources.mix import PROCEDURAL_LICENSE
    from generator.generation.sources.photos import PHOTOS_INFO

    families = all_families()
    types = tuple(t for t in ANSWER_TYPES if any(t in f.question_types for f in families))
    infos = [SourceInfo("mix", "procedural", types, PROCEDURAL_LICENSE,
                        "Default: every procedural family, several per chat, same-family images compared.")]
    infos += [SourceInfo(f.name, "procedural", f.question_types, PROCEDURAL_LICENSE, f.description)
              for f in families]
    infos.append(PHOTOS_INFO)
    from generator.generation.sources.mmdu import INFO as MMDU_INFO

    infos.append(MMDU_INFO)
    infos.append(SourceInfo("folder:PATH", "user", ANSWER_TYPES, "the user's",
                            "Images plus metadata.jsonl (file_name, question, optional answer, answer_type)."))
    infos.append(SourceInfo("hf:PATH_OR_ID[:split]", "user", ANSWER_TYPES, "the dataset's",
                            "A datasets dataset via --column-map image=...,question=...,answer=...; "
                            "MMDU's multi-image dialogue layout (images + conversations) is recognised."))
    return infos


def render_image(spec: ImageSpec) -> tuple[bytes, str]:
    """Return the encoded bytes and format ("png" or "jpeg", or the file's own) of one planned image."""
    kind = spec.get("kind")
    source = IMAGE_KINDS.find(kind) if isinstance(kind, str) else None
    if source is None:
        raise ValueError(f"image spec of unknown kind {kind!r}")
    return source.render(spec)


def image_meta(spec: ImageSpec) -> dict[str, Any]:
    """Return ``{"source", "license", "attribution"}`` for one planned image."""
    kind = spec.get("kind")
    source = IMAGE_KINDS.find(kind) if isinstance(kind, str) else None
    return source.meta(spec) if source is not None else Source.meta(spec)
