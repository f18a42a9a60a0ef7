"""Core types of the catalogue: instructions, parameter specs, verdicts and the instruction-type base class.

Standard library only: scoring embeds this module. Wordings live in :mod:`generator.authoring.wording`.
Parameters are validated when an :class:`Instruction` is built, so a checker never sees missing or malformed
parameters and never fills in a default at scoring time.
"""

from __future__ import annotations

import random
import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, ClassVar

from generator.common.errors import UnknownInstructionError
from generator.common.registry import Registry

if TYPE_CHECKING:
    from generator.core.instructions.requirements import Requirements

__all__ = ["REGISTRY", "Conflict", "Example", "InstructionType", "ParamSpec", "Verdict", "remove_phrase"]


@dataclass(frozen=True)
class Verdict:
    """Outcome of one check: ``ok`` and a short human-readable ``reason``."""

    ok: bool
    reason: str = ""

    def __bool__(self) -> bool:
        return self.ok


@dataclass(frozen=True)
class Conflict:
    """A declared conflict with another type: ``predicate(own kwargs, other kwargs)`` and a short reason."""

    predicate: Callable[[Mapping[str, Any], Mapping[str, Any]], bool]
    reason: str


@dataclass(frozen=True)
class Example:
    """Parameters with texts that pass and texts that fail them (strict mode); the registry tests run them all."""

    kwargs: Mapping[str, Any]
    passing: tuple[str, ...] = ()
    failing: tuple[str, ...] = ()


def remove_phrase(phrase: str, text: str) -> str:
    """``text`` with every whole-word use of ``phrase`` replaced (a perturbation helper)."""
    pattern = r"(?i)(?<![^\W_])" + r"\s+".join(map(re.escape, phrase.split())) + r"(?![^\W_])"
    return re.sub(pattern, "xx", text)


@dataclass(frozen=True)
class ParamSpec:
    """One parameter of an instruction type.

    ``kind`` is one of ``int``, ``str``, ``choice``, ``letter`` (one alphabetic character), ``keyword`` (a word
    or short phrase without sentence punctuation), ``phrase`` (one line of text), ``words`` (a list of keywords),
    ``strings`` (a list of one-line phrases, such as image titles) or ``ints`` (a list of integers).
    Optional parameters may be absent or null: absence means "no such constraint", never a default value.
    """

    name: str
    kind: str
    description: str
    choices: tuple[str, ...] | None = None
    minimum: int | None = None
    maximum: int | None = None
    required: bool = True

    def describe(self) -> str:
        """Compact text such as ``n: int 1..50`` used by docs and the CLI table."""
        if self.kind == "choice" and self.choices:
            text = f"{self.name}: {'|'.join(self.choices)}"
        elif self.kind == "int":
            low = "" if self.minimum is None else str(self.minimum)
            high = "" if self.maximum is None else str(self.maximum)
            text = f"{self.name}: int {low}..{high}"
        else:
            text = f"{self.name}: {self.kind}"
        return text if self.required else text + " (optional)"


def _is_phrase(value: object) -> bool:
    from generator.core import text as textmod

    if not isinstance(value, str) or not value.strip() or "\n" in value:
        return False
    return bool(textmod.words(value))


def _validate_param(spec: ParamSpec, value: object, type_id: str) -> object:
    where = f"{type_id}: parameter {spec.name!r}"
    if spec.kind == "int":
        if isinstance(value, bool) or not isinstance(value, int):
            raise ValueError(f"{where} must be an integer, got {value!r}")
        if spec.minimum is not None and value < spec.minimum:
            raise ValueError(f"{where} must be >= {spec.minimum}, got {value}")
        if spec.maximum is not None and value > spec.maximum:
            raise ValueError(f"{where} must be <= {spec.maximum}, got {value}")
        return value
    if spec.kind == "choice":
        if value not in (spec.choices or ()):
            raise ValueError(f"{where} must be one of {list(spec.choices or ())}, got {value!r}")
        return value
    if spec.kind == "letter":
        if not isinstance(value, str) or len(value) != 1 or not value.isalpha():
            raise ValueError(f"{where} must be a single letter, got {value!r}")
        return value
    if spec.kind == "keyword":
        if not isinstance(value, str) or not _is_phrase(value) or any(c in value for c in ",.!?;:\"") \
                or len(value.strip()) < 2:
            raise ValueError(f"{where} must be a word or short phrase without punctuation, got {value!r}")
        return value
    if spec.kind == "phrase":
        if not _is_phrase(value):
            raise ValueError(f"{where} must be a non-empty one-line phrase, got {value!r}")
        return value
    if spec.kind == "words":
        if not isinstance(value, list) or not value:
            raise ValueError(f"{where} must be a non-empty list of words, got {value!r}")
        for item in value:
            if not _is_phrase(item) or any(c in item for c in ",.!?;:\"") or len(item.strip()) < 2:
                raise ValueError(f"{where} has an invalid word {item!r}")
        return list(value)
    if spec.kind == "strings":
        if not isinstance(value, list) or not value or not all(_is_phrase(item) for item in value):
            raise ValueError(f"{where} must be a non-empty list of one-line phrases, got {value!r}")
        return list(value)
    if spec.kind == "ints":
        if not isinstance(value, list) or not value or any(
                isinstance(item, bool) or not isinstance(item, int) for item in value):
            raise ValueError(f"{where} must be a non-empty list of integers, got {value!r}")
        if spec.minimum is not None and min(value) < spec.minimum:
            raise ValueError(f"{where} items must be >= {spec.minimum}, got {min(value)}")
        if spec.maximum is not None and max(value) > spec.maximum:
            raise ValueError(f"{where} items must be <= {spec.maximum}, got {max(value)}")
        return list(value)
    if spec.kind == "str":
        if not isinstance(value, str) or not value:
            raise ValueError(f"{where} must be a non-empty string, got {value!r}")
        return value
    raise ValueError(f"{where}: unknown parameter kind {spec.kind!r}")  # pragma: no cover


