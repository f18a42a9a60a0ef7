"""The seeded plan: determinism, the official policy's rules, schedules, updates and distractors."""

from __future__ import annotations

import itertools

import pytest

from generator.authoring import compatible, conflicts
from generator.generation.config import GenConfig
from generator.generation.plan import plan_schedule


def _compatible(catalogue, active, memo={}) -> bool:  # noqa: B006  (a deliberate per-process memo)
    key = frozenset(a.instruction.key for a in active)
    if key not in memo:
        memo[key] = compatible([a.instruction.to_instruction() for a in active])
    return memo[key]


def _adds(timeline):
    return [(turn + 1, e) for turn, (events, _) in enumerate(timeline) for e in events if e.action == "add"]


def test_schedule_is_deterministic_and_key_sensitive(catalogue) -> None:
    cfg = GenConfig()
    a = plan_schedule(cfg, 7, "test", 3)
    assert a == plan_schedule(cfg, 7, "test", 3)
    others = [plan_schedule(cfg, 8, "test", 3), plan_schedule(cfg, 7, "validation", 3),
              plan_schedule(cfg, 7, "test", 4)]
    assert all(o != a for o in others)


def test_official_policy_rules_hold(catalogue) -> None:
    cfg = GenConfig()
    for index in range(200):
        timeline = plan_schedule(cfg, 1, "test", index)
        seen_groups: list[str] = []
        for turn, (events, active) in enumerate(timeline, start=1):
            assert len(events) <= 1
            assert len(active) <= 6
            for event in events:
                assert event.action == "add"
                seen_groups.append(event.instruction.id)
                assert event.instruction.style == "official"
            assert all(a.given_at <= turn for a in active)
            assert _compatible(catalogue, active)
        assert len(seen_groups) == len(set(seen_groups)), "at most one instruction per category"


def test_fixed_turns_place_instructions_exactly(catalogue) -> None:
    cfg = GenConfig(schedule="fixed", instruction_turns=(1, 3, 8), turns=10)
    for index in range(20):
        assert [t for t, _ in _adds(plan_schedule(cfg, 5, "test", index))] == [1, 3, 8]


@pytest.mark.parametrize(("schedule", "per_turn", "cap"), [("front-loaded", 3, 6), ("uniform", 1, 5),
                                                            ("official", 2, 6)])
def test_schedules_respect_cap_and_per_turn(catalogue, schedule, per_turn, cap) -> None:
    cfg = GenConfig(schedule=schedule, instructions_per_turn=per_turn, max_active=cap, turns=30)
    multi = 0
    for index in range(60):
        timeline = plan_schedule(cfg, 2, "test", index)
        for events, active in timeline:
            assert len(events) <= per_turn
            assert len(active) <= cap
            multi += len(events) > 1
    if per_turn > 1:
        assert multi > 0, "several instructions per turn never happened"


def test_front_loaded_fills_early_and_uniform_spreads(catalogue) -> None:
    front = GenConfig(schedule="front-loaded", instructions_per_turn=3, turns=40)
    spread = GenConfig(schedule="uniform", turns=40)
    last_front = [max(t for t, _ in _adds(plan_schedule(front, 3, "test", i))) for i in range(50)]
    last_spread = [max(t for t, _ in _adds(plan_schedule(spread, 3, "test", i))) for i in range(50)]
    assert max(last_front) <= 6
    assert sum(last_spread) / 50 > 20


def test_min_gap_spaces_instruction_turns(catalogue) -> None:
    cfg = GenConfig(min_gap=3, turns=30)
    for index in range(40):
        turns = [t for t, _ in _adds(plan_schedule(cfg, 4, "test", index))]
        assert all(b - a >= 3 for a, b in itertools.pairwise(turns))


