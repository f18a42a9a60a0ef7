"""The one Jinja environment that renders user messages: sandboxed, strict and free of randomness.

Templates are data a user may edit, so they run in Jinja's immutable sandbox. ``StrictUndefined`` turns a typo in
a variable name into an error instead of an empty string in thousands of rows. Jinja's ``random`` filter and the
``lipsum`` global draw from the process-wide ``random`` module, which would make output depend on process state,
so both are removed: templates must be pure functions of their inputs.
"""

from __future__ import annotations

import re
from functools import lru_cache
from pathlib import Path
from typing import Any

_REMOVED_FILTERS = ("random", "shuffle")
_REMOVED_GLOBALS = ("lipsum", "cycler", "joiner")


def make_environment(folder: str | Path | None = None) -> Any:
    """Return a sandboxed environment loading templates from ``folder`` (default: the templates resource)."""
    from jinja2 import FileSystemLoader, StrictUndefined
    from jinja2.sandbox import ImmutableSandboxedEnvironment

    from generator.common.resources import resource_dir

    env = ImmutableSandboxedEnvironment(
        loader=FileSystemLoader(str(folder or resource_dir("templates"))),
        undefined=StrictUndefined,
        autoescape=False,
        trim_blocks=True,
        lstrip_blocks=True,
        keep_trailing_newline=False,
    )
    for name in _REMOVED_FILTERS:
        env.filters.pop(name, None)
    for name in _REMOVED_GLOBALS:
        env.globals.pop(name, None)
    return env


@lru_cache(maxsize=4)
def _cached_environment(folder: str | None) -> Any:
    return make_environment(folder)


@lru_cache(maxsize=64)
def get_template(name: str, folder: str | None = None) -> Any:
    """Return a compiled template (cached per process: compiling is far slower than rendering)."""
    return _cached_environment(folder).get_template(name)


@lru_cache(maxsize=4096)
def compile_string(source: str) -> Any:
    """Compile a template held in a string (instruction wordings) in the same environment as the files."""
    return _cached_environment(None).from_string(source)


def render_template(name: str, **context: Any) -> str:
    """Render ``templates/<name>`` with ``context``; surrounding whitespace is stripped."""
    return get_template(name).render(**context).strip()


# ------------------------------------------------------------------------------------------ fast rendering
# A user message is rendered for every turn of every row: through Jinja that is 10-20 microseconds a call and
# grows with the reminder block (13 ms per 100-turn conversation). The messages' templates insert most of their
# variables verbatim and only test whether they are empty, so the template is rendered once per *shape* (which
# of those values are empty, how many items a list has) with markers in their place; that skeleton is cut at the
# markers, and later calls of the same shape only join the pieces with the values. The template file stays the
# one source of the wording; Jinja runs once per shape.
_MARKER = "\x00{}\x00"
_SLOT = re.compile("\x00(\\d+)\x00")


@lru_cache(maxsize=1024)
def _skeleton(name: str, shape: tuple[tuple[str, Any], ...], plain: tuple[tuple[str, Any], ...]
              ) -> tuple[tuple[str, ...], tuple[tuple[str, int], ...]] | None:
    """Pieces of ``name`` rendered with markers, and which value goes between them; None when unusable.

    ``shape`` gives, per verbatim variable, whether it is non-empty (a string) or the non-emptiness of each
    item (a list). The skeleton is refused (the caller renders through Jinja) unless every marker appears exactly
    once and the skeleton reproduces Jinja's output for probe values, i.e. unless the template really inserts each
    value once and unchanged.
    """
    context: dict[str, Any] = dict(plain)
    slots: list[tuple[str, int]] = []

    def marker(var: str, position: int) -> str:
        slots.append((var, position))
        return _MARKER.format(len(slots) - 1)

    for var, info in shape:
        if isinstance(info, tuple):
            context[var] = [marker(var, i) if full else "" for i, full in enumerate(info)]
        else:
            context[var] = marker(var, -1) if info else ""
    text = get_template(name).render(**context)
    parts = _SLOT.split(text)
    pieces, order = tuple(parts[0::2]), tuple(int(n) for n in parts[1::2])
    if sorted(order) != list(range(len(slots))):
        return None
    # A marker survives filters such as ``upper``; a probe with letters, spaces and punctuation does not, so
    # the skeleton is kept only if it reproduces Jinja's own output for probe values.
    probes = [f" Probe {n}: Zq x. " for n in range(len(slots))]
    probe_context: dict[str, Any] = dict(plain)
    for var, info in shape:
        if isinstance(info, tuple):
            probe_context[var] = [probes[slots.index((var, i))] if full else "" for i, full in enumerate(info)]
        else:
            probe_context[var] = probes[slots.index((var, -1))] if info else ""
    joined = pieces[0] + "".join(probes[n] + piece for n, piece in zip(order, pieces[1:], strict=True))
    if joined != get_template(name).render(**probe_context):
        return None
    return pieces, tuple(slots[n] for n in order)


def render_fast(name: str, verbatim: dict[str, str | list[str]], **plain: Any) -> str:
    """``render_template(name, **verbatim, **plain)``, without Jinja once the shape of the values was seen.

    ``verbatim`` holds the variables the template inserts unchanged and tests only for emptiness (strings, or
    lists of strings); ``plain`` (hashable values such as a distractor frame) select the template's branches and
    are part of the cache key. The output is the same string Jinja gives; tests compare both on many inputs.
    """
    shape = tuple([(var, tuple(map(bool, value)) if value.__class__ is list else bool(value))
                   for var, value in verbatim.items()])
    skeleton = _skeleton(name, shape, tuple(sorted(plain.items())))
    if skeleton is None:
        return render_template(name, **verbatim, **plain)
    pieces, slots = skeleton
    out = [pieces[0]]
    for (var, position), piece in zip(slots, pieces[1:], strict=True):
        value = verbatim[var]
        out.append(value if position < 0 else value[position])  # type: ignore[arg-type]
        out.append(piece)
    return "".join(out).strip()


@lru_cache(maxsize=1024)
def format_template(name: str, shape: tuple[tuple[str, Any], ...], order: tuple[tuple[str, int], ...],
                    plain: tuple[tuple[str, Any], ...] = ()) -> str | None:
    """``name`` as a ``str.format`` string for values of one shape; None when the template needs Jinja.

    ``shape`` is as for the skeleton of :func:`render_fast` (every value it marks non-empty must be non-empty when
    the string is used); ``order`` lists the values' ``(variable, position)`` (position -1 for a string), and
    ``{k}`` stands for the k-th positional argument of ``format``. One ``format`` call is a few times cheaper than
    :func:`render_fast`'s key and join, and the string is cut from the same probed skeleton, so it gives Jinja's
    text; the caller strips the result as :func:`render_template` does.
    """
    skeleton = _skeleton(name, shape, plain)
    if skeleton is None:
        return None
    pieces, slots = skeleton
    if not set(slots) <= set(order):
        return None
    out = [pieces[0].replace("{", "{{").replace("}", "}}")]
    for slot, piece in zip(slots, pieces[1:], strict=True):
        out.append("{" + str(order.index(slot)) + "}")
        out.append(piece.replace("{", "{{").replace("}", "}}"))
    return "".join(out)


__all__ = ["compile_string", "format_template", "get_template", "make_environment", "render_fast",
           "render_template"]
