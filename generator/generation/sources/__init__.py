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
    QA,
    SOURCE_KINDS,
    ChatMaterial,
    ImageSpec,
    Source,
    SourceInfo,
)

__all__ = [
    "ANSWER_TYPES",
    "QA",
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
    """Return the source named by ``spec`` (see the module docstring); raise ``UserError`` if unusable."""
    from generator.generation.sources.families import all_families
    from generator.generation.sources.mix import MixSource, ProceduralSource

    if difficulty not in DIFFICULTIES:
        raise UserError(f"difficulty must be one of {', '.join(map(str, DIFFICULTIES))}, got {difficulty!r}")
    spec = (spec or "mix").strip()
    if spec in ("mix", "procedural"):
        return MixSource(difficulty)
    for family in all_families():
        if spec in (family.name, f"procedural:{family.name}"):
            return ProceduralSource(family.name, [family], difficulty)
    if spec == "photos":
        from generator.generation.sources.photos import PhotosSource

        return PhotosSource()
    if spec.startswith("folder:"):
        from generator.generation.sources.folder import FolderSource

        return FolderSource(spec[len("folder:"):])
    if spec.startswith("hf:"):
        from generator.generation.sources.hf import HFSource

        return HFSource(spec[len("hf:"):], column_map=parse_column_map(column_map))
    if spec.startswith("mmdu:"):
        from generator.generation.sources.mmdu import MMDUSource

        return MMDUSource(spec[len("mmdu:"):])
    known = ", ".join(info.name for info in list_sources())
    raise UserError(f"unknown source {spec!r}; use one of: {known}")


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
    if kind == "procedural":
        from generator.generation.sources import drawing
        from generator.generation.sources.families import family_by_name

        family = family_by_name(spec["family"])
        if family is None:
            raise UserError(f"unknown procedural family {spec['family']!r} in an image spec")
        return drawing.encode_png(family.render(spec["spec"])), "png"
    if kind == "photos":
        from generator.generation.sources.photos import render_photo

        return render_photo(spec)
    if kind == "file":
        from generator.generation.sources.folder import render_file

        return render_file(spec)
    if kind == "hf":
        from generator.generation.sources.hf import render_hf_image

        return render_hf_image(spec)
    if kind == "mmdu":
        from generator.generation.sources.mmdu import render_mmdu_image

        return render_mmdu_image(spec)
    raise ValueError(f"image spec of unknown kind {kind!r}")


def image_meta(spec: ImageSpec) -> dict[str, Any]:
    """Return ``{"source", "license", "attribution"}`` for one planned image."""
    kind = spec.get("kind")
    if kind == "procedural":
        from generator.generation.sources.mix import PROCEDURAL_LICENSE

        return {"source": spec["source"], "license": PROCEDURAL_LICENSE,
                "attribution": f"Generated by mmmt-if ({spec['family']} family); text in DejaVu Sans."}
    if kind == "photos":
        from generator.generation.sources.photos import photo_meta

        return photo_meta(spec)
    return {"source": spec.get("source", ""), "license": spec.get("license") or "unspecified (user data)",
            "attribution": spec.get("attribution") or ""}
