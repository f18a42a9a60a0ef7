"""End-to-end runs of ``mmmtif run`` against a local OpenAI-compatible server that injects faults."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from collections import Counter
from pathlib import Path

import pytest
from click.testing import CliRunner
from fake_openai_server import FakeServer

from generator.cli import cli

WORDINGS = [
    ("punctuation:end", {"mark": "?"}, "End every sentence with a question mark (?)."),
    ("keyword:include", {"word": "per se"}, "Use the word 'per se' at least once in all future responses."),
]
N_CONV, N_TURNS = 2, 3


def _catalogue_available() -> bool:
    try:
        from generator.authoring import compose_witness, parse_official  # noqa: F401
        from generator.core.answers import answer_phrase  # noqa: F401
    except ImportError:
        return False
    return True


HAVE_CATALOGUE = _catalogue_available()
if HAVE_CATALOGUE:  # use the catalogue's own ids so that reference answers can be composed
    from generator.authoring import parse_official

    WORDINGS = [(parse_official(w).id, dict(parse_official(w).kwargs), w) for _, _, w in WORDINGS]


def _image(seed: int):
    from PIL import Image, ImageDraw

    img = Image.new("RGB", (48, 32), (250, 250, 250))
    draw = ImageDraw.Draw(img)
    draw.rectangle((4 + seed, 4, 20 + seed, 20), fill=(200, 30 * seed % 255, 40))
    draw.ellipse((26, 6, 44, 26), outline=(0, 0, 0))
    return img


def make_rows(system_prompt: str = "") -> list[dict]:
    """Two conversations x three turns, following the dataset row contract."""
    rows = []
    for c in range(N_CONV):
        active: list[dict] = []
        turns = []
        for t in range(1, N_TURNS + 1):
            new = []
            if t <= len(WORDINGS):
                ident, kwargs, wording = WORDINGS[(t - 1 + c) % len(WORDINGS)]
                new = [{"id": ident, "kwargs": json.dumps(kwargs), "wording": wording, "action": "add"}]
                active = [*active, {"id": ident, "kwargs": json.dumps(kwargs), "wording": wording, "given_at": t}]
            question = f"How many shapes are in Image{(t - 1) % 2 + 1}? (chat {c})"
            prompt = (f"Instruction: {new[0]['wording']} {question}" if new else question)
            turns.append({"turn": t, "question": question, "prompt": prompt, "new_instructions": new,
                          "active_instructions": list(active), "distractors": [],
                          "reference_answer": str(2 + c), "answer_type": "number",
                          "image_indices": [(t - 1) % 2]})
        rows.append({"id": f"conv-{c:03d}", "config": "default", "source": "test", "system_prompt": system_prompt,
                     "images": [_image(c), _image(c + 3)],
                     "image_meta": [{"name": f"Image{i + 1}", "source": "test", "license": "CC0",
                                     "attribution": "", "spec": "{}"} for i in range(2)],
                     "turns": turns})
    return rows


def write_dataset_folder(folder: Path, rows: list[dict]) -> Path:
    """The product's writer once the catalogue it bundles exists; a bare parquet shard (same layout) before."""
    if HAVE_CATALOGUE:
        from generator.dataset.writer import write_dataset

        write_dataset(folder, {"default": {"test": rows}}, default_config="default", quiet=True)
        return folder
    from datasets import Dataset

    from generator.dataset.features import build_features

    target = folder / "default"
    target.mkdir(parents=True)
    Dataset.from_list(rows, features=build_features()).to_parquet(str(target / "test-00000-of-00001.parquet"))
    return folder


@pytest.fixture(scope="module")
def dataset_dir(tmp_path_factory) -> Path:
    return write_dataset_folder(tmp_path_factory.mktemp("ds") / "mmmt-if", make_rows("You are a careful assistant."))


def read_lines(path: Path) -> list[dict]:
    return [json.loads(line) for line in path.read_text().splitlines()]


def without_latency(path: Path) -> list[str]:
    """The file's lines with the wall-clock field removed (the only field a deterministic server cannot fix)."""
    out = []
    for line in path.read_text().splitlines():
        record = json.loads(line)
        record.pop("latency_s")
        out.append(json.dumps(record))
    return out


