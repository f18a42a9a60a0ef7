"""One registry pattern for every pluggable kind of thing: instruction types, image families, sources, commands.

A registry maps names to entries of one kind. Entries register themselves where they are defined (usually from a
base class's ``__init_subclass__``), and a registry that names a package imports every module of that package
the first time it is asked for its entries, so adding an entry is writing one module (or one class in an existing
module): there is no hand-kept list to update. Lookups of unknown names fail loudly with the known names listed.

Standard library only: the checker core, which the released scorer embeds, uses it for instruction types.
"""

from __future__ import annotations

import importlib
import pkgutil
from collections.abc import Callable, Iterator
from typing import Generic, TypeVar

T = TypeVar("T")


class Registry(Generic[T]):
    """Named entries of one kind (``what`` names the kind in error messages, e.g. "image family").

    ``package`` (a dotted module name) is imported with all its modules, in name order, before entries are read;
    modules whose name starts with an underscore are skipped. ``error`` is the exception raised for an unknown
    name (it receives one message argument); ``hint`` replaces the list of known names in that message when the
    list would be long (e.g. "see `mmmtif instructions`"). ``module_of`` names the module of ``package`` that
    defines an entry (when each entry has its own module): a lookup by name then imports that module alone, and the
    whole package only when the entry is not there (listing the entries always imports every module).
    """

    def __init__(self, what: str, *, package: str | None = None,
                 error: Callable[[str], Exception] = LookupError, hint: str | None = None,
                 module_of: Callable[[str], str] | None = None) -> None:
        self.what = what
        self.hint = hint
        self.package = package
        self.error = error
        self.module_of = module_of
        self._entries: dict[str, T] = {}
        self._loaded = package is None

    # -- registration ---------------------------------------------------------------------------------------------
    def register(self, name: str, entry: T) -> T:
        """Add ``entry`` under ``name``; a second entry with the same name is a programming error."""
        if not name:
            raise ValueError(f"a {self.what} needs a name")
        if name in self._entries:
            raise ValueError(f"duplicate {self.what} {name!r}")
        self._entries[name] = entry
        return entry

    def load(self) -> None:
        """Import every module of ``package`` once, so that its entries have registered themselves."""
        if self._loaded:
            return
        self._loaded = True
        assert self.package is not None
        module = importlib.import_module(self.package)
        for info in sorted(pkgutil.iter_modules(module.__path__), key=lambda m: m.name):
            if not info.name.startswith("_"):
                importlib.import_module(f"{self.package}.{info.name}")

    def _own_module(self, name: object) -> T | None:
        """The entry called ``name`` from its own module (see ``module_of``), or None when it is not found there."""
        if self.module_of is None or not isinstance(name, str):
            return None
        entry = self._entries.get(name)
        if entry is None:
            own = self.module_of(name)
            if not own.isidentifier() or own.startswith("_"):
                return None
            module = f"{self.package}.{own}"
            try:
                importlib.import_module(module)
            except ModuleNotFoundError as exc:
                if exc.name != module:
                    raise
                return None
            entry = self._entries.get(name)
        return entry

    # -- lookup -----------------------------------------------------------------------------------------------------
    def get(self, name: str) -> T:
        """The entry called ``name``; an unknown name raises ``error`` listing the known names."""
        if not self._loaded:
            entry = self._own_module(name)
            if entry is not None:
                return entry
            self.load()
        try:
            return self._entries[name]
        except (KeyError, TypeError):
            known = self.hint or "known: " + ", ".join(sorted(self._entries))
            raise self.error(f"unknown {self.what} {name!r} ({known})") from None

    def find(self, name: str) -> T | None:
        """The entry called ``name``, or None."""
        if not self._loaded:
            entry = self._own_module(name)
            if entry is not None:
                return entry
            self.load()
        return self._entries.get(name)

    def names(self) -> list[str]:
        """Every registered name, sorted."""
        self.load()
        return sorted(self._entries)

    def entries(self) -> dict[str, T]:
        """A copy of the name -> entry mapping, in registration order."""
        self.load()
        return dict(self._entries)

    def __contains__(self, name: object) -> bool:
        self.load()
        return name in self._entries

    def __iter__(self) -> Iterator[str]:
        return iter(self.names())

    def __len__(self) -> int:
        self.load()
        return len(self._entries)
