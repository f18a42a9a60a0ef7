"""Generation knobs: one frozen dataclass per output config, loadable from and savable to YAML or JSON.

A variant of the benchmark is nothing but a set of knob values. Keeping them in one plain dataclass makes every
variant reproducible from a small file (``--config FILE``), printable in the dataset card, and comparable: two
configs whose *plan knobs* agree produce the same conversations (same images, questions and instructions) and
differ only in how the instructions are placed in the messages.
"""

from __future__ import annotations

import dataclasses
import json
import math
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from generator.common.errors import UserError
from generator.dataset.layout import RESERVED_NAMES, is_valid_config_name

OFFICIAL_HAZARD: tuple[float, ...] = (0.90, 0.78, 0.72, 0.81, 0.70, 0.45)
"""Chance that a turn adds an instruction given k = 0..5 already active, measured on the official release."""

CATALOGUES = ("official", "extended", "grounded", "all")
SCHEDULES = ("official", "fixed", "front-loaded", "uniform")
WORDING_STYLE_CHOICES = ("official", "paraphrased")  # the wording_style knob; see authoring.wording for template styles
PLACEMENTS = ("inline", "system", "end-only")

# Knobs that only change how a plan is rendered, never the plan itself.
RENDER_KNOBS = frozenset({"name", "description", "placement", "reminder_every"})



class KnobError(UserError):
    """A knob value that cannot produce a valid dataset; ``knob`` lets callers name the option or file field."""

    def __init__(self, message: str, *, knob: str, config: str) -> None:
        self.knob = knob
        self.config = config
        self.message = message
        super().__init__(message, where=f"config {config!r}: {knob}")


def catalogue_capacity(catalogue: str) -> int:
    """How many instructions of ``catalogue`` can be active at once: one per instruction type (category).

    Two instructions of the same type always conflict (see ``generator.authoring.conflicts``), with or without
    ``one_per_type``, so no plan can hold more. For ``official`` the bound is exact (every choice of one wording
    per category is compatible); in the larger sets some types exclude each other, so a chat may hold fewer.
    """
    from generator.core.instructions import instruction_set

    return len(instruction_set(catalogue))


