"""The ``mmmt-if`` verifiers environment plays real multi-turn rollouts against the local OpenAI-compatible server.

verifiers (0.4, ``verifiers.v1``) loads the environment by its plugin id, runs each conversation through its own
tool-less chat harness (a uv script in a local subprocess, behind verifiers' interception server) and scores the
finished trace with the task's reward. Every answer the policy gave is then scored again by ``mmmtif score
--details`` (what the benchmark reports), and the rollout's reward and per-turn metrics must equal those verdicts.
The server's request log shows what the environment sent: the images and question of turn 1 first, then each
next turn's user message (next question and, at planned turns, next instruction) after each answer.

Needs the ``verifiers`` extra (``pip install -e ".[verifiers]"``, which brings uv for the harness); ``.ci/run``
runs it as its own step (``-m verifiers``).
"""

from __future__ import annotations

import asyncio
import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner
from fake_openai_server import FakeServer

from generator.cli import cli
from generator.rewards import score_response
from generator.scoring.loader import load_rows
from generator.scoring.spec import make_spec

pytestmark = pytest.mark.verifiers

CONFIGS = ("hard", "system")


@pytest.fixture(scope="module")
def bench(tmp_path_factory: pytest.TempPathFactory, monkeypatch_module: pytest.MonkeyPatch) -> tuple[Path, FakeServer]:
    """Two 3-turn conversations per config (extended catalogue with several instructions a turn, and a config
    that keeps its instructions in the system prompt) and the local server."""
    # Imported here, not at collection: other CI steps collect this module without the extra.
    pytest.importorskip("verifiers.v1")
    # The chat harness is a uv script: the uv this environment installed must be found first.
    monkeypatch_module.setenv("PATH", str(Path(sys.executable).parent) + os.pathsep + os.environ["PATH"])
    work = tmp_path_factory.mktemp("verifiers")
    result = CliRunner().invoke(cli, ["gen", "--quiet", "--variant", ",".join(CONFIGS), "--turns", "3",
                                      "--conversations", "2", "--seed", "4", "--out", str(work / "data")])
    assert result.exit_code == 0, result.output
    with FakeServer(work / "requests.jsonl") as server:
        yield work, server


@pytest.fixture(scope="module")
def monkeypatch_module() -> Any:
    with pytest.MonkeyPatch.context() as patch:
        yield patch


def _verdicts(work: Path, config: str, traces: list[dict[str, Any]], mode: str) -> dict[tuple[str, int], dict]:
    """``mmmtif score --details`` on the answers of the traces (one response per turn, sample 0)."""
    records = []
    for trace in traces:
        answers = [node["message"]["content"] for node in trace["nodes"]
                   if node["message"]["role"] == "assistant" and node.get("sampled")]
        records.extend({"id": trace["task"]["data"]["id"], "turn": turn, "sample": 0, "response": text}
                       for turn, text in enumerate(answers, start=1))
    responses = work / f"responses-{config}-{mode}.jsonl"
    responses.write_text("".join(json.dumps(r) + "\n" for r in records), encoding="utf-8")
    details = work / f"details-{config}-{mode}.jsonl"
    result = CliRunner().invoke(cli, ["score", "--quiet", "--dataset", str(work / "data"), "--config", config,
                                      "--responses", str(responses), "--out", str(work / f"report-{config}.json"),
                                      "--details", str(details)])
    assert result.exit_code == 0, result.output
    return {(d["id"], d["turn"]): d for d in map(json.loads, details.read_text().splitlines())}


def _check(work: Path, config: str, traces: list[dict[str, Any]], mode: str) -> set[float]:
    """Rewards and metrics of every trace equal the scorer's verdicts on the same answers."""
    rows = {row["id"]: row for row in load_rows(work / "data", config)}
    assert sorted(trace["task"]["data"]["id"] for trace in traces) == sorted(rows)
    verdicts = _verdicts(work, config, traces, mode)
    seen: set[float] = set()
    for trace in traces:
        assert trace["ok"], trace["errors"]
        conversation = trace["task"]["data"]["id"]
        row = rows[conversation]
        answers = [node["message"]["content"] for node in trace["nodes"]
                   if node["message"]["role"] == "assistant" and node.get("sampled")]
        assert len(answers) == len(row["turns"]) == trace["metrics"]["turns_answered"]
        per_turn = []
        for turn, answer in zip(row["turns"], answers, strict=True):
            # The rule-based server numbers its answers by the user turns it saw: each answer is to its own turn.
            assert f"to turn {turn['turn']}" in answer.lower()
            d = verdicts[(conversation, turn["turn"])]
            expected = None if d["pif"] is None else d["pif"] if mode == "fraction" else \
                float(d["followed"] == d["active"])
            assert expected == score_response(answer, make_spec(conversation, turn), mode)
            assert trace["metrics"].get(f"turn_{turn['turn']}") == expected
            if expected is not None:
                per_turn.append(expected)
                seen.add(expected)
        reward = trace["rewards"]["mmmtif"]
        assert reward["score"] == pytest.approx(sum(per_turn) / len(per_turn) if per_turn else 0.0, abs=1e-12)
    return seen


