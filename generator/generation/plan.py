"""The seeded plan of a conversation: which images, which question at each turn, which instruction events where.

A plan is pure data computed from ``derive_rng(seed, split, "plan", index, <stream>)`` and the config's plan
knobs; nothing here renders text or images. Separate streams keep unrelated choices independent: the material
(images and questions), the instruction schedule, and the distractors each have their own, so a variant that
only adds distractors keeps the very same conversations and instructions as ``mmmt-if``.

Every instruction set is checked with the catalogue's ``compatible`` before it is accepted, so each turn of a
plan can be satisfied by a single response (the oracle's witness).
"""

from __future__ import annotations

import json
import random
from collections.abc import Sequence
from dataclasses import dataclass, field, fields
from functools import lru_cache
from typing import Any

from generator.common.jsonutil import canonical_json
from generator.common.rng import derive_rng
from generator.core.instructions.facts import ChatFacts, ImageFacts
from generator.generation.config import RENDER_KNOBS, GenConfig

#: How a distractor is framed in the user message (the templates hold the wording of each frame).
DISTRACTOR_FRAMES: tuple[str, ...] = ("quoted-note", "someone-else", "caption")

#: Attempts at drawing parameters that fit the active set before a turn gives up adding an instruction.
_MAX_DRAWS = 24


@dataclass(frozen=True)
class PlannedInstruction:
    """An instruction as the plan knows it: id, canonical parameters, and how to word it."""

    id: str
    kwargs: str
    style: str = "official"
    variant: int = 0

    @property
    def key(self) -> tuple[str, str]:
        return (self.id, self.kwargs)

    def to_instruction(self) -> Any:
        return _instruction(self.id, self.kwargs)


@lru_cache(maxsize=1 << 14)
def _instruction(type_id: str, kwargs: str) -> Any:
    """The validated ``Instruction`` of an (id, canonical kwargs) pair, built once per process: the proof of every
    turn needs the active ones again, and instructions are immutable values."""
    from generator.core.instructions import Instruction

    return Instruction(type_id, json.loads(kwargs))


@dataclass(frozen=True)
class InstructionEvent:
    """A change to the active set at one turn: ``add`` a new instruction, ``replace`` one, or ``revoke`` one."""

    action: str
    instruction: PlannedInstruction
    replaces: PlannedInstruction | None = None


@dataclass(frozen=True)
class ActiveInstruction:
    instruction: PlannedInstruction
    given_at: int


@dataclass(frozen=True)
class Distractor:
    """Instruction-like text the response must not obey; it conflicts with an active instruction."""

    instruction: PlannedInstruction
    frame: str
    target: PlannedInstruction


@dataclass(frozen=True)
class TurnPlan:
    turn: int
    qa: Any  # generator.generation.sources.base.QA
    events: tuple[InstructionEvent, ...] = ()
    active: tuple[ActiveInstruction, ...] = ()
    distractors: tuple[Distractor, ...] = ()


@dataclass(frozen=True)
class ConversationPlan:
    id: str
    split: str
    index: int
    images: tuple[dict[str, Any], ...]
    turns: tuple[TurnPlan, ...]
    system: tuple[PlannedInstruction, ...] = field(default=())
    conflicts_avoided: int = 0  # drawn instructions rejected because they conflicted with the active set


# ---------------------------------------------------------------------------------------------- candidates
@dataclass(frozen=True)
class _Candidate:
    """One thing the schedule may draw: a type with fixed parameters (official) or sampled ones (extended).

    The instruction *type* is the category of the official benchmark (sentence count, number, start letter, end
    punctuation, words per sentence, keyword): at most one per chat, two or three wordings each.
    """

    type_id: str
    kwargs: str | None  # fixed canonical kwargs, or None to sample


