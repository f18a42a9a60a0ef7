"""inspect-ai and lmms-eval run for real against the local OpenAI-compatible server, with the documented commands.

Their per-conversation scores and exported responses must equal ``mmmtif run`` + ``mmmtif score`` on the same
server. The commands come from docs/running.md and the inspect task's docstring; only the server address (and,
for other modes, the ``-T`` options) is replaced. lmms-eval runs in its own environment: ``MMMTIF_LMMS_PYTHON``
names its interpreter (``.ci/run`` creates it from .ci/lmms-eval-cpu.txt).
"""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import sys
from collections import defaultdict
from pathlib import Path

import pytest
from fake_openai_server import FakeServer

pytestmark = pytest.mark.harness

ROOT = Path(__file__).resolve().parents[2]
DOC_URL = "http://localhost:8000/v1"
TASK_FILE = "generator/running/integrations/inspect_task.py"
LMMS_PYTHON = os.environ.get("MMMTIF_LMMS_PYTHON", sys.executable)


def doc_block(heading: str) -> list[str]:
    """The commands of the first bash block under ``heading`` in docs/running.md (install lines left out)."""
    text = (ROOT / "docs" / "running.md").read_text(encoding="utf-8")
    section = text[text.index(heading):]
    block = section[section.index("```bash") + 7: section.index("```", section.index("```bash") + 7)]
    return [line for line in block.strip().splitlines() if line and not line.startswith("pip install")]


def docstring_commands() -> list[str]:
    from generator.running.integrations import inspect_task

    return [line.strip() for line in (inspect_task.__doc__ or "").splitlines()
            if line.strip().startswith(("LOCAL_API_KEY=", "python -m generator.running.integrations.export"))]


def shell(commands: list[str], cwd: Path, env: dict[str, str] | None = None, python: str = sys.executable) -> str:
    """Run the commands in one bash, ``python``/``mmmtif``/``inspect`` from the given interpreter's folder."""
    bindir = str(Path(python).parent)
    full_env = {**os.environ, **(env or {}), "PATH": bindir + os.pathsep + os.environ["PATH"], "PWD": str(cwd)}
    script = "set -euo pipefail\n" + "\n".join(commands) + "\n"
    done = subprocess.run(["bash", "-c", script], cwd=cwd, env=full_env, capture_output=True, text=True,
                          timeout=900)
    assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-3000:]
    return done.stdout + done.stderr


@pytest.fixture(scope="module")
def bench(tmp_path_factory):
    """A small generated dataset in ``work/mmmt-if`` and the local server."""
    work = tmp_path_factory.mktemp("harness")
    subprocess.run([sys.executable, "-m", "generator.cli", "gen", "--turns", "3", "--conversations", "3",
                    "--seed", "5", "--out", str(work / "mmmt-if"), "--quiet"], check=True, timeout=600)
    with FakeServer(work / "requests.jsonl") as server:
        yield work, server


def reference(work: Path, server: FakeServer, history: str, config: str | None) -> tuple[dict, dict]:
    """Responses of ``mmmtif run`` and per-conversation PIF from ``mmmtif score --details``."""
    name = f"run-{history}-{config or 'default'}"
    for stale in work.glob(f"{name}.*"):
        stale.unlink()
    options = ["--config", config] if config else []
    shell([f"mmmtif run --dataset ./mmmt-if {' '.join(options)} --model fake --base-url {server.base_url} "
           f"--history {history} --out {name}.jsonl --quiet",
           f"mmmtif score --dataset ./mmmt-if {' '.join(options)} --responses {name}.jsonl --out {name}.report.json "
           f"--details {name}.details.jsonl"], work)
    return responses_of(work / f"{name}.jsonl"), conversation_pif(work / f"{name}.details.jsonl")


def responses_of(path: Path) -> dict:
    lines = [json.loads(line) for line in path.read_text().splitlines() if line.strip()]
    return {(r["id"], r["turn"], r["sample"]): (r["response"], r["conversation_sha256"]) for r in lines}


def without_image_hash(responses: dict) -> dict:
    """The fake server's answers quote a hash of the whole request body, which the harnesses encode their own way
    (lmms-eval re-encodes the images, inspect adds fields); everything else in an answer follows the texts."""
    return {key: (_unhash(text), digest) for key, (text, digest) in responses.items()}