def _requests_check(server: FakeServer, work: Path, config: str, seen_before: int) -> None:
    """What the environment sent, per conversation: the system prompt and the images with turn 1, then each next
    turn's user message after each answer, in order."""
    rows = load_rows(work / "data", config)
    requests = server.requests()[seen_before:]
    for row in rows:
        prompts = [turn["prompt"] for turn in row["turns"]]
        mine = [r for r in requests if r["roles"][0] in ("user", "system")
                and r["texts"][1 if r["roles"][0] == "system" else 0] == prompts[0]]
        assert len(mine) == len(prompts), (row["id"], len(mine))
        for position, request in enumerate(sorted(mine, key=lambda r: r["messages"])):
            offset = 1 if row.get("system_prompt") else 0
            assert (request["roles"][0] == "system") == bool(row.get("system_prompt"))
            if offset:
                assert request["texts"][0] == row["system_prompt"]
            users = [text for role, text in zip(request["roles"], request["texts"], strict=True) if role == "user"]
            assert users == prompts[:position + 1]
            assert request["images"][offset] == len(row["images"]) and sum(request["images"]) == len(row["images"])


def test_rollouts_in_python_reward_the_scorer_verdicts(bench: tuple[Path, FakeServer]) -> None:
    """The environment as a trainer's worker runs it: loaded by id, rollouts through ``Env.run_slot``."""
    import verifiers.v1 as vf
    from verifiers.v1.utils.loaders import load_environment, resolve_env_config

    work, server = bench
    before = len(server.requests())
    config = resolve_env_config({"taskset": {"id": "mmmt-if", "dataset": str(work / "data"), "config": "hard"}})
    env = load_environment(config)
    ctx = vf.ModelContext(model="rule-based", client=vf.EvalClientConfig(base_url=server.base_url,
                                                                         api_key_var="MMMTIF_TEST_KEY"),
                          sampling=vf.SamplingConfig())

    async def rollouts() -> list[Any]:
        async with env.serving():
            return await asyncio.gather(*(env.run_slot(slot, ctx) for task in env.taskset
                                          for slot in env.slots(task, 1)))

    episodes = asyncio.run(rollouts())
    assert all(episode.ok for episode in episodes), [episode.errors for episode in episodes]
    traces = [trace.model_dump(mode="json") for episode in episodes for trace in episode.traces]
    seen = _check(work, "hard", traces, "fraction")
    assert len(seen) > 1, "every turn got the same reward: the comparison would prove little"
    _requests_check(server, work, "hard", before)


def test_vf_eval_command_all_mode(bench: tuple[Path, FakeServer]) -> None:
    """The documented ``vf-eval mmmt-if`` command, all-or-nothing rewards, on the config with a system prompt."""
    work, server = bench
    before = len(server.requests())
    out = work / "runs"
    command = [str(Path(sys.executable).parent / "vf-eval"), "mmmt-if", "--env.taskset.dataset", str(work / "data"),
               "--env.taskset.config", "system", "--env.taskset.task.mode", "all", "--model", "rule-based",
               "--client.base-url", server.base_url, "--client.api-key-var", "MMMTIF_TEST_KEY", "--no-push",
               "-o", str(out)]
    done = subprocess.run(command, capture_output=True, text=True, stdin=subprocess.DEVNULL, timeout=600,
                          check=False, cwd=work)
    assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-3000:]
    (traces_file,) = out.glob("*/traces.jsonl")
    episodes = [json.loads(line) for line in traces_file.read_text().splitlines()]
    traces = [trace for episode in episodes for trace in episode["traces"]]
    rows = load_rows(work / "data", "system")
    assert all(row["system_prompt"] for row in rows)
    _check(work, "system", traces, "all")
    _requests_check(server, work, "system", before)
