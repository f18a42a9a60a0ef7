"""The catalogue of instruction types, keyed by id (``group:name``), and validated instructions.

Types register themselves when their class is defined (:class:`~generator.core.instructions.base.InstructionType`)
in :data:`~generator.core.instructions.base.REGISTRY`, which imports every module of the ``types`` package on first
lookup, so adding a type is writing its class in a module there. :class:`Instruction` validates its parameters against the registry.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from generator.common.jsonutil import canonical_json
from generator.core.instructions.base import REGISTRY, InstructionType

_OFFICIAL_ORDER = (
    "length:sentences",
    "number:include",
    "start:letter",
    "end:punctuation",
    "length:words_per_sentence",
    "keyword:include",
)
SETS = ("official", "extended", "grounded", "all")


def get_type(type_id: str) -> InstructionType:
    """The instruction type with this id; unknown ids raise :class:`UnknownInstructionError`."""
    return REGISTRY.get(type_id)


def all_types() -> list[InstructionType]:
    """Every instruction type: the six official categories first, then the extended set sorted by id."""
    registry = REGISTRY.entries()
    official = [registry[i] for i in _OFFICIAL_ORDER]
    extended = sorted((t for t in registry.values() if not t.official), key=lambda t: t.id)
    return official + extended


def is_grounded(kind: InstructionType) -> bool:
    """True for image-grounded types: their parameters are facts of the chat's images (``types/grounded.py``)."""
    return bool(getattr(kind, "image_grounded", False))


def instruction_set(name: str) -> list[InstructionType]:
    """The types of a named set: ``official`` (the six categories), ``extended`` (the other text-only types),
    ``grounded`` (the six official categories plus the image-grounded types) or ``all``."""
    types = all_types()
    if name == "all":
        return types
    if name == "official":
        return [t for t in types if t.official]
    if name == "extended":
        return [t for t in types if not t.official and not is_grounded(t)]
    if name == "grounded":
        return [t for t in types if t.official or is_grounded(t)]
    raise ValueError(f"unknown instruction set {name!r} (choose from {', '.join(SETS)})")


@dataclass(frozen=True)
class Instruction:
    """An instruction type id plus its parameters; validated on construction and hashable."""

    id: str
    kwargs: Mapping[str, Any] = field(default_factory=dict)

    def __post_init__(self) -> None:
        if not isinstance(self.kwargs, Mapping):
            raise ValueError(f"{self.id}: kwargs must be a mapping, got {type(self.kwargs).__name__}")
        clean = get_type(self.id).validate(dict(self.kwargs))
        object.__setattr__(self, "kwargs", clean)

    def __hash__(self) -> int:
        return hash((self.id, self.kwargs_json))

    @property
    def kwargs_json(self) -> str:
        """The parameters as canonical JSON (``sort_keys``, separators ``(",", ":")``).

        Computed once per instruction: it is also the instruction's hash, and instructions key caches (the
        generator's requirements of an active set). The parameters are never changed after validation.
        """
        cached: str | None = self.__dict__.get("_kwargs_json")
        if cached is None:
            cached = canonical_json(dict(self.kwargs))
            object.__setattr__(self, "_kwargs_json", cached)
        return cached

    @classmethod
    def from_json(cls, id: str, kwargs_json: str | None) -> Instruction:
        """Build from an id and a JSON object string (``""`` or None mean no parameters)."""
        if kwargs_json in (None, ""):
            data: Any = {}
        else:
            try:
                data = json.loads(kwargs_json)
            except ValueError as exc:
                raise ValueError(f"{id}: kwargs is not valid JSON: {exc}") from None
        if not isinstance(data, dict):
            raise ValueError(f"{id}: kwargs must be a JSON object, got {kwargs_json!r}")
        return cls(id, data)

    def __repr__(self) -> str:
        return f"Instruction({self.id!r}, {self.kwargs_json})"