#: Every concrete instruction type, by id, registered when its class is defined (see ``__init_subclass__``); the
#: modules of the ``types`` package are imported on first lookup.
REGISTRY: Registry[InstructionType] = Registry("instruction id", package="generator.core.instructions.types",
                                              error=UnknownInstructionError, hint="see `mmmtif instructions`")


class InstructionType:
    """Base class of every instruction type: parameters, sampler, checker and witness contribution.

    Subclasses set ``id``, ``description``, ``params`` and implement ``check_text``, ``sample_kwargs`` and
    ``contribute``. ``official`` marks the six categories of the original benchmark. Defining a subclass with an
    ``id`` registers one instance of it: there is no list of types to keep in step.
    """

    def __init_subclass__(cls, **kwargs: Any) -> None:
        super().__init_subclass__(**kwargs)
        type_id = cls.__dict__.get("id")
        if type_id:  # classes without their own id are shared helpers, not types
            REGISTRY.register(type_id, cls())

    id: str = ""
    description: str = ""
    params: tuple[ParamSpec, ...] = ()
    official: bool = False
    rule_sensitive_to_case: bool = False
    #: Other type id -> the conflict with it (declared once, on either side; evaluated in both directions).
    conflicts: ClassVar[Mapping[str, Conflict]] = {}
    #: Parameter sets with passing and failing texts.
    examples: ClassVar[tuple[Example, ...]] = ()

    @property
    def group(self) -> str:
        return self.id.split(":", 1)[0]

    @property
    def name(self) -> str:
        return self.id.split(":", 1)[1]

    # -- parameters -------------------------------------------------------------------------------------------
    def validate(self, kwargs: dict[str, Any]) -> dict[str, Any]:
        """Return cleaned kwargs or raise ValueError for unknown, missing or malformed parameters."""
        known = {spec.name: spec for spec in self.params}
        unknown = sorted(set(kwargs) - set(known))
        if unknown:
            raise ValueError(f"{self.id}: unknown parameter(s) {unknown}")
        clean: dict[str, Any] = {}
        for spec in self.params:
            value = kwargs.get(spec.name)
            if value is None:
                if spec.required:
                    raise ValueError(f"{self.id}: missing parameter {spec.name!r}")
                continue
            clean[spec.name] = _validate_param(spec, value, self.id)
        self.validate_combination(clean)
        return clean

    def validate_combination(self, kwargs: dict[str, Any]) -> None:
        """Hook for cross-parameter consistency (e.g. a number predicate that no integer satisfies)."""

    def sample_kwargs(self, rng: random.Random) -> dict[str, Any]:
        """Draw parameters from ``rng`` (a ``generator.common.rng.derive_rng`` generator)."""
        return {}

    # -- checking ---------------------------------------------------------------------------------------------
    def check(self, kwargs: Mapping[str, Any], text: str) -> Verdict:
        """Validate ``kwargs`` and check ``text`` (strict reading)."""
        clean = self.validate(dict(kwargs))
        return self.check_text(clean, text)

    def check_text(self, kwargs: Mapping[str, Any], text: str) -> Verdict:  # pragma: no cover - abstract
        raise NotImplementedError

    # -- witness ----------------------------------------------------------------------------------------------
    def contribute(self, kwargs: Mapping[str, Any], req: Requirements) -> None:  # pragma: no cover - abstract
        """Record what a satisfying response needs in the shared requirements of the witness composer."""
        raise NotImplementedError

    def perturb(self, kwargs: Mapping[str, Any], text: str) -> str:  # pragma: no cover - abstract
        """Turn a text that follows this instruction into one that does not (the registry tests break witnesses)."""
        raise NotImplementedError

    def __repr__(self) -> str:
        return f"<InstructionType {self.id}>"


Checker = Callable[[Mapping[str, Any], str], Verdict]
