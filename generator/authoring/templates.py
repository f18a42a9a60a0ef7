"""The one Jinja environment that renders user messages: sandboxed, strict and free of randomness.

Templates are data a user may edit, so they run in Jinja's immutable sandbox. ``StrictUndefined`` turns a typo in
a variable name into an error instead of an empty string in thousands of rows. Jinja's ``random`` filter and the
``lipsum`` global draw from the process-wide ``random`` module, which would make output depend on process state,
so both are removed: templates must be pure functions of their inputs.
"""

from __future__ import annotations

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


__all__ = ["compile_string", "get_template", "make_environment", "render_template"]
