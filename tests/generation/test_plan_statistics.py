"""The default policy's placement statistics match the official release within sampling error.

Plan level only (no text or images are rendered), 500 conversations whose lengths follow the release's chat
lengths. Each statistic is compared with a two-sample z test; a wrong hazard table is shown to be detected, so the
comparison has power.
"""

from __future__ import annotations

import gzip
import itertools
import json
import math
from collections import Counter, defaultdict
from pathlib import Path

import pytest

from generator.generation.config import GenConfig
from generator.generation.plan import plan_schedule

RELEASE = Path(__file__).resolve().parents[1] / "data" / "official" / "mmmt_if_turns.jsonl.gz"
N_CONVERSATIONS = 500
Z_LIMIT = 3.0


def _release_chats() -> list[list[dict]]:
    chats: dict[int, list[dict]] = defaultdict(list)
    with gzip.open(RELEASE, "rt", encoding="utf-8") as handle:
        for line in handle:
            row = json.loads(line)
            chats[row["conversation_id"]].append(row)
    return [sorted(turns, key=lambda r: r["turn"]) for _, turns in sorted(chats.items())]


def _summarise(chats: list[list[tuple[bool, str | None]]]) -> dict:
    """From per-chat turn lists of (instruction added?, wording key) compute the compared statistics."""
    hazard = defaultdict(lambda: [0, 0])
    per_chat, first, gaps, wordings = [], [], [], Counter()
    for chat in chats:
        k = 0
        turns = []
        for position, (added, key) in enumerate(chat, start=1):
            hazard[k][1] += 1
            if added:
                hazard[k][0] += 1
                turns.append(position)
                wordings[key] += 1
                k += 1
        per_chat.append(len(turns))
        if turns:
            first.append(turns[0])
        gaps.extend(b - a for a, b in itertools.pairwise(turns))
    return {"hazard": dict(hazard), "per_chat": per_chat, "first": first, "gaps": gaps, "wordings": wordings}


def _release_summary() -> tuple[dict, list[int]]:
    chats = _release_chats()
    encoded = [[(r["new_instruction"] is not None, r["new_instruction"]) for r in chat] for chat in chats]
    return _summarise(encoded), [len(chat) for chat in chats]


def _plan_summary(hazard: tuple[float, ...], lengths: list[int], seed: int = 2024) -> dict:
    configs = {n: GenConfig(turns=n, hazard=hazard) for n in set(lengths)}
    chats = []
    for index in range(N_CONVERSATIONS):
        timeline = plan_schedule(configs[lengths[index % len(lengths)]], seed, "test", index)
        chats.append([(bool(events), events[0].instruction.key if events else None) for events, _ in timeline])
    return _summarise(chats)


def _z_means(a: list[float], b: list[float]) -> float:
    def mean_var(x):
        m = sum(x) / len(x)
        return m, sum((v - m) ** 2 for v in x) / max(1, len(x) - 1)

    ma, va = mean_var(a)
    mb, vb = mean_var(b)
    se = math.sqrt(va / len(a) + vb / len(b))
    return 0.0 if se == 0 else (ma - mb) / se


def _z_props(x1: int, n1: int, x2: int, n2: int) -> float:
    p = (x1 + x2) / (n1 + n2)
    se = math.sqrt(p * (1 - p) * (1 / n1 + 1 / n2))
    return 0.0 if se == 0 else (x1 / n1 - x2 / n2) / se


def _deviations(plan: dict, release: dict) -> dict[str, float]:
    z = {}
    for k in range(6):
        x1, n1 = plan["hazard"].get(k, [0, 0])
        x2, n2 = release["hazard"][k]
        z[f"hazard k={k}"] = _z_props(x1, n1, x2, n2) if n1 else float("inf")
    z["instructions per chat"] = _z_means(plan["per_chat"], release["per_chat"])
    z["first instruction turn"] = _z_means(plan["first"], release["first"])
    z["gap between insertions"] = _z_means(plan["gaps"], release["gaps"])
    z["share of gaps of 1"] = _z_props(plan["gaps"].count(1), len(plan["gaps"]),
                                       release["gaps"].count(1), len(release["gaps"]))
    return z


@pytest.fixture(scope="module")
def release() -> tuple[dict, list[int]]:
    return _release_summary()


def test_release_file_is_the_official_one(release) -> None:
    summary, lengths = release
    assert len(lengths) == 71 and sum(lengths) == 990
    assert summary["hazard"][0] == [71, 79]
    assert summary["hazard"][6][0] == 0  # the cap of 6 is never exceeded


def test_default_policy_matches_the_release(catalogue, release) -> None:
    summary, lengths = release
    plan = _plan_summary(GenConfig().hazard, lengths)
    z = _deviations(plan, summary)
    bad = {name: round(value, 2) for name, value in z.items() if abs(value) > Z_LIMIT}
    assert not bad, f"statistics differ from the release: {bad}"
    assert max(plan["per_chat"]) <= 6


def test_wrong_hazard_is_detected(catalogue, release) -> None:
    summary, lengths = release
    plan = _plan_summary((0.5,) * 6, lengths)
    z = _deviations(plan, summary)
    assert max(abs(v) for v in z.values()) > Z_LIMIT


def test_categories_and_wordings_are_drawn_uniformly(catalogue, release) -> None:
    """The release draws a category uniformly among the unused ones and a wording uniformly within it."""
    from generator.generation.plan import candidate_pool

    plan = _plan_summary(GenConfig().hazard, release[1])
    pool = candidate_pool("official")
    by_group: dict[str, list] = defaultdict(list)
    for candidate in pool:
        by_group[candidate.type_id].append((candidate.type_id, candidate.kwargs))
    assert len(by_group) == 6 and len(pool) == 13
    total = sum(plan["wordings"].values())
    for group, members in by_group.items():
        group_count = sum(plan["wordings"][m] for m in members)
        assert abs(_z_props(group_count, total, total // 6, total)) < Z_LIMIT, group
        for member in members:
            assert abs(_z_props(plan["wordings"][member], group_count,
                                group_count // len(members), group_count)) < Z_LIMIT, member