def _unhash(text: str) -> str:
    return re.sub(r"(?i)answer [0-9a-f]{8}", "answer #", text)


def sent(server: FakeServer, start: int, stop: int | None = None) -> list:
    """What requests carried (roles, texts, image counts), in a comparable order."""
    return sorted(json.dumps([e["roles"], [_unhash(t) for t in e["texts"]], e["images"]])
                  for e in server.requests()[start:stop])


def conversation_pif(details: Path) -> dict[str, float]:
    turns: dict[str, list[float]] = defaultdict(list)
    for line in details.read_text().splitlines():
        record = json.loads(line)
        if record.get("pif") is not None and record.get("active"):
            turns[record["id"]].append(record["pif"])
    return {conv: sum(values) / len(values) for conv, values in turns.items()}


@pytest.fixture(scope="module")
def mmdu_bench(tmp_path_factory, mmdu_folder, bench):
    """A small set generated from the MMDU fixture files (its turns carry MMDU's own answers), same server."""
    work = tmp_path_factory.mktemp("harness-mmdu")
    subprocess.run([sys.executable, "-m", "generator.cli", "gen", "--source", f"mmdu:{mmdu_folder[0]}", "--turns",
                    "3", "--conversations", "3", "--seed", "5", "--out", str(work / "mmmt-if"), "--quiet"],
                   check=True, timeout=600)
    return work, bench[1]


@pytest.mark.parametrize("config", [None, "appended"])
@pytest.mark.parametrize("history", ["model", "reference"])
def test_inspect_eval_with_the_documented_commands_equals_mmmtif_run_and_score(bench, history, config):
    inspect_equals_run_and_score(*bench, history, config)


def test_inspect_with_source_history_sends_the_mmdu_answers_as_mmmtif_run_does(mmdu_bench):
    work, server = mmdu_bench
    inspect_equals_run_and_score(work, server, "source", None)
    answers = [e["texts"] for e in server.requests() if "assistant" in e["roles"]]
    assert answers and any("MMDU answer" in text for texts in answers for text in texts)


def inspect_equals_run_and_score(work: Path, server: FakeServer, history: str, config: str | None) -> None:
    """The documented inspect commands and ``mmmtif run`` + ``score`` send the same requests and agree."""
    from inspect_ai.log import list_eval_logs, read_eval_log

    run_dir = work / f"inspect-{history}-{config or 'default'}"
    run_dir.mkdir()
    (run_dir / "mmmt-if").symlink_to(work / "mmmt-if")
    commands = docstring_commands()
    assert commands and commands == [line for line in doc_block("## inspect-ai") if not line.startswith("mmmtif")]
    extra = f" -T config={config}" if config else ""
    commands = [c.replace(DOC_URL, server.base_url).replace(TASK_FILE, str(ROOT / TASK_FILE))
                 .replace("-T history=model", f"-T history={history}{extra}") for c in commands]
    start = len(server.requests())
    shell(commands, run_dir)
    middle = len(server.requests())

    [log_info] = list_eval_logs(str(run_dir / "logs"))
    log = read_eval_log(log_info)
    assert log.status == "success"
    expected_responses, expected_pif = reference(work, server, history, config)
    assert sent(server, start, middle) == sent(server, middle)  # the same messages, roles included
    exported = responses_of(run_dir / "inspect.jsonl")
    assert without_image_hash(exported) == without_image_hash(expected_responses)
    scores = {str(sample.id): sample.scores["pif_scorer"].value["pif"] for sample in log.samples}
    assert scores == pytest.approx(expected_pif)
    roles = {role for entry in server.requests() for role in entry["roles"]}
    assert "developer" not in roles


def test_inspect_export_refuses_a_log_that_did_not_succeed(bench, tmp_path):
    work, _ = bench
    (tmp_path / "mmmt-if").symlink_to(work / "mmmt-if")
    command = docstring_commands()[0].replace(DOC_URL, "http://127.0.0.1:9/v1").replace(
        TASK_FILE, str(ROOT / TASK_FILE))
    shell([command + " --max-retries 0 --timeout 5 || true"], tmp_path)
    [log] = list((tmp_path / "logs").glob("*.eval"))
    done = subprocess.run([sys.executable, "-m", "generator.running.integrations.export", "inspect", str(log),
                           "--out", str(tmp_path / "x.jsonl")], capture_output=True, text=True, timeout=120)
    assert done.returncode == 2 and "did not succeed" in done.stderr and len(done.stderr.splitlines()) == 1
    assert not (tmp_path / "x.jsonl").exists()