@lru_cache(maxsize=8)
def candidate_pool(catalogue: str) -> tuple[_Candidate, ...]:
    """The drawable instructions of a catalogue set, in a fixed order (so draws are reproducible)."""
    from generator.authoring import official_catalogue
    from generator.core.instructions import instruction_set

    official = tuple(_Candidate(inst.id, canonical_json(dict(inst.kwargs))) for _, inst in official_catalogue())
    if catalogue == "official":
        return official
    if catalogue == "grounded":
        # the 13 release wordings plus every image-grounded type (parameters drawn from the chat's images)
        grounded = sorted((t for t in instruction_set("grounded") if not t.official), key=lambda t: t.id)
        return official + tuple(_Candidate(t.id, None) for t in grounded)
    if catalogue == "all":
        # The official six with their exact wordings, plus every extended type with sampled parameters: what a
        # harder MMMT-IF draws from, so it still tests the categories of the paper.
        extended = sorted(instruction_set("extended"), key=lambda t: t.id)
        return official + tuple(_Candidate(t.id, None) for t in extended)
    types = sorted(instruction_set(catalogue), key=lambda t: t.id)
    return tuple(_Candidate(t.id, None) for t in types)


def _types(pool: Sequence[_Candidate]) -> list[str]:
    return sorted({c.type_id for c in pool})


def _draw_kwargs(candidate: _Candidate, rng: random.Random, facts: ChatFacts | None = None) -> str | None:
    """Canonical parameters for ``candidate``, or None when it needs facts of images the chat does not have.

    Image-grounded types draw from the chat's facts (:class:`ChatFacts`); without facts (placement statistics,
    distractors) they are never drawn.
    """
    if candidate.kwargs is not None:
        return candidate.kwargs
    from generator.core.instructions import Instruction, get_type, is_grounded

    kind = get_type(candidate.type_id)
    if is_grounded(kind):
        drawn = None if facts is None else kind.sample_for_chat(rng, facts)  # type: ignore[attr-defined]
        return None if drawn is None else Instruction(candidate.type_id, drawn).kwargs_json
    # Through Instruction: its validation is the one definition of clean parameters (e.g. no null optionals).
    return Instruction(candidate.type_id, kind.sample_kwargs(rng)).kwargs_json


def _compatible(instructions: Sequence[PlannedInstruction]) -> bool:
    return _compatible_keys(frozenset(p.key for p in instructions))


@lru_cache(maxsize=1 << 16)
def _compatible_keys(keys: frozenset[tuple[str, str]]) -> bool:
    """``compatible`` of a set of (id, kwargs) pairs, cached: it composes a witness, and sets recur often."""
    from generator.authoring import compatible
    from generator.authoring.reference import ReferenceError, write_reference

    items = [_instruction(i, k) for i, k in sorted(keys)]
    if not compatible(items):
        return False
    # The set must also admit a fluent reference text, for a short answer and for an open question.
    try:
        write_reference(items, _PROBE_ANSWER, "word", question="Which object is shown in Image1?")
        write_reference(items, None, "open", question=PROBE_QUESTION)
    except ReferenceError:
        return False
    return True


_PROBE_ANSWER = "the red box"
#: The open question the probe answers; the planner's last resort at a turn, so it is always provable there.
PROBE_QUESTION = "What is shown in Image1?"


@lru_cache(maxsize=1 << 14)
def _conflicts_keys(a: tuple[str, str], b: tuple[str, str]) -> bool:
    from generator.authoring import conflicts
    from generator.core.instructions import Instruction

    return bool(conflicts(Instruction(a[0], json.loads(a[1])), Instruction(b[0], json.loads(b[1]))))


def _conflicts(a: PlannedInstruction, b: PlannedInstruction) -> bool:
    return _conflicts_keys(a.key, b.key)


def _variant(cfg: GenConfig, rng: random.Random) -> int:
    """Which paraphrase to use (reduced modulo the catalogue's count when rendered); 0 for official wordings."""
    return rng.randrange(1 << 16) if cfg.wording_style == "paraphrased" else 0


