"""Our OpenRLHF reward through OpenRLHF's own loader: ``--remote_rm_url reward_func.py`` as docs/training.md writes it.

OpenRLHF (0.11.2) runs in the ``.venv-rl`` CPU environment (``.ci/rl-cpu.txt``; installed without its CUDA,
flash-attn and deepspeed dependencies). Its ``SingleTurnAgentExecutor`` loads ``reward_func`` from the two-line file
of the docs and calls it per sample on the decoded query (prompt + response), the prompt and the label (our reward
spec). The rewards must equal ``mmmtif score --details`` on the same responses. ``.ci/run`` runs it (``-m rl``).
"""

from __future__ import annotations

import asyncio
import json
from pathlib import Path

import pytest
from click.testing import CliRunner

from generator.cli import cli
from generator.scoring.loader import load_rows
from generator.scoring.spec import make_spec

pytestmark = pytest.mark.rl

ROOT = Path(__file__).resolve().parents[2]


def _reward_file(path: Path) -> Path:
    """The reward file exactly as docs/training.md gives it."""
    text = (ROOT / "docs" / "training.md").read_text(encoding="utf-8")
    start = text.index("```python\n# reward_func.py")
    path.write_text(text[start + len("```python\n"): text.index("```", start + 9)], encoding="utf-8")
    return path


def test_openrlhf_loads_and_calls_our_reward_func(tmp_path: Path) -> None:
    # Imported here, not at collection: the other CI steps collect this module without OpenRLHF.
    pytest.importorskip("openrlhf")
    from openrlhf.utils.agent import SingleTurnAgentExecutor

    from generator.authoring.oracle import oracle_responses

    result = CliRunner().invoke(cli, ["gen", "--quiet", "--variant", "hard", "--turns", "3", "--conversations", "2",
                                      "--seed", "8", "--out", str(tmp_path / "data")])
    assert result.exit_code == 0, result.output
    rows = load_rows(tmp_path / "data", "hard")
    witnesses = {(r["id"], r["turn"]): r["response"] for r in oracle_responses(rows)}
    samples = []
    for row in rows:
        for turn in row["turns"]:
            text = witnesses[(row["id"], turn["turn"])]
            prompt = f"<|user|>{turn['prompt']}<|end|><|assistant|>"
            for sample, response in enumerate((text, text.lower(), text.replace(".", "!"), "no idea")):
                samples.append({"id": row["id"], "turn": turn["turn"], "sample": sample, "response": response,
                                "prompt": prompt, "label": make_spec(row["id"], turn)})
    responses = tmp_path / "responses.jsonl"
    responses.write_text("".join(json.dumps({k: s[k] for k in ("id", "turn", "sample", "response")}) + "\n"
                                 for s in samples), encoding="utf-8")
    result = CliRunner().invoke(cli, ["score", "--quiet", "--dataset", str(tmp_path / "data"), "--config", "hard",
                                      "--responses", str(responses), "--out", str(tmp_path / "report.json"),
                                      "--details", str(tmp_path / "details.jsonl")])
    assert result.exit_code == 0, result.output
    lines = (tmp_path / "details.jsonl").read_text().splitlines()
    verdicts = {(d["id"], d["turn"], d["sample"]): d for d in map(json.loads, lines)}

    executor = SingleTurnAgentExecutor(remote_rm_url=str(_reward_file(tmp_path / "reward_func.py")))
    assert executor.reward_func is not None
    # OpenRLHF decodes the whole sequence (prompt and response, special tokens kept: the end token too) as the query.
    queries = [s["prompt"] + s["response"] + "<|end|>" for s in samples]
    results = asyncio.run(executor._fetch_rewards_via_func(queries, [s["prompt"] for s in samples],
                                                           [s["label"] for s in samples]))
    seen = set()
    for sample, out in zip(samples, results, strict=True):
        verdict = verdicts[(sample["id"], sample["turn"], sample["sample"])]
        expected = 0.0 if verdict["pif"] is None else verdict["pif"]
        assert set(out) == {"rewards", "scores", "extra_logs"}
        assert out["rewards"].tolist() == pytest.approx([expected], abs=1e-6)
        assert out["scores"].tolist() == pytest.approx([expected], abs=1e-6)
        seen.add(expected)
    assert len(seen) > 1, "every response got the same reward: the comparison would prove little"

    # Without --data.label_key OpenRLHF's dataset passes "" as the label: an error, never a reward of 0.
    with pytest.raises(ValueError, match="label_key"):
        executor.reward_func(queries[:1], [samples[0]["prompt"]], [""])