def run_cli(args: list[str], env: dict | None = None):
    result = CliRunner().invoke(cli, ["run", *args], env=env, catch_exceptions=False)
    return result


def common_args(dataset_dir: Path, server: FakeServer, out: Path, *extra: str) -> list[str]:
    return ["--dataset", str(dataset_dir), "--model", "fake-vl", "--base-url", server.base_url, "--out", str(out),
            "--timeout", "0.4", "--backoff-base", "0.01", "--backoff-max", "0.05", "--quiet", *extra]


def test_run_survives_faults_and_writes_each_key_once(tmp_path, dataset_dir):
    faults = ["ok", "429", "500", "hang", "malformed", "reset"]
    with FakeServer(tmp_path / "log.jsonl", faults=faults, hang_seconds=1.0) as server:
        out = tmp_path / "responses.jsonl"
        result = run_cli(common_args(dataset_dir, server, out, "--samples", "2", "--concurrency", "3",
                                     "--max-tokens", "64", "--temperature", "0.7"))
        assert result.exit_code == 0, result.output
        log = server.requests()
    records = read_lines(out)
    keys = [(r["id"], r["turn"], r["sample"]) for r in records]
    expected = [(f"conv-{c:03d}", t, s) for c in range(N_CONV) for t in range(1, N_TURNS + 1) for s in range(2)]
    assert keys == expected  # complete, unique, sorted
    served = Counter(entry["fault"] for entry in log)
    assert all(served[kind] >= 1 for kind in faults), served
    assert all(r["finish_reason"] == "stop" and r["usage"]["total_tokens"] > 0 for r in records)
    assert all(r["model"] == "fake-vl" for r in records)
    assert {e["max_tokens"] for e in log} == {64} and {e["temperature"] for e in log} == {0.7}


def test_model_history_images_first_and_growing_history(tmp_path, dataset_dir):
    with FakeServer(tmp_path / "log.jsonl") as server:
        out = tmp_path / "responses.jsonl"
        assert run_cli(common_args(dataset_dir, server, out, "--concurrency", "4")).exit_code == 0
        log = server.requests()
    records = {(r["id"], r["turn"]): r["response"] for r in read_lines(out)}
    assert len(log) == N_CONV * N_TURNS
    for entry in log:
        n_user = entry["roles"].count("user")
        assert entry["roles"] == ["system"] + ["user", "assistant"] * (n_user - 1) + ["user"]
        assert entry["messages"] == 1 + 2 * n_user - 1  # two more messages per turn
        assert entry["images"] == [0, 2] + [0] * (entry["messages"] - 2)  # images in the first user message only
        conv = "conv-" + entry["texts"][1].rsplit("(chat ", 1)[1].rstrip(")").zfill(3)
        history = entry["texts"][2::2]
        assert history == [records[(conv, t)] for t in range(1, n_user)]
    assert sorted(Counter(e["roles"].count("user") for e in log).values()) == [N_CONV] * N_TURNS


def test_reference_history_uses_witnesses_and_needs_no_order(tmp_path, dataset_dir):
    if not HAVE_CATALOGUE:
        pytest.skip("instruction catalogue not available")

    from generator.running.runner import reference_history

    with FakeServer(tmp_path / "log.jsonl") as server:
        out = tmp_path / "responses.jsonl"
        result = run_cli(common_args(dataset_dir, server, out, "--history", "reference"))
        assert result.exit_code == 0, result.output
        log = server.requests()
    assert len(log) == N_CONV * N_TURNS and len(read_lines(out)) == N_CONV * N_TURNS
    witnesses = {row["id"]: reference_history(row) for row in make_rows()}
    for entry in log:
        conv = "conv-" + entry["texts"][1].rsplit("(chat ", 1)[1].rstrip(")").zfill(3)
        assistants = [t for t, r in zip(entry["texts"], entry["roles"], strict=True) if r == "assistant"]
        assert assistants == witnesses[conv][: len(assistants)]
        assert all(str(2 + int(conv[-1])) in a for a in assistants)  # each states the reference answer