class _Schedule:
    """The evolving active set of one conversation while its instruction events are drawn."""

    def __init__(self, cfg: GenConfig, rng: random.Random, facts: ChatFacts | None = None) -> None:
        self.cfg = cfg
        self.rng = rng
        self.facts = facts
        self.pool = candidate_pool(cfg.catalogue)
        self.active: list[ActiveInstruction] = []
        self.used_types: set[str] = set()
        self.used_keys: set[tuple[str, str]] = set()
        self.rejected = 0

    def _planned(self, type_id: str, kwargs: str) -> PlannedInstruction:
        return PlannedInstruction(type_id, kwargs, self.cfg.wording_style, _variant(self.cfg, self.rng))

    def _current(self) -> list[PlannedInstruction]:
        return [a.instruction for a in self.active]

    def try_add(self, turn: int) -> InstructionEvent | None:
        """Draw one new instruction that fits the active set, or None when nothing fits."""
        rng = self.rng
        current = self._current()
        if self.cfg.one_per_type:
            # The release draws a category uniformly among the unused ones, then a wording within it.
            order: list[str | None] = [t for t in _types(self.pool) if t not in self.used_types]
            rng.shuffle(order)
        else:
            order = [None]
        for category in order:
            members = [c for c in self.pool if category is None or c.type_id == category]
            for _ in range(_MAX_DRAWS):
                if not members:
                    break
                candidate = rng.choice(members)
                kwargs = _draw_kwargs(candidate, rng, self.facts)
                if kwargs is None:  # the chat's images cannot host this type
                    members = [m for m in members if m.type_id != candidate.type_id]
                    continue
                if (candidate.type_id, kwargs) in self.used_keys:
                    if candidate.kwargs is not None:
                        members = [m for m in members if m is not candidate]
                    continue
                planned = self._planned(candidate.type_id, kwargs)
                if _compatible([*current, planned]):
                    self.active.append(ActiveInstruction(planned, turn))
                    self.used_types.add(candidate.type_id)
                    self.used_keys.add(planned.key)
                    return InstructionEvent("add", planned)
                self.rejected += 1
                if candidate.kwargs is not None:
                    members = [m for m in members if m is not candidate]
            # Nothing of this category fits the active set now; it stays available for later turns.
        return None

    def try_update(self, turn: int) -> InstructionEvent | None:
        """Replace one active instruction by another of its type (S -> B), or revoke it (``updates``)."""
        if not self.active:
            return None
        rng = self.rng
        position = rng.randrange(len(self.active))
        target = self.active[position].instruction
        if rng.random() < self.cfg.revoke_share:
            del self.active[position]
            return InstructionEvent("revoke", target)
        others = [a.instruction for i, a in enumerate(self.active) if i != position]
        options = [c for c in self.pool if c.type_id == target.id and c.kwargs != target.kwargs]
        for _ in range(_MAX_DRAWS):
            if not options:
                return None
            candidate = rng.choice(options)
            kwargs = _draw_kwargs(candidate, rng, self.facts)
            if kwargs is None:
                return None
            if (candidate.type_id, kwargs) == target.key or (candidate.type_id, kwargs) in self.used_keys:
                if candidate.kwargs is not None:
                    options = [o for o in options if o is not candidate]
                continue
            planned = self._planned(candidate.type_id, kwargs)
            if _replaced_positions(self._current(), planned.id) == [position] and _compatible([*others, planned]):
                self.active[position] = ActiveInstruction(planned, turn)
                self.used_keys.add(planned.key)
                return InstructionEvent("replace", planned, replaces=target)
            self.rejected += 1
            if candidate.kwargs is not None:
                options = [o for o in options if o is not candidate]
        return None


def id_group(instruction_id: str) -> str:
    """The group part of an id ``group:name``; what a ``replace`` event is matched by after its id."""
    return instruction_id.split(":", 1)[0]


def _replaced_positions(active: Sequence[PlannedInstruction], new_id: str) -> list[int]:
    """Which active entries a ``replace`` with ``new_id`` supersedes: those with the same id, else the same group.

    Readers of a row (the schema check, the scorer) rebuild the active set from the events by this rule, so the
    planner only emits a replacement when the rule picks exactly the instruction it meant to replace.
    """
    same = [i for i, p in enumerate(active) if p.id == new_id]
    return same or [i for i, p in enumerate(active) if id_group(p.id) == id_group(new_id)]


def _fixed_counts(cfg: GenConfig) -> dict[int, int]:
    counts: dict[int, int] = {}
    for turn in cfg.instruction_turns:
        counts[turn] = counts.get(turn, 0) + 1
    return counts


def _uniform_counts(cfg: GenConfig, rng: random.Random) -> dict[int, int]:
    slots = [t for t in range(1, cfg.turns + 1) for _ in range(cfg.instructions_per_turn)]
    chosen = rng.sample(slots, min(cfg.max_active, len(slots)))
    counts: dict[int, int] = {}
    for turn in chosen:
        counts[turn] = counts.get(turn, 0) + 1
    return counts


Timeline = list[tuple[tuple[InstructionEvent, ...], tuple[ActiveInstruction, ...]]]