@dataclass(frozen=True)
class GenConfig:
    """The knobs of one generated config (one variant).

    Plan knobs decide *what* a conversation contains; render knobs (:data:`RENDER_KNOBS`) decide only *where*
    the instructions appear in the messages, so configs differing only in render knobs share their conversations.
    """

    name: str = "mmmt-if"
    description: str = "The official MMMT-IF policy."
    turns: int = 20
    images_min: int = 2
    images_max: int = 5
    catalogue: str = "official"
    schedule: str = "official"
    hazard: tuple[float, ...] = OFFICIAL_HAZARD
    instruction_turns: tuple[int, ...] = ()
    max_active: int = 6
    instructions_per_turn: int = 1
    one_per_type: bool = True
    wording_style: str = "official"
    placement: str = "inline"
    reminder_every: int = 0
    min_gap: int = 1
    update_rate: float = 0.0
    revoke_share: float = 0.5
    distractor_rate: float = 0.0

    def __post_init__(self) -> None:
        # Lists from YAML/JSON become tuples so that the config stays hashable and compares by value.
        object.__setattr__(self, "hazard", tuple(float(x) for x in self.hazard))
        object.__setattr__(self, "instruction_turns", tuple(int(x) for x in self.instruction_turns))
        self.validate()

    # ------------------------------------------------------------------ checks
    def validate(self) -> None:
        """Raise :class:`UserError` naming the knob when a value cannot produce a valid dataset."""
        def fail(knob: str, message: str) -> None:
            raise KnobError(message, knob=knob, config=self.name)

        if not is_valid_config_name(self.name):
            fail("name", f"config name {self.name!r} must start with a letter or digit and use only letters, "
                         f"digits, '_' and '-' (no dots or slashes), and must not be "
                         f"{' or '.join(sorted(RESERVED_NAMES))}")
        if not 1 <= self.turns <= 1000:
            fail("turns", f"turns must be between 1 and 1000, got {self.turns}")
        if not 1 <= self.images_min <= self.images_max <= 20:
            fail("images_per_chat", f"images per chat must satisfy 1 <= min <= max <= 20, got "
                                    f"{self.images_min}-{self.images_max}")
        for knob, value, allowed in (("catalogue", self.catalogue, CATALOGUES),
                                     ("schedule", self.schedule, SCHEDULES),
                                     ("wording_style", self.wording_style, WORDING_STYLE_CHOICES),
                                     ("placement", self.placement, PLACEMENTS)):
            if value not in allowed:
                fail(knob, f"unknown {knob} {value!r}; choose one of {', '.join(allowed)}")
        if not self.hazard or any(not 0.0 <= p <= 1.0 for p in self.hazard):
            fail("hazard", "hazard must be a non-empty list of probabilities in [0, 1]")
        if not 0 <= self.max_active <= 100:
            fail("max_active", f"max_active must be between 0 and 100, got {self.max_active}")
        if not 1 <= self.instructions_per_turn <= 20:
            fail("instructions_per_turn", f"instructions_per_turn must be between 1 and 20, got "
                                          f"{self.instructions_per_turn}")
        if self.schedule == "fixed" and not self.instruction_turns:
            fail("instruction_turns", "schedule 'fixed' needs instruction_turns (e.g. 1,3,8)")
        for turn in self.instruction_turns:
            if not 1 <= turn <= self.turns:
                fail("instruction_turns", f"instruction turn {turn} is outside the chat's turns 1..{self.turns}")
        if self.schedule == "fixed":
            self._check_fixed_schedule(fail)
        if self.reminder_every < 0:
            fail("reminder_every", "reminder_every must be >= 0 (0 = never)")
        if not 1 <= self.min_gap <= max(1, self.turns):
            fail("min_gap", f"min_gap must be between 1 and the number of turns, got {self.min_gap}")
        for knob in ("update_rate", "revoke_share", "distractor_rate"):
            if not 0.0 <= getattr(self, knob) <= 1.0:
                fail(knob, f"{knob} must be a probability in [0, 1]")
        if self.placement == "system" and self.update_rate > 0:
            fail("placement", "a system prompt is fixed for the whole chat, so it cannot carry updates "
                              "(set update_rate to 0 or choose another placement)")

    def _check_fixed_schedule(self, fail: Any) -> None:
        """Refuse a fixed schedule the plan could only realise partly.

        The plan adds at most ``max_active`` instructions and at most one per type, and gives a listed turn as many
        new instructions as it is listed; a schedule beyond these limits would silently lose instructions (or
        stack several on a turn meant to receive one), so the published schedule would not be the one asked for.
        """
        turns = self.instruction_turns
        for turn in sorted(set(turns)):
            times = turns.count(turn)
            if times > self.instructions_per_turn:
                fail("instruction_turns", f"turn {turn} is listed {times} times but instructions_per_turn is "
                                          f"{self.instructions_per_turn}")
        capacity = catalogue_capacity(self.catalogue)
        if len(turns) > min(self.max_active, capacity):
            fail("instruction_turns", f"{len(turns)} instructions asked for, but at most {self.max_active} can be "
                                      f"active (max_active) and the {self.catalogue} catalogue has {capacity} "
                                      f"categories (one instruction each)")

    # ------------------------------------------------------------ conversions
    @property
    def images_per_chat(self) -> tuple[int, int]:
        return (self.images_min, self.images_max)

    def plan_key(self) -> dict[str, Any]:
        """The knobs that decide the conversations (configs with equal keys share conversations)."""
        return {k: v for k, v in self.to_dict().items() if k not in RENDER_KNOBS}

    def to_dict(self) -> dict[str, Any]:
        """Plain JSON/YAML-ready mapping; :meth:`from_dict` inverts it exactly."""
        data = dataclasses.asdict(self)
        data["hazard"] = list(self.hazard)
        data["instruction_turns"] = list(self.instruction_turns)
        return data

    def replace(self, **changes: Any) -> GenConfig:
        """A copy with some knobs changed (validated again)."""
        unknown = set(changes) - {f.name for f in dataclasses.fields(self)}
        if unknown:
            raise UserError(f"unknown knob(s): {', '.join(sorted(unknown))}")
        return dataclasses.replace(self, **changes)

    @classmethod
    def from_dict(cls, data: Mapping[str, Any], *, where: str = "config",
                  base_lookup: Callable[..., GenConfig] | None = None) -> GenConfig:
        """Build from a mapping; unknown keys and wrong types are user errors, never silently ignored.

        ``base: <preset>`` starts from a named preset, found by ``base_lookup(name, where=...)`` (the presets
        module passes its own lookup, so this module does not depend on it); ``images_per_chat: "2-5"`` is
        accepted as a shorthand.
        """
        if not isinstance(data, Mapping):
            raise UserError("a config must be a mapping of knob names to values", where=where)
        data = dict(data)
        base_name = data.pop("base", None)
        if base_name is not None:
            if base_lookup is None:
                raise UserError("'base' names a preset, which is not available here", where=f"{where}: base")
            base = base_lookup(str(base_name), where=f"{where}: base").to_dict()
        else:
            base = cls().to_dict()
        if "images_per_chat" in data:
            lo, hi = parse_range(data.pop("images_per_chat"), where=f"{where}: images_per_chat")
            data["images_min"], data["images_max"] = lo, hi
        known = {f.name: f for f in dataclasses.fields(cls)}
        for key, value in data.items():
            if key not in known:
                raise UserError(f"unknown knob {key!r}; known knobs: {', '.join(sorted(known))}", where=where)
            base[key] = _coerce(key, value, base[key], where=where)
        try:
            return cls(**base)
        except KnobError as exc:
            raise UserError(exc.message, where=f"{where}: {exc.knob}") from None

    def to_json(self) -> str:
        return json.dumps(self.to_dict(), indent=2, sort_keys=False) + "\n"


