"""The scoring benchmark's pieces that need no IFEval: deterministic responses and a mapping onto our catalogue."""

from __future__ import annotations

import importlib.util
import sys
from pathlib import Path

import pytest

from generator.common.rng import derive_rng
from generator.core.instructions import Instruction, check

SCRIPT = Path(__file__).resolve().parents[2] / "scripts" / "bench_score.py"


@pytest.fixture(scope="module")
def bench():
    spec = importlib.util.spec_from_file_location("bench_score_under_test", SCRIPT)
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module
    spec.loader.exec_module(module)
    yield module
    sys.modules.pop(spec.name, None)


def test_responses_are_deterministic_and_realistic(bench) -> None:
    first = [bench.make_response(7, i) for i in range(40)]
    assert first == [bench.make_response(7, i) for i in range(40)]
    assert first != [bench.make_response(8, i) for i in range(40)]
    lengths = sorted(len(r.split()) for r in first)
    assert 120 <= lengths[len(lengths) // 2] <= 400
    joined = "\n".join(first)
    for feature in ("\n- ", "\n* ", "## ", "```json", "P.S.", "***", "Section 1"):
        assert feature in joined, feature


def test_every_pair_maps_onto_a_valid_instruction_of_ours(bench) -> None:
    assert len(bench.PAIRS) >= 15
    assert len({p.our_id for p in bench.PAIRS}) == len(bench.PAIRS)
    assert len({p.ifeval_id for p in bench.PAIRS}) == len(bench.PAIRS)
    response = bench.make_response(7, 0)
    for pair in bench.PAIRS:
        rng = derive_rng(7, "test", pair.label)
        for _ in range(5):
            params = pair.sample(rng)
            instruction = Instruction(pair.our_id, pair.our_kwargs(params))  # validates the kwargs
            assert isinstance(check(instruction, response).ok, bool)
            assert isinstance(pair.ifeval_kwargs(params), dict)


@pytest.mark.parametrize(("relation", "n", "expected"), [
    ("at least", 5, {"relation": "at_least", "n": 5}),
    ("less than", 5, {"relation": "at_most", "n": 4}),
])
def test_less_than_becomes_at_most_n_minus_one(bench, relation: str, n: int, expected: dict) -> None:
    assert bench._ours_relation_n({"relation": relation, "n": n}) == expected