def plan_schedule(cfg: GenConfig, seed: int, split: str, index: int, facts: ChatFacts | None = None) -> Timeline:
    """Draw the instruction events of one conversation: per turn, (events, active set after them).

    Only the ``instructions`` stream is used, so this is also what the placement statistics are computed from.
    Image-grounded types are drawn only when the chat's ``facts`` are given.
    """
    return draw_schedule(cfg, seed, split, index, facts)[0]


def draw_schedule(cfg: GenConfig, seed: int, split: str, index: int, facts: ChatFacts | None = None
                  ) -> tuple[Timeline, int]:
    """The timeline and the number of drawn instructions rejected as incompatible with the active set."""
    rng = derive_rng(seed, split, "plan", index, "instructions")
    state = _Schedule(cfg, rng, facts)
    fixed = _fixed_counts(cfg) if cfg.schedule == "fixed" else {}
    spread = _uniform_counts(cfg, rng) if cfg.schedule == "uniform" else {}
    timeline: Timeline = []
    last_event_turn = -cfg.turns
    for turn in range(1, cfg.turns + 1):
        events: list[InstructionEvent] = []
        if cfg.schedule != "fixed" and turn - last_event_turn < cfg.min_gap:
            timeline.append(((), tuple(state.active)))
            continue
        room = cfg.max_active - len(state.active)
        if cfg.schedule == "official":
            wanted = 0
            while wanted < min(room, cfg.instructions_per_turn):
                k = len(state.active) + wanted
                if rng.random() >= cfg.hazard[min(k, len(cfg.hazard) - 1)]:
                    break
                wanted += 1
        elif cfg.schedule == "fixed":
            wanted = min(room, fixed.get(turn, 0))
        elif cfg.schedule == "front-loaded":
            wanted = min(room, rng.randint(1, cfg.instructions_per_turn)) if room > 0 else 0
        else:
            wanted = min(room, spread.get(turn, 0))
        for _ in range(wanted):
            event = state.try_add(turn)
            if event is None:
                break
            events.append(event)
        if not events and cfg.update_rate > 0 and state.active and rng.random() < cfg.update_rate:
            event = state.try_update(turn)
            if event is not None:
                events.append(event)
        if events:
            last_event_turn = turn
        timeline.append((tuple(events), tuple(state.active)))
    return timeline, state.rejected


# Distractors must be *logically* incompatible with their target, so that adopting one is visible in any response
# (the catalogue also declares same-type pairs such as two keywords as conflicting, by convention only).
_EXCLUSIVE_VALUE = {"start:letter": "letter", "end:punctuation": "mark"}
_RANGE_TYPES = frozenset({"length:sentences", "length:words_per_sentence", "length:words"})
_EXCLUSIVE_PAIRS = frozenset({frozenset({"case:lowercase", "case:uppercase"})})


def _bounds(kwargs: dict[str, Any]) -> tuple[float, float]:
    n = kwargs["n"]
    return {"at_most": (0, n), "at_least": (n, float("inf")), "exactly": (n, n)}[kwargs["relation"]]


def exclusive(a: PlannedInstruction, b: PlannedInstruction) -> bool:
    """True when no response can satisfy both ``a`` and ``b`` (e.g. start with S / start with B)."""
    if a.id != b.id:
        return frozenset({a.id, b.id}) in _EXCLUSIVE_PAIRS
    ka, kb = json.loads(a.kwargs), json.loads(b.kwargs)
    if a.id in _EXCLUSIVE_VALUE:
        key = _EXCLUSIVE_VALUE[a.id]
        return str(ka[key]).casefold() != str(kb[key]).casefold()
    if a.id in _RANGE_TYPES:
        (lo_a, hi_a), (lo_b, hi_b) = _bounds(ka), _bounds(kb)
        return lo_a > hi_b or lo_b > hi_a
    return False