def test_run_then_score_then_compare(tmp_path, dataset_dir):
    if not HAVE_CATALOGUE:
        pytest.skip("instruction catalogue not available")
    runs = tmp_path / "runs"
    with FakeServer(tmp_path / "log.jsonl") as server:
        for name, extra in (("a", ["--samples", "2"]), ("b", ["--history", "reference"])):
            result = run_cli(common_args(dataset_dir, server, runs / f"{name}.jsonl", *extra))
            assert result.exit_code == 0, result.output
    runner = CliRunner()
    for name in ("a", "b"):
        result = runner.invoke(cli, ["score", "--dataset", str(dataset_dir), "--responses", str(runs / f"{name}.jsonl"),
                                     "--out", str(runs / f"{name}.json"), "--quiet"])
        assert result.exit_code == 0, result.output
    result = runner.invoke(cli, ["compare", str(runs / "a.json"), str(runs / "b.json"), "--out", str(runs / "c.md"),
                                 "--plot", str(runs / "c.png")])
    assert result.exit_code == 0, result.output
    report = json.loads((runs / "a.json").read_text())
    assert report["counts"]["missing_responses"] == 0 and report["samples_per_turn"] == 2
    assert f"| PIF-2-2 | {report['PIF-2-2']:.3f} [" in (runs / "c.md").read_text()
    assert report["inputs"]["fingerprinted_responses"] == report["counts"]["responses"]
    assert report["inputs"]["model"] == "fake-vl" and report["inputs"]["history"] == "model"
    assert (runs / "c.png").read_bytes()[:4] == b"\x89PNG"


def test_killed_run_resumes_to_the_same_file(tmp_path, dataset_dir):
    args_tail = ["--samples", "2", "--history", "model"]
    with FakeServer(tmp_path / "log_a.jsonl") as server:
        full = tmp_path / "full.jsonl"
        # the uninterrupted run is sequential, the interrupted one concurrent: neither may change the file
        assert run_cli(common_args(dataset_dir, server, full, *args_tail, "--concurrency", "1")).exit_code == 0

    with FakeServer(tmp_path / "log_b.jsonl", delay=0.25) as server:
        part = tmp_path / "part.jsonl"
        env = {**os.environ, "PYTHONUNBUFFERED": "1"}
        proc = subprocess.Popen([sys.executable, "-m", "generator.cli", "run", *common_args(dataset_dir, server, part),
                                 *args_tail, "--concurrency", "3"], env=env, stdout=subprocess.PIPE,
                                stderr=subprocess.PIPE)
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline and proc.poll() is None:
            if part.exists() and part.read_text().count("\n") >= 3:
                break
            time.sleep(0.02)
        assert proc.poll() is None, proc.communicate()
        proc.send_signal(signal.SIGKILL)
        proc.wait()
        kept = part.read_text().count("\n")
        assert 3 <= kept < N_CONV * N_TURNS * 2
        # simulate a kill in the middle of a write: a partial line without newline
        with open(part, "a") as handle:
            handle.write('{"id": "conv-001", "turn": 3, "sam')
        server.delay = 0.0
        before = len(server.requests())
        result = run_cli(common_args(dataset_dir, server, part, *args_tail, "--concurrency", "4"))
        assert result.exit_code == 0, result.output
        resumed_requests = len(server.requests()) - before
    assert resumed_requests == N_CONV * N_TURNS * 2 - kept
    assert without_latency(part) == without_latency(full)


def test_api_key_is_sent_but_never_shown(tmp_path, dataset_dir):
    secret = "sk-test-7f3c9d1e5b"
    with FakeServer(tmp_path / "log.jsonl", api_key=secret) as server:
        out = tmp_path / "responses.jsonl"
        loud = [a for a in common_args(dataset_dir, server, out, "--api-key-env", "MMMTIF_TEST_KEY") if a != "--quiet"]
        ok = run_cli(loud, env={"MMMTIF_TEST_KEY": secret})
        assert ok.exit_code == 0, ok.output
        assert "new responses" in ok.output  # the summary (stderr) is part of what is checked below
        assert all(entry["key_ok"] for entry in server.requests())
        wrong = "sk-wrong-0a1b2c3d4e"
        bad = run_cli(common_args(dataset_dir, server, tmp_path / "bad.jsonl", "--api-key-env", "MMMTIF_TEST_KEY"),
                      env={"MMMTIF_TEST_KEY": wrong})
        assert bad.exit_code == 2
        assert "401" in bad.output and "***" in bad.output
        missing = run_cli(common_args(dataset_dir, server, tmp_path / "m.jsonl", "--api-key-env", "NO_SUCH_VAR_X"),
                          env={"NO_SUCH_VAR_X": None})
        assert missing.exit_code == 2 and "NO_SUCH_VAR_X" in missing.output
    for text in (ok.output, bad.output, out.read_text(), (tmp_path / "log.jsonl").read_text()):
        assert secret not in text and wrong not in text


