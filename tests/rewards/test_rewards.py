"""The training rewards give the scorer's verdicts: same inputs through ``mmmtif score`` and ``generator.rewards``.

A generated dataset (several variants: official, extended catalogue with many instructions, distractors, system
placement) is answered with witness responses, damaged witnesses, think-trace variants and unrelated text; every
response is scored once by ``mmmtif score --details`` and once by each reward entry point, and the numbers must
agree exactly. The adapters are called with the argument shapes their trainers document.
"""

from __future__ import annotations

import asyncio
import json
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner

import generator.rewards as rewards
from generator.cli import cli as main
from generator.common.errors import UnknownInstructionError, ValidationError
from generator.rewards.trl import completion_text
from generator.scoring.spec import make_spec

VARIANTS = "mmmt-if,hard,distractors,system"


@pytest.fixture(scope="module")
def dataset(tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("rewards") / "ds"
    result = CliRunner().invoke(main, ["gen", "--conversations", "4", "--turns", "6", "--variant", VARIANTS,
                                       "--seed", "11", "--out", str(out), "--quiet"])
    assert result.exit_code == 0, result.output
    return out


def _rows(dataset: Path, config: str) -> list[dict]:
    import pyarrow.parquet as pq

    rows: list[dict] = []
    for path in sorted((dataset / config).glob("*.parquet")):
        rows.extend(pq.read_table(path, columns=["id", "turns"]).to_pylist())
    return rows


def _responses(rows: list[dict]) -> list[dict]:
    """Witnesses (PIF 1), damaged witnesses, think-wrapped witnesses and unrelated text, several samples a turn."""
    from generator.authoring.oracle import oracle_responses

    witnesses = {(r["id"], r["turn"]): r["response"] for r in oracle_responses(rows)}
    records = []
    for (rid, turn), text in witnesses.items():
        variants = [
            text,
            text.lower(),
            text.replace(".", "!"),
            "<think>I should follow every rule.</think>" + text,
            text + "<think>unfinished reasoning",
            "Sure, here it is:\n" + text + "\nThanks",
            "no idea",
        ]
        records.extend({"id": rid, "turn": turn, "sample": sample, "response": response}
                       for sample, response in enumerate(variants))
    return records


@pytest.mark.parametrize("config", VARIANTS.split(","))
@pytest.mark.parametrize("check", ["strict", "loose"])
def test_rewards_equal_the_scorer_verdicts(dataset: Path, tmp_path: Path, config: str, check: str) -> None:
    rows = _rows(dataset, config)
    records = _responses(rows)
    responses = tmp_path / "responses.jsonl"
    responses.write_text("".join(json.dumps(r) + "\n" for r in records), encoding="utf-8")
    details = tmp_path / "details.jsonl"
    result = CliRunner().invoke(main, ["score", "--dataset", str(dataset), "--config", config, "--responses",
                                       str(responses), "--out", str(tmp_path / "report.json"), "--details",
                                       str(details), "--mode", check, "--quiet"])
    assert result.exit_code == 0, result.output
    verdicts = {(d["id"], d["turn"], d["sample"]): d for d in map(json.loads, details.read_text().splitlines())}
    specs = {(row["id"], turn["turn"]): make_spec(row["id"], turn) for row in rows for turn in row["turns"]}
    assert len(verdicts) == len(records)
    seen_fractions = set()
    for record in records:
        d = verdicts[(record["id"], record["turn"], record["sample"])]
        spec = specs[(record["id"], record["turn"])]
        text = record["response"]
        fraction = rewards.score_response(text, spec, check=check)
        every = rewards.score_response(text, spec, "all", check=check)
        assert fraction == d["pif"]
        assert every == (None if d["pif"] is None else float(d["followed"] == d["active"]))
        details_result = rewards.score_details(text, spec, check=check)
        assert {v.key: v.ok for v in details_result.verdicts} == {k: v["ok"] for k, v in d["verdicts"].items()}
        correct = None if d["answer"] is None else d["answer"]["correct"]
        assert details_result.answer_correct == correct
        mixed = rewards.score_response(text, spec, answer_weight=0.25, check=check)
        if d["pif"] is None:
            assert mixed == (None if correct is None else float(correct))
        elif correct is None:
            assert mixed == d["pif"]
        else:
            assert mixed == pytest.approx(0.75 * d["pif"] + 0.25 * correct)
        seen_fractions.add(fraction)
    # The inputs exercise passes, failures and partial compliance, so agreement is not agreement on a constant.
    assert {0.0, 1.0} <= seen_fractions and any(f not in (None, 0.0, 1.0) for f in seen_fractions)


def test_reward_spec_round_trip_and_errors() -> None:
    turn = {"turn": 2, "active_instructions": [
        {"id": "start:letter", "kwargs": "{\"letter\":\"S\"}", "wording": "x", "given_at": 1}],
        "distractors": [], "reference_answer": "7", "answer_type": "number"}
    spec = make_spec("c-1", turn)
    assert json.loads(spec)["active_instructions"] == [{"id": "start:letter", "kwargs": {"letter": "S"},
                                                        "given_at": 1}]
    assert rewards.score_response("So it is 7.", spec) == 1.0
    assert rewards.score_response("It is 7.", spec) == 0.0
    assert rewards.score_response("So it is 8.", spec, answer_weight=0.5) == 0.5
    # A hand-written spec: mapping, kwargs as an object, no given_at.
    by_hand = {"active_instructions": [{"id": "start:letter", "kwargs": {"letter": "S"}}]}
    assert rewards.score_response("Sure.", by_hand) == 1.0
    assert rewards.score_response("anything", {"active_instructions": []}) is None
    with pytest.raises(ValidationError, match="malformed JSON"):
        rewards.score_response("x", "{")
    with pytest.raises(UnknownInstructionError, match="unknown instruction id"):
        rewards.score_response("x", {"active_instructions": [{"id": "nope:nope", "kwargs": {}}]})
    with pytest.raises(ValidationError, match="unsupported spec format"):
        rewards.score_response("x", {"format": "other", "active_instructions": []})
    with pytest.raises(ValueError, match="reward mode"):
        rewards.score_response("x", spec, "most")
    with pytest.raises(ValueError, match="answer_weight"):
        rewards.score_response("x", spec, answer_weight=1.5)


def test_think_traces_are_stripped_as_in_scoring() -> None:
    spec = {"active_instructions": [{"id": "start:letter", "kwargs": {"letter": "S"}}]}
    assert rewards.score_response("<think>Apples first.</think>Sure.", spec) == 1.0
    assert rewards.score_response("Sure.<think>never closed", spec) == 1.0
    assert rewards.score_response("<think>Sure.", spec) == 0.0


def _spec(letter: str) -> str:
    return make_spec("c", {"turn": 1, "active_instructions": [
        {"id": "start:letter", "kwargs": json.dumps({"letter": letter}), "given_at": 1},
        {"id": "end:punctuation", "kwargs": json.dumps({"mark": "?"}), "given_at": 1}]})


def test_trl_reward_signature_none_rows_and_compliance_metrics() -> None:
    metrics: list[tuple[str, float]] = []
    prompts = [[{"role": "user", "content": "q"}]] * 3
    completions = [[{"role": "assistant", "content": "So?"}], [{"role": "assistant", "content": "So."}],
                   [{"role": "assistant", "content": "whatever"}]]
    specs = [_spec("S"), _spec("S"), make_spec("c", {"turn": 1, "active_instructions": []})]
    values = rewards.trl_reward(prompts, completions, completion_ids=[[1], [2], [3]], reward_spec=specs,
                                trainer_state=None, log_metric=lambda name, value: metrics.append((name, value)))
    assert values == [1.0, 0.5, None]
    assert dict(metrics) == {"compliance/start": 1.0, "compliance/end": 0.5, "compliance/all": 0.75}
    assert rewards.trl_reward.__name__ == "mmmtif_reward"
    strict_all = rewards.make_trl_reward("all")
    assert strict_all(["q", "q"], ["So?", "So."], reward_spec=[_spec("S"), _spec("S")]) == [1.0, 0.0]
    with pytest.raises(KeyError, match="reward_spec"):
        rewards.trl_reward(["q"], ["x"])
    # An empty spec cell is an export that lost its spec, not "nothing to check" (before: None, silently).
    for empty in (None, ""):
        with pytest.raises(ValueError, match="reward_spec"):
            rewards.trl_reward(["q", "q"], ["So?", "So?"], reward_spec=[_spec("S"), empty])
    mixed = rewards.make_trl_reward(other_rows=True)
    assert mixed(["q", "q"], ["So?", "So?"], reward_spec=[_spec("S"), None]) == [1.0, None]
    assert completion_text([{"role": "assistant", "content": [{"type": "text", "text": "a"}]}]) == "a"


@pytest.mark.parametrize(("spec", "field"), [
    ("{}", "active_instructions"),
    ({"active_instruction": [{"id": "start:letter", "kwargs": {"letter": "S"}}]}, "active_instruction"),
    ('{"active_instructions": null}', "active_instructions"),
    ({"active_instructions": [], "reference": "7"}, "reference"),
    ({"active_instructions": [], "distractors": "none"}, "distractors"),
])
def test_reward_spec_without_its_instructions_is_refused(spec: Any, field: str) -> None:
    # Before: each read as "nothing to check" (None), which verl and OpenRLHF turn into a silent 0.
    with pytest.raises(ValidationError, match=field):
        rewards.score_response("Sure.", spec)
    with pytest.raises(ValidationError, match=field):
        rewards.verl_compute_score("mmmt-if", "Sure.", spec if isinstance(spec, str) else json.dumps(spec))


def test_reward_spec_nested_too_deep_is_a_validation_error() -> None:
    with pytest.raises(ValidationError, match="nested deeper"):
        rewards.score_response("x", "[" * 100_000)
    with pytest.raises(ValidationError, match="nested deeper"):
        rewards.score_response("x", '{"active_instructions": ' + "[" * 100_000 + "]" * 100_000 + "}")


def test_verl_compute_score_shape() -> None:
    spec = _spec("S")
    assert rewards.verl_compute_score("mmmt-if", "So?", spec, extra_info={"index": 0}) == 1.0
    assert rewards.verl_compute_score("mmmt-if", "No?", spec, None, mode="all") == 0.0
    empty = make_spec("c", {"turn": 1, "active_instructions": []})
    assert rewards.verl_compute_score("mmmt-if", "So?", empty) == 0.0


def test_verl_interaction_walks_the_conversation(dataset: Path) -> None:
    rows = _rows(dataset, "mmmt-if")
    row = rows[0]
    turns = [{"turn": t["turn"], "prompt": t["prompt"], "reward_spec": make_spec(row["id"], t)}
             for t in row["turns"]]
    from generator.authoring.oracle import oracle_responses

    witnesses = [r["response"] for r in oracle_responses([row])]
    interaction = rewards.MMMTIFInteraction({"name": "mmmtif"})

    async def rollout() -> tuple[list, float]:
        instance = await interaction.start_interaction("r1", name="mmmtif", turns=turns)
        messages = [{"role": "user", "content": turns[0]["prompt"]}]
        steps = []
        for position, witness in enumerate(witnesses):
            answer = witness if position % 2 == 0 else "nothing useful"
            messages.append({"role": "assistant", "content": answer})
            done, following, score, info = await interaction.generate_response(instance, messages)
            steps.append((done, following, score, info))
            messages.append({"role": "user", "content": following})
        mean = await interaction.calculate_score(instance)
        await interaction.finalize_interaction(instance)
        return steps, mean

    steps, mean = asyncio.run(rollout())
    assert [s[0] for s in steps] == [False] * (len(turns) - 1) + [True]
    # The next user message is the next turn's prompt: its question and, at planned turns, its new instruction.
    assert [s[1] for s in steps[:-1]] == [t["prompt"] for t in turns[1:]]
    expected = []
    for position, step in enumerate(steps):
        answer = witnesses[position] if position % 2 == 0 else "nothing useful"
        value = rewards.score_response(answer, turns[position]["reward_spec"])
        expected.append(0.0 if value is None else value)
        assert step[2] == expected[-1]
    assert mean == pytest.approx(sum(expected) / len(expected))
    assert any(step[3]["applicable"] for step in steps)


def test_rewards_import_no_trainer() -> None:
    import subprocess
    import sys

    code = ("import sys, generator.rewards; bad = [m for m in ('torch', 'trl', 'verl', 'openrlhf', 'datasets', "
            "'transformers') if m in sys.modules]; print(bad); sys.exit(1 if bad else 0)")
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=False)
    assert done.returncode == 0, done.stdout + done.stderr