def test_inspect_openai_form_at_another_server_fails_with_the_form_that_works(bench, tmp_path):
    from inspect_ai.log import list_eval_logs, read_eval_log

    work, server = bench
    (tmp_path / "mmmt-if").symlink_to(work / "mmmt-if")
    shell([f"OPENAI_API_KEY=none inspect eval {ROOT / TASK_FILE}@mmmt_if --model openai/fake "
           f"--model-base-url {server.base_url} -T dataset=./mmmt-if --log-dir logs --max-retries 0 || true"],
          tmp_path)
    [log_info] = list_eval_logs(str(tmp_path / "logs"))
    log = read_eval_log(log_info)
    assert log.status == "error" and "openai-api/local/<model>" in log.error.message


def _lmms_results(run_dir: Path) -> dict:
    [results] = list(run_dir.glob("results/*/*_results.json"))
    return json.loads(results.read_text())["results"]["mmmt_if"]


def test_lmms_eval_with_the_documented_commands_equals_mmmtif_run_reference(bench):
    work, server = bench
    run_dir = work / "lmms"
    run_dir.mkdir()
    (run_dir / "mmmt-if").symlink_to(work / "mmmt-if")
    commands = [c.replace(DOC_URL, server.base_url) for c in doc_block("## lmms-eval")]
    assert any(c.startswith("python -m lmms_eval") for c in commands)
    start = len(server.requests())
    shell(commands, run_dir, python=LMMS_PYTHON)
    middle = len(server.requests())

    expected_responses, _ = reference(work, server, "reference", None)
    assert sent(server, start, middle) == sent(server, middle)  # the same messages, image for image
    assert without_image_hash(responses_of(run_dir / "lmms.jsonl")) == without_image_hash(expected_responses)
    ours = json.loads((work / "run-reference-default.report.json").read_text())
    theirs = json.loads((run_dir / "lmms.report.json").read_text())
    assert theirs["pif"] == ours["pif"] and theirs["perfect_rate"] == ours["perfect_rate"]
    metrics = _lmms_results(run_dir)
    assert metrics["mmmt_if_failed_requests,none"] == 0
    assert metrics["mmmt_if_responses,none"] == len(expected_responses)
    assert metrics["mmmt_if_pif,none"] == pytest.approx(ours["pif"])


def test_lmms_eval_failure_markers_count_as_failed_not_as_answers(bench, tmp_path):
    work, _ = bench
    (tmp_path / "mmmt-if").symlink_to(work / "mmmt-if")
    with FakeServer(tmp_path / "requests.jsonl", faults=["ok", "400", "ok"], fault_attempts=99) as failing:
        commands = [c.replace(DOC_URL, failing.base_url) for c in doc_block("## lmms-eval")]
        shell(commands[:3], tmp_path, python=LMMS_PYTHON)
    metrics = _lmms_results(tmp_path)
    lines = [json.loads(line) for line in (tmp_path / "lmms.jsonl").read_text().splitlines()]
    failed = [line for line in lines if "error" in line]
    assert failed and metrics["mmmt_if_failed_requests,none"] == len(failed) < len(lines)
    assert all(line["response"] == "" and line["finish_reason"] == "error" for line in failed)
    assert all(re.search(r"LMMS_EVAL_(REQUEST_FAILED|BUDGET_EXCEEDED)", line["error"]) for line in failed)
    [samples] = list(tmp_path.glob("results/*/*_samples_mmmt_if.jsonl"))
    for sample in map(json.loads, samples.read_text().splitlines()):
        if "error" in sample["mmmt_if_responses"]:
            assert sample["mmmt_if_pif"] in (0.0, None) and sample["mmmt_if_answer_accuracy"] in (0.0, None)


def test_lmms_light_environment_has_no_cuda_torch():
    if shutil.which("nvidia-smi"):
        pytest.skip("a machine with a GPU may use CUDA torch")
    done = subprocess.run([LMMS_PYTHON, "-c", "import torch; print(torch.version.cuda)"], capture_output=True,
                          text=True, timeout=300)
    assert done.returncode == 0 and done.stdout.strip() == "None"