def test_updates_replace_and_revoke_consistently(catalogue) -> None:
    cfg = GenConfig(update_rate=0.5, revoke_share=0.5)
    actions = {"add": 0, "replace": 0, "revoke": 0}
    for index in range(100):
        previous: list = []
        for turn, (events, active) in enumerate(plan_schedule(cfg, 6, "test", index), start=1):
            keys = [a.instruction.key for a in previous]
            for event in events:
                actions[event.action] += 1
                if event.action == "add":
                    keys.append(event.instruction.key)
                elif event.action == "revoke":
                    keys.remove(event.instruction.key)
                else:
                    assert event.replaces is not None and event.replaces.key != event.instruction.key
                    keys.remove(event.replaces.key)
                    keys.append(event.instruction.key)
                    assert next(a for a in active if a.instruction == event.instruction).given_at == turn
            assert sorted(keys) == sorted(a.instruction.key for a in active)
            assert _compatible(catalogue, active)
            previous = list(active)
    assert actions["replace"] > 20 and actions["revoke"] > 20


def test_updates_and_distractors_keep_the_official_adds_where_they_can(catalogue) -> None:
    base = GenConfig()
    with_distractors = GenConfig(name="distractors", distractor_rate=0.5)
    for index in range(10):
        assert plan_schedule(base, 9, "test", index) == plan_schedule(with_distractors, 9, "test", index)


def test_paraphrased_style_carries_a_variant(catalogue) -> None:
    cfg = GenConfig(wording_style="paraphrased")
    variants = {e.instruction.variant for i in range(20) for _, e in _adds(plan_schedule(cfg, 1, "test", i))}
    assert len(variants) > 5


@pytest.mark.parametrize(("a", "b", "expected"), [
    (("start:letter", {"letter": "S"}), ("start:letter", {"letter": "B"}), True),
    (("start:letter", {"letter": "S"}), ("start:letter", {"letter": "s"}), False),
    (("end:punctuation", {"mark": "?"}), ("end:punctuation", {"mark": "!"}), True),
    (("length:sentences", {"relation": "at_most", "n": 4}), ("length:sentences", {"relation": "at_least", "n": 5}),
     True),
    (("length:words_per_sentence", {"relation": "at_most", "n": 18}),
     ("length:words_per_sentence", {"relation": "at_least", "n": 18}), False),
    (("keyword:include", {"word": "per se"}), ("keyword:include", {"word": "itself"}), False),
    (("case:lowercase", {}), ("case:uppercase", {}), True),
    (("start:letter", {"letter": "S"}), ("end:punctuation", {"mark": "!"}), False),
])
def test_distractors_must_logically_exclude_their_target(a, b, expected) -> None:
    from generator.common.jsonutil import canonical_json
    from generator.generation.plan import PlannedInstruction, exclusive

    pa, pb = (PlannedInstruction(i, canonical_json(k)) for i, k in (a, b))
    assert exclusive(pa, pb) is expected
    assert exclusive(pb, pa) is expected


def test_distractor_plans_target_an_active_instruction(catalogue) -> None:
    from generator.generation.plan import plan_conversation
    from generator.generation.sources import get_source

    cfg = GenConfig(name="distractors", distractor_rate=0.5, turns=8)
    source = get_source("mix")
    found = 0
    for index in range(6):
        plan = plan_conversation(cfg, seed=3, split="test", index=index, source=source)
        for turn in plan.turns:
            for d in turn.distractors:
                found += 1
                active = [a.instruction for a in turn.active]
                assert d.target in active and d.instruction not in active
                assert conflicts(d.instruction.to_instruction(), d.target.to_instruction())
    assert found >= 5


def test_rendered_rows_follow_the_schedule_the_statistics_describe(catalogue) -> None:
    from generator.generation.plan import plan_conversation
    from generator.generation.render import render_turns
    from generator.generation.sources import get_source

    cfg = GenConfig(turns=12)
    source = get_source("mix")
    for index in range(5):
        timeline = plan_schedule(cfg, 5, "test", index)
        turns = render_turns(cfg, plan_conversation(cfg, seed=5, split="test", index=index, source=source))
        assert [[(e["id"], e["kwargs"]) for e in t["new_instructions"]] for t in turns] == \
            [[e.instruction.key for e in events] for events, _ in timeline]
        assert [len(t["active_instructions"]) for t in turns] == [len(active) for _, active in timeline]