def _plan_distractors(cfg: GenConfig, seed: int, split: str, index: int,
                      active_by_turn: Sequence[tuple[ActiveInstruction, ...]]) -> list[tuple[Distractor, ...]]:
    """Per turn, at most one distractor that excludes an active instruction (so obeying it is visible)."""
    if cfg.distractor_rate <= 0:
        return [() for _ in active_by_turn]
    rng = derive_rng(seed, split, "plan", index, "distractors")
    pool = candidate_pool(cfg.catalogue)
    out: list[tuple[Distractor, ...]] = []
    for active in active_by_turn:
        if not active or rng.random() >= cfg.distractor_rate:
            out.append(())
            continue
        active_keys = {a.instruction.key for a in active}
        targets = [a.instruction for a in active]
        rng.shuffle(targets)
        chosen: Distractor | None = None
        for target in targets:
            for options in ([c for c in pool if c.type_id == target.id], list(pool)):
                for _ in range(_MAX_DRAWS if options else 0):
                    candidate = rng.choice(options)
                    kwargs = _draw_kwargs(candidate, rng)
                    if kwargs is None:
                        continue
                    planned = PlannedInstruction(candidate.type_id, kwargs, cfg.wording_style, _variant(cfg, rng))
                    if planned.key not in active_keys and exclusive(planned, target) and _conflicts(planned, target):
                        chosen = Distractor(planned, rng.choice(DISTRACTOR_FRAMES), target)
                        break
                if chosen:
                    break
            if chosen:
                break
        out.append((chosen,) if chosen else ())
    return out


@lru_cache(maxsize=8)
def uses_facts(catalogue: str) -> bool:
    """True when the catalogue set has image-grounded types (their parameters come from the chat's images)."""
    from generator.core.instructions import get_type, is_grounded

    return any(is_grounded(get_type(c.type_id)) for c in candidate_pool(catalogue))


def chat_facts(source: Any, material: Any) -> ChatFacts:
    """What the chat's images show: from the source when it can tell, else only how many images there are."""
    describe = getattr(source, "chat_facts", None)
    if describe is not None:
        return describe(material)
    return ChatFacts(images=tuple(ImageFacts() for _ in material.images),
                     questions=tuple(qa.question for qa in material.qas))


def form_fits(form: Sequence[tuple[str, str]], active: Sequence[PlannedInstruction]) -> bool:
    """Whether the form a question asks for (as implied instructions) can hold beside the active instructions.

    The same rules as between instructions: a declared conflict between different types, and for the same type
    ranges that do not overlap ("in two sentences" against "at least 5 sentences").
    """
    for type_id, kwargs in form:
        implied = PlannedInstruction(type_id, kwargs)
        for instruction in active:
            if instruction.id == type_id:
                if exclusive(implied, instruction):
                    return False
            elif _conflicts(implied, instruction):
                return False
    return True


def _provable(qa: Any, active: Sequence[PlannedInstruction], conv_id: str, turn: int) -> bool:
    from generator.authoring.reference import ReferenceError, variant_of, write_reference

    try:
        write_reference([p.to_instruction() for p in active], qa.reference_answer, qa.answer_type,
                        question=qa.question, variant=variant_of(conv_id, turn))
    except ReferenceError:
        return False
    return True


def place_question(qa: Any, active: Sequence[ActiveInstruction], conv_id: str, turn: int) -> Any:
    """The question actually asked at ``turn``: ``qa`` when its form fits the active set and its reference text
    can be written and proven; else its form-free phrasing; else a form-free open question about its images.

    This is the generator's proof: every placed turn has a fluent reference text that passes every active
    checker and the answer check, so no turn is written that the oracle could not answer.
    """
    import dataclasses

    from generator.generation.sources.base import QA, fallback_question

    planned = [a.instruction for a in active]
    images = list(qa.image_indices)
    if qa.form and not form_fits(qa.form, planned):
        qa = dataclasses.replace(qa, question=qa.plain, form=(), plain=None) if qa.plain else None
    if qa is not None and _provable(qa, planned, conv_id, turn):
        return qa
    fallback = fallback_question(images, turn)
    if _provable(fallback, planned, conv_id, turn):
        return fallback
    fallback = QA(PROBE_QUESTION, None, "open", [0])
    if not _provable(fallback, planned, conv_id, turn):
        raise RuntimeError(f"{conv_id} turn {turn}: no question can be answered under the active instructions")
    return fallback


def conversation_id(split: str, index: int) -> str:
    """Conversation ids are shared by every config of a run, so paired configs can be compared row by row."""
    return f"{split}-{index:06d}"


def material_key(cfg: GenConfig) -> tuple[int, int, int]:
    """Configs with equal keys draw the same images and questions for every conversation (``material`` stream)."""
    return (cfg.turns, cfg.images_min, cfg.images_max)


