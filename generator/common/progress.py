"""Progress bars for long work: counts and rate on stderr, silenced by ``--quiet``.

tqdm is imported when a bar is made, so the standard-library-only layers may import this module.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from typing import TYPE_CHECKING, TypeVar

if TYPE_CHECKING:
    from tqdm import tqdm

T = TypeVar("T")


def progress(iterable: Iterable[T] | None = None, *, total: int | None = None, desc: str = "",
             unit: str = "it", quiet: bool = False) -> tqdm:
    """Return a tqdm bar (usable as an iterator or with ``.update``) that writes to stderr unless ``quiet``."""
    from tqdm import tqdm

    return tqdm(iterable, total=total, desc=desc, unit=unit, disable=quiet, dynamic_ncols=True,
                mininterval=0.5, smoothing=0.1)


def iterate(iterable: Iterable[T], *, total: int | None = None, desc: str = "", unit: str = "it",
            quiet: bool = False) -> Iterator[T]:
    """Yield from ``iterable`` while advancing a progress bar."""
    bar = progress(iterable, total=total, desc=desc, unit=unit, quiet=quiet)
    try:
        yield from bar
    finally:
        bar.close()
