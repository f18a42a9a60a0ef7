"""Progress bars for long work: counts and rate on stderr, silenced by ``--quiet``.

tqdm is imported when a visible bar is made, so the standard-library-only layers may import this module.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from typing import TYPE_CHECKING, Any, TypeVar

if TYPE_CHECKING:
    from tqdm import tqdm

T = TypeVar("T")


class _SilentBar:
    """What ``quiet`` asks for: the calls a bar takes (as a disabled tqdm bar takes them), and nothing drawn.

    A disabled tqdm bar would do the same, but importing tqdm and starting its monitor thread cost a small run
    more than the bar does.
    """

    def __init__(self, iterable: Iterable[Any] | None, total: int | None) -> None:
        self.iterable = iterable
        self.total = total
        self.n = self.initial = 0

    def __iter__(self) -> Iterator[Any]:
        return iter(self.iterable if self.iterable is not None else ())

    def update(self, n: float = 1) -> None:
        pass

    def set_postfix(self, *_: Any, **__: Any) -> None:
        pass

    def set_postfix_str(self, *_: Any, **__: Any) -> None:
        pass

    def refresh(self, *_: Any, **__: Any) -> None:
        pass

    def close(self) -> None:
        pass


def progress(iterable: Iterable[T] | None = None, *, total: int | None = None, desc: str = "",
             unit: str = "it", quiet: bool = False) -> tqdm:
    """Return a tqdm bar (usable as an iterator or with ``.update``) that writes to stderr unless ``quiet``."""
    if quiet:
        return _SilentBar(iterable, total)  # type: ignore[return-value]
    from tqdm import tqdm

    return tqdm(iterable, total=total, desc=desc, unit=unit, dynamic_ncols=True,
                mininterval=0.5, smoothing=0.1)


def iterate(iterable: Iterable[T], *, total: int | None = None, desc: str = "", unit: str = "it",
            quiet: bool = False) -> Iterator[T]:
    """Yield from ``iterable`` while advancing a progress bar."""
    bar = progress(iterable, total=total, desc=desc, unit=unit, quiet=quiet)
    try:
        yield from bar
    finally:
        bar.close()