def test_verl_compute_score_of_a_multi_turn_rollout_uses_the_turn_scores() -> None:
    # verl 0.7.1's reward loop: ``extra_info.update(tool_extra_fields.items())`` brings the agent loop's
    # ``turn_scores``; ``extra_info["num_turns"]`` is user + assistant turns + 1. The decoded text spans all turns.
    spec = _spec("S")
    transcript = "So?<eos>Next question, answer starting with Q.Q?"
    planned = {"turns": [{"turn": 1}, {"turn": 2}, {"turn": 3}]}
    assert rewards.verl_compute_score("mmmt-if", transcript, spec, {
        "interaction_kwargs": planned, "turn_scores": [1.0, 1.0, 1.0], "num_turns": 7}) == 1.0
    # A rollout cut short loses the turns it never answered.
    assert rewards.verl_compute_score("mmmt-if", transcript, spec, {
        "interaction_kwargs": planned, "turn_scores": [1.0, 0.5], "num_turns": 5}) == 0.5
    # Single-turn rollouts (verl's single-turn agent loop sets turn_scores to []) are scored from the text.
    assert rewards.verl_compute_score("mmmt-if", "So?", spec, {"turn_scores": [], "num_turns": 2}) == 1.0
    # A multi-turn transcript without the turn scores cannot be scored: refuse rather than return 0.
    with pytest.raises(ValueError, match="turn_scores"):
        rewards.verl_compute_score("mmmt-if", transcript, spec, {"interaction_kwargs": planned, "num_turns": 7})


def test_openrlhf_refuses_empty_labels_and_foreign_queries_and_strips_eos() -> None:
    from generator.rewards.openrlhf import response_of

    prompt = "<|user|>Why?<|end|><|assistant|>"
    # OpenRLHF decodes with skip_special_tokens=False: the end token stays at the end of the query.
    assert response_of(prompt + "So?<|end|>", prompt) == "So?"
    assert response_of(prompt + "So?</s>\n", prompt) == "So?"
    assert response_of(prompt + "So? <|my_eos|>", prompt, ("<|my_eos|>",)) == "So? "
    # Without --data.label_key OpenRLHF passes "" as every label.
    for label in ("", None):
        with pytest.raises(ValueError, match="label_key"):
            rewards.openrlhf_reward([prompt + "So?"], [prompt], [label])
    # A query that is not prompt + response: scoring it whole would score the prompt.
    with pytest.raises(ValueError, match="does not start with its prompt"):
        rewards.openrlhf_reward(["<|user|>Why? <|assistant|>So?"], [prompt], [_spec("S")])
    with pytest.raises(ValueError, match="check mode"):
        rewards.make_openrlhf_reward(check="lenient")
