"""Rendering instruction wordings from the Jinja templates in ``templates/instructions/<group>.<name>.j2``.

Each type's file holds all its wordings: a comment line ``{# style: NAME #}`` opens a style, and within a style
the phrasings are separated by a line with three dashes; ``variant`` picks one (modulo their number). Styles: ``default`` and ``paraphrase`` (natural phrasings),
``official`` (the MMMT-IF release's wording, verbatim for its 13 parameter sets; types without an official
wording fall back to ``default``), ``rule`` (an imperative clause used inside update and revoke messages) and
``update`` (type-specific "instead of" messages). Rendering is deterministic: the Jinja ``random`` filter and
``lipsum`` are removed, undefined variables raise.
"""

from __future__ import annotations

import functools
import re
from collections.abc import Mapping
from typing import Any

from generator.core.instructions.registry import Instruction

TEMPLATE_STYLES = ("default", "paraphrase", "official")
_SEPARATOR = re.compile(r"^---[ \t]*$", re.MULTILINE)
_COMMENT = re.compile(r"^\{#.*?#\}\n?", re.DOTALL)

_MARK_NAMES = {"?": "question mark", "!": "exclamation mark", ".": "period"}
_NUMBER_WORDS = {1: "once", 2: "twice"}


_STYLE_LINE = re.compile(r"^\{# style: ([a-z_]+) #\}[ \t]*\n", re.MULTILINE)


@functools.cache
def _sources(type_id: str) -> dict[str, tuple[str, ...]]:
    """The phrasings of one type, by style, read from ``templates/instructions/<group>.<name>.j2``."""
    from generator.common.resources import resource_dir

    group, name = type_id.split(":", 1)
    path = resource_dir("templates") / "instructions" / f"{group}.{name}.j2"
    if not path.is_file():
        return {}
    source = _COMMENT.sub("", path.read_text(encoding="utf-8"), count=1)
    pieces = _STYLE_LINE.split(source)
    found: dict[str, tuple[str, ...]] = {}
    for style, body in zip(pieces[1::2], pieces[2::2], strict=True):
        if style in found:
            raise ValueError(f"{path.name}: style {style!r} appears twice")
        blocks = [block.strip("\n") for block in _SEPARATOR.split(body)]
        found[style] = tuple(block for block in blocks if block.strip())
    return found


@functools.cache
def _phrasings(type_id: str, style: str) -> tuple[Any, ...] | None:
    from generator.authoring.templates import compile_string

    blocks = _sources(type_id).get(style)
    if blocks is None:
        return None
    return tuple(compile_string(block) for block in blocks)


def phrasing_count(type_id: str, style: str = "default") -> int:
    found = _phrasings(type_id, style)
    if found is None and style == "official":
        found = _phrasings(type_id, "default")
    return len(found or ())


def _count_times(count: int) -> str:
    return _NUMBER_WORDS.get(count, f"{count} times")


def _context(type_id: str, kwargs: Mapping[str, Any]) -> dict[str, Any]:
    from generator.core.instructions.registry import get_type

    kind = get_type(type_id)
    ctx: dict[str, Any] = {spec.name: None for spec in kind.params}
    ctx.update(kwargs)
    relation = kwargs.get("relation")
    ctx["rel"] = {"at_most": "at most", "at_least": "at least", "exactly": "exactly"}.get(relation or "", "")
    ctx["times"] = lambda c: "at least once" if c == 1 else ("at least twice" if c == 2 else f"at least {c} times")
    ctx["count_times"] = _count_times
    if type_id == "number:include":
        from generator.core.instructions.types.number import describe

        phrase = describe(kwargs)
        ctx["number_phrase"] = phrase
        ctx["number_article"] = "an" if phrase[0] in "aeiou" else "a"
    if "mark" in kwargs:
        ctx["mark_name"] = _MARK_NAMES[kwargs["mark"]]
        ctx["mark_article"] = "an" if kwargs["mark"] == "!" else "a"
    if "words" in kwargs:
        quoted = [f"'{w}'" for w in kwargs["words"]]
        ctx["quoted_words"] = quoted[0] if len(quoted) == 1 else ", ".join(quoted[:-1]) + " or " + quoted[-1]
    return ctx


def render_wording(type_id: str, kwargs: Mapping[str, Any], style: str = "default", variant: int = 0) -> str:
    """Render one phrasing of ``type_id`` with validated ``kwargs``."""
    if style not in TEMPLATE_STYLES and style not in ("rule",):
        raise ValueError(f"unknown wording style {style!r} (choose from {', '.join(TEMPLATE_STYLES)})")
    templates = _phrasings(type_id, style)
    if templates:
        text = templates[variant % len(templates)].render(**_context(type_id, kwargs)).strip()
        if text:
            return text
    if style in ("official", "paraphrase"):
        return render_wording(type_id, kwargs, "default", variant)
    raise ValueError(f"no {style!r} wording for {type_id}")  # pragma: no cover - every type has default files


def wording(instruction: Instruction, style: str = "default", variant: int = 0) -> str:
    """The text of an instruction (see :meth:`InstructionType.wording`)."""
    return render_wording(instruction.id, instruction.kwargs, style=style, variant=variant)


def rule_text(instruction: Instruction) -> str:
    """The instruction as an imperative clause: "start every sentence with the letter S"."""
    return render_wording(instruction.id, instruction.kwargs, style="rule")


def update_wording(old: Instruction, new: Instruction) -> str:
    """A message that replaces ``old`` by ``new``: "From now on start every sentence with the letter C instead of S."

    Same-type updates use a type-specific "instead of" template when there is one; otherwise the message names both
    rules explicitly.
    """
    if old.id == new.id:
        templates = _phrasings(old.id, "update")
        if templates:
            ctx = _context(new.id, new.kwargs)
            ctx["old"] = dict(old.kwargs)
            ctx["new"] = dict(new.kwargs)
            for prefix, inst in (("old_", old), ("new_", new)):
                if "mark" in inst.kwargs:
                    ctx[prefix + "mark_name"] = _MARK_NAMES[inst.kwargs["mark"]]
                    ctx[prefix + "mark_article"] = "an" if inst.kwargs["mark"] == "!" else "a"
            return templates[0].render(**ctx).strip()
    return f"From now on {rule_text(new)} instead of the earlier rule to {rule_text(old)}."


def revoke_wording(instruction: Instruction) -> str:
    """A message that lifts an instruction: "You no longer need to include an odd number greater than 5 ..."."""
    rule = rule_text(instruction)
    return f"You no longer need to {rule}" + ("" if rule.endswith(".") else ".")
