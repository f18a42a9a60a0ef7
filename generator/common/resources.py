"""Locate the resource folders (templates/, schemas/, dataset_card/, fonts) in a checkout or an installed wheel.

A checkout keeps them at the repository root; a wheel carries copies under ``generator/_data/`` (see setup.py).
"""

from __future__ import annotations

from pathlib import Path

_PACKAGE_DIR = Path(__file__).resolve().parent.parent  # the generator package


def resource_dir(name: str) -> Path:
    """Return the folder ``name`` (e.g. "templates"), preferring the installed copy."""
    for candidate in (_PACKAGE_DIR / "_data" / name, _PACKAGE_DIR.parent / name):
        if candidate.is_dir():
            return candidate
    raise FileNotFoundError(f"resource folder {name!r} not found (looked in the package and the checkout)")


def resource_path(name: str, *parts: str) -> Path:
    """Return a file inside a resource folder, e.g. ``resource_path("schemas", "report.schema.json")``."""
    path = resource_dir(name).joinpath(*parts)
    if not path.exists():
        raise FileNotFoundError(f"resource {path} not found")
    return path