def test_failed_requests_keep_finished_lines_and_resume(tmp_path, dataset_dir):
    out = tmp_path / "responses.jsonl"
    with FakeServer(tmp_path / "log.jsonl", faults=["ok", "500"], fault_attempts=10) as server:
        result = run_cli(common_args(dataset_dir, server, out, "--max-retries", "1", "--concurrency", "1"))
        assert result.exit_code == 2
        assert "run the same command again to resume" in result.output
        partial = read_lines(out)
        assert 0 < len(partial) < N_CONV * N_TURNS
        server.faults = ["ok"]
        assert run_cli(common_args(dataset_dir, server, out)).exit_code == 0
    assert len(read_lines(out)) == N_CONV * N_TURNS


def test_seed_and_extra_body_reach_the_server(tmp_path, dataset_dir):
    seeds = []
    for attempt in range(2):
        with FakeServer(tmp_path / f"log{attempt}.jsonl") as server:
            out = tmp_path / f"r{attempt}.jsonl"
            result = run_cli(common_args(dataset_dir, server, out, "--samples", "2", "--seed", "5",
                                         "--extra-body", '{"top_p": 0.5}', "--history", "reference"))
            assert result.exit_code == 0, result.output
            log = server.requests()
        assert all("top_p" in entry["keys"] for entry in log)
        seeds.append(sorted(entry["seed"] for entry in log))
    assert seeds[0] == seeds[1] and len(set(seeds[0])) == N_CONV * N_TURNS * 2


@pytest.mark.parametrize(("args", "message"), [
    (["--dataset", "./no/such/folder"], "no such folder"),
    (["--base-url", "localhost:8000"], "--base-url"),
    (["--extra-body", "[1]"], "--extra-body"),
    (["--extra-body", "{"], "--extra-body"),
    (["--split", "train"], "Unknown split"),
    (["--config", "nope"], "nope"),
])
def test_user_mistakes_are_one_line_errors(tmp_path, dataset_dir, args, message):
    base = {"--dataset": str(dataset_dir), "--model": "m", "--base-url": "http://127.0.0.1:9/v1",
            "--out": str(tmp_path / "r.jsonl")}
    base.update(dict(zip(args[::2], args[1::2], strict=True)))
    result = CliRunner().invoke(cli, ["run", *[x for pair in base.items() for x in pair], "--quiet"])
    assert result.exit_code == 2 and message in result.output
    assert "Traceback" not in result.output and len(result.output.strip().splitlines()) == 1


def test_refused_requests_stop_the_run_or_are_recorded(tmp_path, dataset_dir):
    with FakeServer(tmp_path / "log.jsonl", faults=["ok", "ok", "400"], fault_attempts=99) as server:
        stopped = run_cli(common_args(dataset_dir, server, tmp_path / "stop.jsonl"))
        assert stopped.exit_code == 2 and "400" in stopped.output
        out = tmp_path / "record.jsonl"
        recorded = run_cli(common_args(dataset_dir, server, out, "--on-error", "record"))
        assert recorded.exit_code == 0, recorded.output
        retried = Counter(e["texts"][-1] for e in server.requests() if e["fault"] == "400")
    records = read_lines(out)
    assert len(records) == N_CONV * N_TURNS
    errors = [r for r in records if r["finish_reason"] == "error"]
    assert errors and all(r["response"] == "" and "context length" in r["error"] for r in errors)
    assert all("error" not in r for r in records if r["finish_reason"] != "error")
    assert max(retried.values()) <= 2  # one refusal per run: a 400 is never retried
