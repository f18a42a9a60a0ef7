"""Helpers for the publish tests: a local Hub fixture, small dataset folders, and the CLI run in a subprocess.

The client side (``mmmtif publish``, ``load_dataset``, ``hf_hub_download``) always runs in a subprocess because
``huggingface_hub`` and ``datasets`` read ``HF_ENDPOINT`` and ``HF_HUB_DISABLE_XET`` when they are imported.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from hubserver import HubServer
from pngs import png_bytes

TOKEN = "hf_TestTokenThatMustNeverBePrinted0123456789"
REPO_ROOT = Path(__file__).resolve().parent.parent


def hub_env(hub: HubServer, home: Path, token: str | None = TOKEN) -> dict[str, str]:
    """Environment pointing the unmodified clients at the local Hub (nothing reaches the network)."""
    env = {k: v for k, v in os.environ.items() if not k.startswith(("HF_", "HUGGINGFACE_"))}
    env.update({"HF_ENDPOINT": hub.url, "HF_HOME": str(home), "HF_HUB_DISABLE_XET": "1",
                "HF_HUB_DISABLE_TELEMETRY": "1", "HF_HUB_DISABLE_PROGRESS_BARS": "1",
                "HF_HUB_DISABLE_IMPLICIT_TOKEN": "0", "PYTHONPATH": str(REPO_ROOT), "NO_COLOR": "1",
                "SOURCE_DATE_EPOCH": "1790000000"})
    if token is not None:
        env["HF_TOKEN"] = token
    return env


WORKER_SCRIPT = r'''
import contextlib, io, json, os, sys, traceback
from generator.cli import cli
protocol = sys.__stdout__
for line in sys.stdin:
    request = json.loads(line)
    saved = dict(os.environ)
    for key, value in request["env"].items():
        if value is None:
            os.environ.pop(key, None)
        else:
            os.environ[key] = value
    out, err, code = io.StringIO(), io.StringIO(), 0
    with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
        try:
            if "python" in request:
                exec(request["python"], {"__name__": "__worker__", "argv": request["argv"]})
            else:
                cli.main(request["argv"], prog_name="mmmtif")
        except SystemExit as exc:
            code = exc.code if isinstance(exc.code, int) else (0 if exc.code is None else 1)
        except BaseException:
            traceback.print_exc()
            code = 1
    os.environ.clear()
    os.environ.update(saved)
    protocol.write(json.dumps({"code": code, "stdout": out.getvalue(), "stderr": err.getvalue()}) + "\n")
    protocol.flush()
'''


@dataclass
class CliResult:
    """What one ``mmmtif`` invocation printed and returned."""

    returncode: int
    stdout: str
    stderr: str


class CliWorker:
    """One client process that runs many ``mmmtif`` invocations, so the libraries are imported once.

    It is still a separate process started with the Hub environment, so ``HF_ENDPOINT`` and friends are read at
    import time as in real use; only ``HF_TOKEN`` changes between invocations (``get_token`` reads it per call).
    """

    def __init__(self, env: Mapping[str, str], log: Path) -> None:
        self.log = open(log, "w")  # noqa: SIM115 - closed in close()
        self.proc = subprocess.Popen([sys.executable, "-c", WORKER_SCRIPT], stdin=subprocess.PIPE,
                                     stdout=subprocess.PIPE, stderr=self.log, env=dict(env), text=True,
                                     cwd=REPO_ROOT)

    def run(self, argv: list[str], env: Mapping[str, str | None], python: str | None = None) -> CliResult:
        """Run ``mmmtif ARGV`` (or the ``python`` snippet, which sees ``argv``) with ``env`` changes."""
        assert self.proc.stdin is not None and self.proc.stdout is not None
        request: dict[str, Any] = {"argv": argv, "env": dict(env)}
        if python is not None:
            request["python"] = python
        self.proc.stdin.write(json.dumps(request) + "\n")
        self.proc.stdin.flush()
        line = self.proc.stdout.readline()
        assert line, f"the CLI worker died; see {self.log.name}"
        answer = json.loads(line)
        return CliResult(answer["code"], answer["stdout"], answer["stderr"])

    def close(self) -> None:
        if self.proc.stdin:
            self.proc.stdin.close()
        try:
            self.proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            self.proc.kill()
        self.log.close()


def client(hub: HubServer, home: Path) -> CliWorker:
    workers = hub.__dict__.setdefault("_cli_workers", {})
    if str(home) not in workers:
        worker = CliWorker(hub_env(hub, home), home / "cli-worker.log")
        workers[str(home)] = worker
        hub.cleanups.append(worker.close)
    return workers[str(home)]


def run_publish(hub: HubServer, home: Path, folder: Path, version: str, *extra: str,
                repo_id: str = "test-org/mmmt-if", token: str | None = TOKEN, fresh: bool = False) -> CliResult:
    """``mmmtif publish`` in a client process; asserts the token never shows in its output.

    ``fresh=True`` starts a new process through ``python -m generator.cli`` (the real entry point); otherwise a
    long-lived worker process runs the command, which keeps the suite fast.
    """
    argv = ["publish", str(folder), "--repo-id", repo_id, "--version", version, "--quiet", *extra]
    if fresh:
        proc = subprocess.run([sys.executable, "-m", "generator.cli", *argv], env=hub_env(hub, home, token),
                              capture_output=True, text=True, timeout=120, cwd=REPO_ROOT)
        result = CliResult(proc.returncode, proc.stdout, proc.stderr)
    else:
        result = client(hub, home).run(argv, {"HF_TOKEN": token})
    for secret in {TOKEN, token} - {None}:
        assert secret not in result.stdout and secret not in result.stderr, "the token was printed"
    return result


CLIENT_SCRIPT = r'''
import json
import datasets
from huggingface_hub import snapshot_download
datasets.config.USE_PARQUET_EXPORT = False
datasets.disable_progress_bars()
requests, snapshot_root = json.loads(argv[0]), argv[1]
out = {"snapshots": {}}
for repo, config, tag in requests:
    loaded = datasets.load_dataset(repo, config, revision=tag)
    out[f"{config}@{tag}"] = {split: [{"id": r["id"], "turns": r["turns"]} for r in ds] for split, ds in loaded.items()}
    if tag not in out["snapshots"]:
        out["snapshots"][tag] = snapshot_download(repo, repo_type="dataset", revision=tag,
                                                  local_dir=f"{snapshot_root}/{tag}")
print(json.dumps(out))
'''


def load_through_hub(hub: HubServer, home: Path, requests: list[tuple[str, str, str]],
                     snapshot_root: Path) -> dict[str, Any]:
    """``load_dataset(repo, config, revision=tag)`` for each request and ``snapshot_download`` of each tag into
    ``snapshot_root/<tag>``, in the client process."""
    result = client(hub, home).run([json.dumps(requests), str(snapshot_root)], {}, python=CLIENT_SCRIPT)
    assert result.returncode == 0, result.stderr[-3000:]
    return json.loads(result.stdout.strip().splitlines()[-1])


def run_script(hub: HubServer, home: Path, script: Path, argv: list[str]) -> CliResult:
    """Run a Python script as ``__main__`` in the client process (its exit code is the result's)."""
    runner = "import runpy, sys\nsys.argv = argv\nrunpy.run_path(argv[0], run_name='__main__')\n"
    return client(hub, home).run([str(script), *argv], {}, python=runner)


#: Two instructions of the official catalogue, given at turns 1 and 2 of every test conversation.
INSTRUCTIONS = [
    {"id": "start:letter", "kwargs": '{"letter":"S"}', "wording": "Start every sentence with the letter (S)."},
    {"id": "keyword:include", "kwargs": '{"min_count":1,"word":"per se"}',
     "wording": "Use the word 'per se' at least once in all future responses."},
]


def make_rows(config: str, count: int, salt: str) -> list[dict[str, Any]]:
    """Small conversation rows of the real row layout: two turns, one new instruction per turn, one image."""
    png = png_bytes((200, 30, 30), 8)
    rows = []
    for index in range(count):
        turns = []
        for turn, instruction in enumerate(INSTRUCTIONS, start=1):
            question = f"{salt} question {index}.{turn}: how many shapes are in Image1?"
            turns.append({"turn": turn, "question": question,
                          "prompt": f"Instruction: {instruction['wording']} {question}",
                          "new_instructions": [{**instruction, "action": "add"}],
                          "active_instructions": [{**item, "given_at": given}
                                                  for given, item in enumerate(INSTRUCTIONS[:turn], start=1)],
                          "distractors": [], "reference_answer": str(index + turn), "answer_type": "number",
                          "image_indices": [0]})
        rows.append({"id": f"{config}-{salt}-{index:03d}", "config": config, "source": "test", "system_prompt": "",
                     "images": [{"bytes": png, "path": None}],
                     "image_meta": [{"name": "Image1", "source": "test", "license": "CC0-1.0", "attribution": "",
                                     "spec": "{}"}],
                     "turns": turns})
    return rows


def make_folder(root: Path, layout: Mapping[str, Mapping[str, list[dict[str, Any]]]],
                max_rows_per_shard: int = 3) -> Path:
    """A Hub-layout folder of ``layout`` ({config: {split: rows}}), written and validated by the real writer."""
    from generator.dataset.writer import write_dataset

    write_dataset(root, layout, overwrite=True, quiet=True, max_rows_per_shard=max_rows_per_shard,
                  default_config=next(iter(layout)))
    return root