def schedule_key(cfg: GenConfig) -> tuple[Any, ...]:
    """Configs with equal keys draw the same instruction timeline: the knobs ``draw_schedule`` reads.

    Render knobs (placement, reminders) and distractors act after the draw, so ``mmmt-if``, ``appended``,
    ``end-only``, ``system`` and ``distractors`` share one timeline per conversation.
    """
    ignored = RENDER_KNOBS | {"distractor_rate"}
    return tuple((f.name, getattr(cfg, f.name)) for f in fields(cfg) if f.name not in ignored)


def plan_material(cfg: GenConfig, *, seed: int, split: str, index: int, source: Any) -> Any:
    """The images and questions of conversation ``index`` (shared by every config with the same material key)."""
    material_rng = derive_rng(seed, split, "plan", index, "material")
    n_images = material_rng.randint(cfg.images_min, cfg.images_max)
    material = source.sample_chat(material_rng, n_images, cfg.turns)
    if len(material.qas) < cfg.turns:
        raise RuntimeError(f"source {getattr(source, 'name', source)!r} gave {len(material.qas)} questions "
                           f"for {cfg.turns} turns")
    return material


def schedule_facts(cfg: GenConfig, source: Any, material: Any) -> ChatFacts | None:
    """The facts of the chat's images when the config's catalogue has image-grounded types, else None."""
    return chat_facts(source, material) if uses_facts(cfg.catalogue) else None


def plan_conversation(cfg: GenConfig, *, seed: int, split: str, index: int, source: Any,
                      material: Any = None, schedule: tuple[Timeline, int] | None = None,
                      placed: dict[tuple[int, tuple[tuple[str, str], ...]], Any] | None = None) -> ConversationPlan:
    """The full plan of conversation ``index`` of ``split``: material from ``source`` plus instruction events.

    ``material`` (from :func:`plan_material`) and ``schedule`` (from ``draw_schedule``) may be passed in when
    already drawn for another config with the same :func:`material_key` / :func:`schedule_key`: they are pure
    functions of those knobs and the (seed, split, index), so the plan is the same either way. ``placed`` keeps
    the questions placed (and proven) for this conversation's material, by turn and active instructions, so that
    configs placing the same instructions differently (``mmmt-if``, ``appended``, ``distractors``) prove each
    turn once: :func:`place_question` is a pure function of the question, the active (id, kwargs) pairs in order,
    the conversation id and the turn.
    """
    if material is None:
        material = plan_material(cfg, seed=seed, split=split, index=index, source=source)
    if schedule is None:
        schedule = draw_schedule(cfg, seed, split, index, schedule_facts(cfg, source, material))
    timeline, rejected = schedule
    system: tuple[PlannedInstruction, ...] = ()
    if cfg.placement == "system":
        # One system message states every instruction of the chat; all of them hold from the first turn.
        added = [e.instruction for events, _ in timeline for e in events if e.action == "add"]
        system = tuple(added)
        final = tuple(ActiveInstruction(p, 1) for p in added)
        first = tuple(InstructionEvent("add", p) for p in added)
        timeline = [(first if t == 0 else (), final) for t in range(len(timeline))]
    distractors = _plan_distractors(cfg, seed, split, index, [active for _, active in timeline])
    conv_id = conversation_id(split, index)
    if placed is None:
        placed = {}
    qas = []
    for i, (_, active) in enumerate(timeline):
        key = (i, tuple(a.instruction.key for a in active))
        qa = placed.get(key)
        if qa is None:
            qa = placed[key] = place_question(material.qas[i], active, conv_id, i + 1)
        qas.append(qa)
    turns = tuple(
        TurnPlan(turn=i + 1, qa=qas[i], events=events,
                 active=active, distractors=distractors[i])
        for i, (events, active) in enumerate(timeline)
    )
    return ConversationPlan(conv_id, split, index, tuple(material.images), turns, system,
                            rejected)


__all__ = [
    "DISTRACTOR_FRAMES",
    "ActiveInstruction",
    "ConversationPlan",
    "Distractor",
    "InstructionEvent",
    "PlannedInstruction",
    "TurnPlan",
    "candidate_pool",
    "conversation_id",
    "plan_conversation",
    "plan_schedule",
]
