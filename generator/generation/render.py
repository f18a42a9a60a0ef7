"""Turn a plan into a dataset row: message text through the Jinja templates, images through the source.

Rendering makes no choices: everything random was decided by the plan, so rendering the same plan under two
configs that differ only in placement gives the same conversation with the instructions in different places.
The row layout is the contract in ``generator.dataset.features``.
"""

from __future__ import annotations

import json
from functools import lru_cache
from typing import Any

from generator.authoring.templates import render_fast
from generator.authoring.wording import phrasing_count, render_wording
from generator.common.jsonutil import canonical_json
from generator.generation.config import GenConfig
from generator.generation.plan import (
    ActiveInstruction,
    ConversationPlan,
    InstructionEvent,
    PlannedInstruction,
    TurnPlan,
)


@lru_cache(maxsize=1)
def _official_wordings() -> dict[tuple[str, str], str]:
    from generator.authoring import official_catalogue

    return {(inst.id, canonical_json(dict(inst.kwargs))): text for text, inst in official_catalogue()}


@lru_cache(maxsize=8192)
def instruction_wording(planned: PlannedInstruction) -> str:
    """The text of an instruction as given to the model (without the "Instruction: " prefix).

    Style "official" uses the release's verbatim wording when the instruction is one of its 13, else the
    catalogue's official-style wording; "paraphrased" asks the catalogue for the planned paraphrase.
    """
    from generator.core.instructions import get_type

    kwargs = json.loads(planned.kwargs)
    kind = get_type(planned.id)
    if planned.style == "official":
        text = _official_wordings().get(planned.key)
        if text is not None:
            return text
    style = _catalogue_style(planned.style)
    count = max(1, phrasing_count(kind.id, style))
    return render_wording(kind.id, kind.validate(dict(kwargs)), style=style, variant=planned.variant % count)


@lru_cache(maxsize=8192)
def event_wording(event: InstructionEvent) -> str:
    """What the user says at the turn of an event: the instruction, its replacement, or its withdrawal."""
    from generator import authoring as cat

    if event.action == "add":
        return instruction_wording(event.instruction)
    if event.action == "replace":
        assert event.replaces is not None
        return cat.update_wording(event.replaces.to_instruction(), event.instruction.to_instruction())
    if event.action == "revoke":
        return cat.revoke_wording(event.instruction.to_instruction())
    raise ValueError(f"unknown instruction event {event.action!r}")


def _catalogue_style(style: str) -> str:
    """The catalogue's name for a wording style knob."""
    return {"paraphrased": "paraphrase"}.get(style, style)


@lru_cache(maxsize=8192)
def _fields(planned: PlannedInstruction) -> tuple[tuple[str, str], ...]:
    return (("id", planned.id), ("kwargs", planned.kwargs), ("wording", instruction_wording(planned)))


def _instruction_fields(planned: PlannedInstruction) -> dict[str, Any]:
    """The ``{"id", "kwargs", "wording"}`` entry of an instruction (a fresh dict from a per-process cache)."""
    return dict(_fields(planned))


@lru_cache(maxsize=256)
def _turn_format(layout: str, question: bool, n_new: int, distractor: bool, reminder: bool) -> str | None:
    """The user-message layout as a format string taking ``(question, distractor, reminder, *new)``."""
    from generator.authoring.templates import format_template

    shape = (("question", question), ("new", (True,) * n_new), ("distractor", distractor), ("reminder", reminder))
    order = (("question", -1), ("distractor", -1), ("reminder", -1), *(("new", i) for i in range(n_new)))
    return format_template(layout, shape, order)


@lru_cache(maxsize=256)
def _block_format(n_active: int) -> str | None:
    """The appended reminder block of ``n_active`` instructions as a format string taking the wordings."""
    from generator.authoring.templates import format_template

    return format_template("appended_block.j2", (("active", (True,) * n_active),),
                           tuple(("active", i) for i in range(n_active)))


def _reminder(wordings: list[str]) -> str:
    fmt = _block_format(len(wordings)) if all(wordings) else None
    if fmt is None:
        return render_fast("appended_block.j2", {"active": wordings})
    return fmt.format(*wordings).strip()


def _layout(cfg: GenConfig, question: str, new: list[str], distractor: str, reminder: str) -> str:
    layout = "end_only_turn.j2" if cfg.placement == "end-only" else "user_turn.j2"
    fmt = _turn_format(layout, bool(question), len(new), bool(distractor), bool(reminder)) if all(new) else None
    if fmt is None:
        return render_fast(layout, {"question": question, "new": new, "distractor": distractor,
                                    "reminder": reminder})
    return fmt.format(question, distractor, reminder, *new).strip()


def _distractor_text(d: Any) -> str:
    return render_fast("distractor.j2", {"wording": instruction_wording(d.instruction)}, frame=d.frame)


def _reminder_due(cfg: GenConfig, turn: TurnPlan) -> bool:
    return cfg.reminder_every > 0 and bool(turn.active) and (turn.turn - 1) % cfg.reminder_every == 0


def render_prompt(cfg: GenConfig, plan: ConversationPlan, turn: TurnPlan) -> str:
    """The full user message of one turn under the config's placement knobs."""
    return _Rendering(cfg).prompt(turn)