def _coerce(key: str, value: Any, default: Any, *, where: str) -> Any:
    """Check a file value against the knob's type (bool is not an int, ints are accepted as floats)."""
    def bad() -> UserError:
        expected = type(default).__name__
        if isinstance(default, list | tuple):
            expected = "a list of finite numbers" if key == "hazard" else "a list of whole numbers"
        return UserError(f"knob {key!r} expects {expected}, got {value!r}", where=where)

    if isinstance(default, bool):
        if not isinstance(value, bool):
            raise bad()
        return value
    if isinstance(default, int):
        if isinstance(value, bool) or not isinstance(value, int):
            raise bad()
        return value
    if isinstance(default, float):
        if isinstance(value, bool) or not isinstance(value, int | float) or not math.isfinite(value):
            raise bad()
        return float(value)
    if isinstance(default, str):
        if not isinstance(value, str):
            raise bad()
        return value
    if isinstance(default, list | tuple):
        if isinstance(value, str):
            value = [part for part in value.replace(" ", "").split(",") if part]
        if not isinstance(value, list | tuple):
            raise bad()
        return [_list_item(key, v, bad) for v in value]
    return value


def _list_item(key: str, value: Any, bad: Callable[[], UserError]) -> int | float:
    """One item of a list knob, exactly: 1.9 is not the turn 1, true is not 1, .inf is not a probability."""
    if isinstance(value, str):
        try:
            value = float(value) if key == "hazard" else int(value)
        except ValueError:
            raise bad() from None
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise bad()
    if key == "hazard":
        if not math.isfinite(value):
            raise bad()
        return float(value)
    if not isinstance(value, int):
        raise bad()
    return value


def parse_range(text: Any, *, where: str = "images-per-chat") -> tuple[int, int]:
    """Parse ``"2-5"`` or ``"3"`` (or an int, or a 2-list) into ``(min, max)``."""
    if isinstance(text, int) and not isinstance(text, bool):
        return (text, text)
    if isinstance(text, list | tuple) and len(text) == 2:
        parts = [str(x) for x in text]
    else:
        parts = str(text).strip().split("-")
    try:
        if len(parts) == 1:
            lo = hi = int(parts[0])
        elif len(parts) == 2:
            lo, hi = int(parts[0]), int(parts[1])
        else:
            raise ValueError
    except ValueError:
        raise UserError(f"expected MIN-MAX such as 2-5, got {text!r}", where=where) from None
    if lo > hi:
        raise UserError(f"MIN must not exceed MAX in {text!r}", where=where)
    return (lo, hi)


def parse_int_list(text: str, *, where: str) -> tuple[int, ...]:
    """Parse ``"1,3,8"`` into a tuple of positive ints."""
    try:
        values = tuple(int(part) for part in text.replace(" ", "").split(",") if part)
    except ValueError:
        raise UserError(f"expected comma-separated turn numbers such as 1,3,8, got {text!r}", where=where) from None
    if not values or any(v < 1 for v in values):
        raise UserError(f"turn numbers are 1-based and positive, got {text!r}", where=where)
    return values


def parse_splits(text: str) -> dict[str, int]:
    """Parse ``"test=100,validation=20"`` into an ordered mapping of split name to conversation count."""
    splits: dict[str, int] = {}
    for part in (p for p in text.replace(" ", "").split(",") if p):
        name, sep, count = part.partition("=")
        if not sep or not name or not count.isdigit():
            raise UserError(f"expected NAME=COUNT pairs such as test=100,validation=20, got {part!r}",
                            where="--splits")
        if not name.replace("_", "").isalnum():
            raise UserError(f"split name {name!r} must be letters, digits or underscores", where="--splits")
        if name in splits:
            raise UserError(f"split {name!r} given twice", where="--splits")
        if int(count) < 1:
            raise UserError(f"split {name!r} needs at least one conversation", where="--splits")
        splits[name] = int(count)
    if not splits:
        raise UserError("no splits given", where="--splits")
    return splits


def dump_config_file(configs: GenConfig | list[GenConfig], path: str | Path) -> None:
    """Write configs as YAML (or JSON when the suffix is .json), atomically; ``generation.variants.load_config_file`` reads it."""
    import yaml

    from generator.common import atomic

    items = [configs] if isinstance(configs, GenConfig) else list(configs)
    data: Any = items[0].to_dict() if len(items) == 1 else {"variants": [c.to_dict() for c in items]}
    path = Path(path)
    if path.suffix.lower() == ".json":
        text = json.dumps(data, indent=2) + "\n"
    else:
        text = yaml.safe_dump(data, sort_keys=False, allow_unicode=True)
    atomic.write_text(path, text)


__all__ = [
    "CATALOGUES",
    "OFFICIAL_HAZARD",
    "PLACEMENTS",
    "RENDER_KNOBS",
    "SCHEDULES",
    "WORDING_STYLE_CHOICES",
    "GenConfig",
    "KnobError",
    "catalogue_capacity",
    "dump_config_file",
    "parse_int_list",
    "parse_range",
    "parse_splits",
]