class _Rendering:
    """What the turns of one conversation share, made once per row: each active instruction's entry (the same
    dict in every turn it is active in: the validator checks a shared entry once) and the reminder block of each
    active set. Keys are object ids, stable while the plan is alive (the call)."""

    def __init__(self, cfg: GenConfig) -> None:
        self.cfg = cfg
        self.in_prompt = cfg.placement != "system"
        self.entries: dict[int, dict[str, Any]] = {}
        self.reminders: dict[tuple[int, ...], str] = {}

    def entry(self, active: ActiveInstruction) -> dict[str, Any]:
        entry = self.entries.get(id(active))
        if entry is None:
            planned = active.instruction
            entry = self.entries[id(active)] = {"id": planned.id, "kwargs": planned.kwargs,
                                                "wording": instruction_wording(planned), "given_at": active.given_at}
        return entry

    def prompt(self, turn: TurnPlan) -> str:
        """The full user message of ``turn`` (see :func:`render_prompt`)."""
        cfg = self.cfg
        new = [event_wording(e) for e in turn.events] if self.in_prompt else []
        distractor = _distractor_text(turn.distractors[0]) if turn.distractors else ""
        reminder = ""
        if _reminder_due(cfg, turn):
            key = tuple([id(a.instruction) for a in turn.active])
            reminder = self.reminders.get(key, "")
            if not reminder:
                reminder = self.reminders[key] = _reminder([instruction_wording(a.instruction) for a in turn.active])
        return _layout(cfg, turn.qa.question, new, distractor, reminder)


def _same_turn(a: TurnPlan, b: TurnPlan) -> bool:
    """``a == b``, answered without the deep dataclass comparison when the parts are the very same objects."""
    return a is b or (a.turn == b.turn and a.qa is b.qa and a.events is b.events and a.active is b.active
                      and a.distractors == b.distractors) or a == b


def render_turns(cfg: GenConfig, plan: ConversationPlan, *,
                 like: tuple[ConversationPlan, list[dict[str, Any]]] | None = None) -> list[dict[str, Any]]:
    """The ``turns`` column of a row (no images: cheap enough for plan-level checks).

    ``like`` is the plan and ``turns`` of the same conversation under another config: a turn planned the same
    way there (same question, events, active set and distractors) keeps that turn's values, the very objects, and
    only its prompt is rendered for ``cfg`` (the one field placement knobs change).
    """
    rendering = _Rendering(cfg)
    turns = []
    for position, turn in enumerate(plan.turns):
        if like is not None and _same_turn(like[0].turns[position], turn):
            turns.append({**like[1][position], "prompt": rendering.prompt(turn)})
            continue
        qa = turn.qa
        turns.append({
            "turn": turn.turn,
            "question": qa.question,
            "prompt": rendering.prompt(turn),
            "new_instructions": [
                {"id": e.instruction.id, "kwargs": e.instruction.kwargs, "wording": event_wording(e),
                 "action": e.action}
                for e in turn.events
            ],
            "active_instructions": [rendering.entry(a) for a in turn.active],
            "distractors": [_instruction_fields(d.instruction) for d in turn.distractors],
            "reference_answer": qa.reference_answer or "",
            "answer_type": qa.answer_type,
            "image_indices": list(qa.image_indices),
        })
    return turns


def render_system_prompt(cfg: GenConfig, plan: ConversationPlan) -> str:
    if cfg.placement != "system":
        return ""
    return render_fast("system_prompt.j2", {"instructions": [instruction_wording(p) for p in plan.system]})


def render_images(plan: ConversationPlan, *, with_images: bool = True
                  ) -> tuple[list[dict[str, Any]], list[dict[str, str]]]:
    """The ``images`` and ``image_meta`` columns of a plan's row: drawing and encoding are most of a row's cost,
    and configs sharing a plan's material share these, so they are made once and passed to :func:`render_row`."""
    from generator.generation.sources import image_meta, render_image
    from generator.generation.sources.base import provenance

    images = []
    metas = []
    for position, spec in enumerate(plan.images):
        meta = image_meta(spec)
        metas.append({"name": f"Image{position + 1}", "source": str(meta.get("source", "")),
                      "license": str(meta.get("license", "")), "attribution": str(meta.get("attribution", "")),
                      "spec": canonical_json(provenance(spec))})
        if with_images:
            data, _format = render_image(spec)
            images.append({"bytes": data, "path": None})
    return images, metas


def render_row(cfg: GenConfig, plan: ConversationPlan, *, source_name: str, with_images: bool = True,
               images: tuple[list[dict[str, Any]], list[dict[str, str]]] | None = None,
               like: tuple[ConversationPlan, list[dict[str, Any]]] | None = None) -> dict[str, Any]:
    """One dataset row per the contract; images are rendered (encoded bytes) unless ``with_images`` is False.

    ``images`` is what :func:`render_images` returned for this plan's material (possibly under another config);
    ``like`` as for :func:`render_turns`.
    """
    columns, metas = images if images is not None else render_images(plan, with_images=with_images)
    return {
        "id": plan.id,
        "config": cfg.name,
        "source": source_name,
        "system_prompt": render_system_prompt(cfg, plan),
        "images": columns,
        "image_meta": metas,
        "turns": render_turns(cfg, plan, like=like),
    }


__all__ = ["event_wording", "instruction_wording", "render_images", "render_prompt", "render_row", "render_turns"]
