"""Unit tests of the runner's pieces: messages, images, the output file, and the chat client."""

from __future__ import annotations

import base64
import io
import json
from pathlib import Path

import pytest
from fake_openai_server import FakeServer
from pngs import png_bytes

from generator.common.errors import UserError
from generator.running.client import (
    ChatClient,
    ChatError,
    _Retryable,
    completions_url,
    parse_completion,
    parse_retry_after,
)
from generator.running.runner import (
    EncodedConversation,
    ResponseLog,
    RunOptions,
    build_messages,
    image_data_uri,
    read_existing,
    run,
    sort_output,
)


def _row(n_turns=3, system="", n_images=2) -> dict:
    return {"id": "c1", "system_prompt": system, "images": [{"bytes": png_bytes((i, 0, 0)), "path": None}
                                                          for i in range(n_images)],
            "turns": [{"turn": t, "prompt": f"prompt {t}", "active_instructions": []} for t in range(1, n_turns + 1)]}


# ----------------------------------------------------------------------------------------------------- messages

@pytest.mark.parametrize("options", [
    {},
    {"temperature": 0.7, "max_tokens": 64, "seed": 12345},
    {"extra": {"top_p": 0.9, "temperature": 1.5, "stop": ["\n\n"], "note": "\u00e9t\u00e9 \u2028"}},
    {"extra": {"messages": [{"role": "user", "content": "replaced"}]}},
    {"extra": {"model": "other"}},
])
@pytest.mark.parametrize(("system", "n_images", "fixed"), [
    ("", 2, True), ("Be brief, \u00e9l\u00e8ve \"quoted\" \\ \u2603.", 2, False), ("sys", 0, True), ("", 0, False),
])
def test_encoded_bodies_are_byte_for_byte_the_payload_of_the_messages(options, system, n_images, fixed):
    row = _row(n_turns=4, system=system, n_images=n_images)
    row["turns"][2]["prompt"] = "Unicode \u00fc\u00f1\u00ee \U0001f600 and a \"quote\" \\ and a\nnewline \x07"
    history = ["first answer", "second \u00e9 \"answer\"\n", "", "fourth"]
    encoded = EncodedConversation(row, history if fixed else None)
    frame = ChatClient.payload_frame(model="m\u00f6del", **options)
    asked: list[int] = []

    def answer(position: int) -> str:
        asked.append(position)
        return history[position]

    for turn_index in range(4):
        expected = ChatClient.payload(build_messages(row, turn_index, history[:turn_index]), model="m\u00f6del",
                                      **options)
        assert b"".join(encoded.body(frame, turn_index, None if fixed else answer)) == expected
    if not fixed and "messages" not in options.get("extra", {}):
        assert asked == [0, 1, 2]  # each of the model's answers is encoded once



@pytest.mark.parametrize(("system", "turn_index", "roles"), [
    ("", 0, ["user"]),
    ("Be brief.", 0, ["system", "user"]),
    ("", 2, ["user", "assistant", "user", "assistant", "user"]),
    ("Be brief.", 1, ["system", "user", "assistant", "user"]),
])
def test_build_messages_roles_and_image_placement(system, turn_index, roles):
    messages = build_messages(_row(system=system), turn_index, ["a1", "a2", "a3"][:turn_index])
    assert [m["role"] for m in messages] == roles
    users = [m for m in messages if m["role"] == "user"]
    first = users[0]["content"]
    assert [p["type"] for p in first] == ["image_url", "image_url", "text"]  # images before the text
    assert first[-1]["text"] == "prompt 1"
    assert all(p["image_url"]["url"].startswith("data:image/png;base64,") for p in first[:-1])
    assert [u["content"] for u in users[1:]] == [f"prompt {t}" for t in range(2, turn_index + 2)]
    assert [m["content"] for m in messages if m["role"] == "assistant"] == ["a1", "a2", "a3"][:turn_index]
    if system:
        assert messages[0] == {"role": "system", "content": system}


def test_build_messages_without_images_is_plain_text_and_checks_history():
    messages = build_messages(_row(n_images=0), 0, [])
    assert messages == [{"role": "user", "content": "prompt 1"}]
    with pytest.raises(ValueError):
        build_messages(_row(), 2, ["only one"])
    with pytest.raises(IndexError):
        build_messages(_row(), 3, ["a", "b", "c"])


def test_image_data_uri_passes_accepted_formats_through_and_reencodes_others(tmp_path):
    from PIL import Image

    png, jpeg, bmp = png_bytes(), png_bytes(fmt="JPEG"), png_bytes(fmt="BMP")
    path = tmp_path / "x.png"
    path.write_bytes(png)
    cases = [
        ({"bytes": png, "path": None}, "image/png", png),
        ({"bytes": None, "path": str(path)}, "image/png", png),
        (jpeg, "image/jpeg", jpeg),
        (path, "image/png", png),
    ]
    for image, mime, payload in cases:
        prefix, data = image_data_uri(image).split(",", 1)
        assert prefix == f"data:{mime};base64"
        assert base64.b64decode(data) == payload
    prefix, data = image_data_uri(bmp).split(",", 1)
    assert prefix == "data:image/png;base64"
    assert Image.open(io.BytesIO(base64.b64decode(data))).size == (4, 4)
    prefix, _ = image_data_uri(Image.new("RGBA", (3, 3))).split(",", 1)
    assert prefix == "data:image/png;base64"


# --------------------------------------------------------------------------------------------------- the file

def _line(i, turn=1, sample=0) -> str:
    return json.dumps({"id": f"c{i}", "turn": turn, "sample": sample, "response": f"r{i}"})


def test_read_existing_drops_a_truncated_last_line(tmp_path):
    path = tmp_path / "r.jsonl"
    path.write_text(_line(1) + "\n" + _line(2) + "\n" + '{"id": "c3", "tu')
    existing = read_existing(path)
    assert existing.dropped_partial_line
    assert sorted(existing.records) == [("c1", 1, 0), ("c2", 1, 0)]
    assert path.read_text() == _line(1) + "\n" + _line(2) + "\n"


@pytest.mark.parametrize("content", ["not json\n", "[1, 2]\n", '{"turn": 1}\n'])
def test_read_existing_refuses_foreign_lines(tmp_path, content):
    path = tmp_path / "r.jsonl"
    path.write_text(content)
    with pytest.raises(UserError):
        read_existing(path)


def test_sort_output_orders_and_deduplicates(tmp_path):
    path = tmp_path / "r.jsonl"
    path.write_text("\n".join([_line(2), _line(1, 2), _line(1, 1, 1), _line(1, 1, 0), _line(2)]) + "\n")
    assert sort_output(path) == 4
    keys = [(r["id"], r["turn"], r["sample"]) for r in map(json.loads, path.read_text().splitlines())]
    assert keys == [("c1", 1, 0), ("c1", 1, 1), ("c1", 2, 0), ("c2", 1, 0)]
    assert not list(tmp_path.glob(".*tmp*"))


@pytest.mark.parametrize("foreign", [False, True])
def test_sort_output_moves_the_run_s_own_lines_as_written(tmp_path, foreign):
    """Given what the file held and what the run appended, the sort gives the same file as a full re-read; a line
    the run did not write sends it back to reading the whole file."""
    path = tmp_path / "r.jsonl"
    path.write_text("\n".join([_line(5), _line(1, 2), _line(5)]) + "\n")
    earlier = read_existing(path)
    appended_at = path.stat().st_size
    log = ResponseLog(path)
    for i, turn in ((3, 1), (1, 1), (4, 2)):
        log.append({"id": f"c{i}", "turn": turn, "sample": 0, "response": f"\u00e9 {i}\n", "latency_s": 0.125})
    log.close()
    if foreign:
        with open(path, "a") as handle:
            handle.write(_line(0) + "\n")
    copy = tmp_path / "copy.jsonl"
    copy.write_bytes(path.read_bytes())
    assert sort_output(path, earlier=earlier, appended_at=appended_at, appended=log.keys) == 5 + foreign
    assert sort_output(copy) == 5 + foreign
    assert path.read_bytes() == copy.read_bytes()
    keys = [(r["id"], r["turn"]) for r in map(json.loads, path.read_text().splitlines())]
    assert keys == [*([("c0", 1)] if foreign else []), ("c1", 1), ("c1", 2), ("c3", 1), ("c4", 2), ("c5", 1)]


# ------------------------------------------------------------------------------------------------ chat client

@pytest.mark.parametrize(("base", "url"), [
    ("http://h:8000/v1", "http://h:8000/v1/chat/completions"),
    ("http://h:8000/v1/", "http://h:8000/v1/chat/completions"),
    ("https://api.x.com/v1/chat/completions", "https://api.x.com/v1/chat/completions"),
    ("https://x.azure.com/v1?api-version=2024-06-01", "https://x.azure.com/v1/chat/completions?api-version=2024-06-01"),
    ("https://x.azure.com/v1/?v=1", "https://x.azure.com/v1/chat/completions?v=1"),
])
def test_completions_url(base, url):
    assert completions_url(base) == url


@pytest.mark.parametrize("base", ["localhost:8000", "ftp://h/v1", ""])
def test_completions_url_rejects(base):
    with pytest.raises(ValueError):
        completions_url(base)


@pytest.mark.parametrize(("value", "seconds"), [
    ("3", 3.0), ("0.5", 0.5), ("", None), (None, None), ("soon", None),
    ("Wed, 21 Oct 2015 07:28:10 GMT", 10.0),
])
def test_parse_retry_after(value, seconds):
    now = 1445412480.0  # 2015-10-21 07:28:00 UTC
    assert parse_retry_after(value, now=now) == seconds


@pytest.mark.parametrize(("body", "text"), [
    ({"choices": [{"message": {"content": "hi"}, "finish_reason": "stop"}]}, "hi"),
    ({"choices": [{"message": {"content": [{"type": "text", "text": "a"}, {"type": "text", "text": "b"}]}}]}, "ab"),
    ({"choices": [{"message": {"content": None}, "finish_reason": "length"}]}, ""),
])
def test_parse_completion(body, text):
    body["usage"] = {"prompt_tokens": 3, "completion_tokens": 1, "total_tokens": 4, "extra": {"x": 1}}
    got, _, usage = parse_completion(json.dumps(body).encode())
    assert got == text
    assert usage == {"prompt_tokens": 3, "completion_tokens": 1, "total_tokens": 4}


@pytest.mark.parametrize("body", [b"", b"{", b"[]", b'{"choices": []}', b'{"choices": [{}]}',
                                  b'{"error": {"message": "overloaded"}}', b"\xff\xfe"])
def test_parse_completion_malformed_is_retryable(body):
    with pytest.raises(_Retryable):
        parse_completion(body)


def test_backoff_is_deterministic_bounded_and_honours_retry_after():
    client = ChatClient("http://127.0.0.1:1/v1", backoff_base=1.0, backoff_max=10.0)
    delays = [client.backoff_delay(a, "k") for a in range(6)]
    assert delays == [client.backoff_delay(a, "k") for a in range(6)]
    assert delays != [client.backoff_delay(a, "other") for a in range(6)]
    assert all(0.5 * min(10, 2 ** a) <= d <= min(10, 2 ** a) for a, d in enumerate(delays))
    assert client.backoff_delay(0, "k", retry_after=7.0) == 7.0
    assert client.backoff_delay(0, "k", retry_after=99.0) == 10.0


def test_client_retries_with_retry_after_and_scrubs_the_key(tmp_path):
    sleeps: list[float] = []
    with FakeServer(tmp_path / "log.jsonl", faults=["429"], fault_attempts=2, retry_after="7",
                    api_key="sk-right-123456") as server:
        client = ChatClient(server.base_url, api_key="sk-right-123456", sleep=sleeps.append, backoff_max=30)
        result = client.complete([{"role": "user", "content": "hi"}], model="m", key="k")
        assert result.attempts == 3 and sleeps == [7.0, 7.0]
        assert result.text.startswith("Answer") and result.usage["total_tokens"] > 0
        assert "sk-right" not in repr(client)

        wrong = ChatClient(server.base_url, api_key="sk-wrong-654321", sleep=sleeps.append)
        with pytest.raises(ChatError) as info:
            wrong.complete([{"role": "user", "content": "hi"}], model="m")
        assert info.value.status == 401 and not info.value.retryable and info.value.attempts == 1
        assert "sk-wrong" not in str(info.value) and "***" in str(info.value)
    assert len(sleeps) == 2  # the 401 was not retried


def test_client_gives_up_after_max_retries_on_timeouts(tmp_path):
    sleeps: list[float] = []
    with FakeServer(tmp_path / "log.jsonl", faults=["hang"], fault_attempts=99, hang_seconds=0.6) as server:
        client = ChatClient(server.base_url, timeout=0.2, max_retries=2, sleep=sleeps.append)
        with pytest.raises(ChatError) as info:
            client.complete([{"role": "user", "content": "x"}], model="m", key="k")
        assert info.value.retryable and info.value.attempts == 3 and "timed out" in str(info.value)
        assert len(sleeps) == 2
        assert len(server.requests()) == 3


# ------------------------------------------------------------------------------------------- the run loop

def test_reference_history_runs_with_fixed_witnesses(tmp_path):
    rows = [_row(system="sys"), {**_row(), "id": "c2"}]
    witnesses = {"c1": ["w1", "w2", "w3"], "c2": ["v1", "v2", "v3"]}
    with FakeServer(tmp_path / "log.jsonl") as server:
        client = ChatClient(server.base_url, timeout=5)
        options = RunOptions(model="m", history="reference", samples=2, concurrency=3)
        summary = run(rows, client, tmp_path / "out.jsonl", options, quiet=True,
                      reference_fn=lambda row: witnesses[row["id"]])
        log = server.requests()
    assert summary.completed == summary.total == 12
    assert sorted(e["roles"].count("assistant") for e in log) == [0] * 4 + [1] * 4 + [2] * 4
    for entry in log:
        conv = "c1" if entry["roles"][0] == "system" else "c2"
        assistants = [t for t, r in zip(entry["texts"], entry["roles"], strict=True) if r == "assistant"]
        assert assistants == witnesses[conv][: len(assistants)]


def test_run_rejects_another_models_file_and_limit_restricts(tmp_path):
    out = tmp_path / "out.jsonl"
    out.write_text(json.dumps({"id": "c1", "turn": 1, "sample": 0, "response": "x", "model": "other"}) + "\n")
    with FakeServer(tmp_path / "log.jsonl") as server:
        client = ChatClient(server.base_url, timeout=5)
        with pytest.raises(UserError, match="other"):
            run([_row()], client, out, RunOptions(model="m"), quiet=True)
        fresh = tmp_path / "fresh.jsonl"
        rows = [_row(n_turns=2), {**_row(n_turns=2), "id": "c2"}]
        summary = run(rows, client, fresh, RunOptions(model="m"), limit=1, quiet=True)
    assert summary.total == 2 and {json.loads(x)["id"] for x in Path(fresh).read_text().splitlines()} == {"c1"}


@pytest.mark.parametrize("kwargs", [{"history": "oracle"}, {"samples": 0}, {"concurrency": 0}])
def test_run_options_validate(kwargs):
    with pytest.raises(UserError):
        RunOptions(model="m", **kwargs)


def test_a_second_run_on_the_same_file_is_refused(tmp_path):
    from generator.running.runner import ResponseLog

    out = tmp_path / "out.jsonl"
    holder = ResponseLog(out)
    try:
        with FakeServer(tmp_path / "log.jsonl") as server:
            with pytest.raises(UserError, match="another run"):
                run([_row()], ChatClient(server.base_url, timeout=5), out, RunOptions(model="m"), quiet=True)
            assert server.requests() == []
    finally:
        holder.close()
    with FakeServer(tmp_path / "log2.jsonl") as server:
        summary = run([_row()], ChatClient(server.base_url, timeout=5), out, RunOptions(model="m"), quiet=True)
    assert summary.completed == 3


@pytest.mark.parametrize(("change", "rows_change", "message"), [
    # the ids repeat across datasets, seeds and configs: the prompts tell them apart
    ({}, {"turns": [{"turn": t, "prompt": f"other {t}", "active_instructions": []} for t in (1, 2, 3)]},
     "different conversation"),
    ({}, {"system_prompt": "Follow these rules."}, "different conversation"),
    ({"history": "reference"}, {}, "--history model"),
    ({"samples": 1}, {}, "sample 1"),
])
def test_resume_refuses_a_file_that_answers_something_else(tmp_path, change, rows_change, message):
    out = tmp_path / "out.jsonl"
    with FakeServer(tmp_path / "log.jsonl") as server:
        client = ChatClient(server.base_url, timeout=5)
        first = run([_row()], client, out, RunOptions(model="m", samples=2), quiet=True)
        assert first.completed == 6
        before = out.read_bytes()
        options = RunOptions(**{"model": "m", "samples": 2, **change})
        with pytest.raises(UserError, match=message):
            run([{**_row(), **rows_change}], client, out, options, quiet=True,
                reference_fn=lambda row: ["w"] * len(row["turns"]))
        again = run([_row()], client, out, RunOptions(model="m", samples=2), quiet=True)
        requests = len(server.requests())
    assert out.read_bytes() == before and requests == 6
    assert again.completed == 0 and again.already_done == 6
    lines = [json.loads(line) for line in before.decode().splitlines()]
    assert {line["history"] for line in lines} == {"model"}
    assert len({line["conversation_sha256"] for line in lines}) == 1


def test_the_file_stays_claimed_until_the_sorted_copy_is_in_place(tmp_path, monkeypatch):
    """A run started while the finished one sorts is refused (it would append to the file being replaced)."""
    from generator.running import runner as runner_module
    from generator.running.runner import ResponseLog

    out = tmp_path / "out.jsonl"
    refused: list[bool] = []
    real_sort = runner_module.sort_output

    def sort_while_another_run_starts(path, **kwargs):
        try:
            ResponseLog(path).close()
            refused.append(False)
        except UserError:
            refused.append(True)
        return real_sort(path, **kwargs)

    monkeypatch.setattr(runner_module, "sort_output", sort_while_another_run_starts)
    with FakeServer(tmp_path / "log.jsonl") as server:
        run([_row()], ChatClient(server.base_url, timeout=5), out, RunOptions(model="m"), quiet=True)
    assert refused == [True]
    assert len(out.read_text().splitlines()) == 3


def test_a_file_replaced_while_it_is_claimed_is_claimed_again(tmp_path, monkeypatch):
    """Opened just before a finishing run put its sorted copy in place: the lines go to the new file."""
    import fcntl

    from generator.common import atomic
    from generator.running.runner import ResponseLog

    out = tmp_path / "out.jsonl"
    out.write_text(_line(1) + "\n")
    real_flock = fcntl.flock
    replaced: list[bool] = []

    def flock_after_a_replace(fd, operation):
        if not replaced:
            replaced.append(True)
            atomic.write_text(out, _line(0) + "\n" + _line(1) + "\n")
        return real_flock(fd, operation)

    monkeypatch.setattr(fcntl, "flock", flock_after_a_replace)
    log = ResponseLog(out)
    log.append(json.loads(_line(2)))
    log.close()
    assert [json.loads(line)["id"] for line in out.read_text().splitlines()] == ["c0", "c1", "c2"]


def test_resume_refuses_lines_of_conversations_that_are_not_in_the_dataset(tmp_path):
    out = tmp_path / "out.jsonl"
    with FakeServer(tmp_path / "log.jsonl") as server:
        client = ChatClient(server.base_url, timeout=5)
        run([_row()], client, out, RunOptions(model="m"), quiet=True)
        before = out.read_bytes()
        with pytest.raises(UserError, match=r"c1 turn 1 sample 0\): answers a conversation that is not in the "):
            run([{**_row(), "id": "c9"}], client, out, RunOptions(model="m"), quiet=True)
        # --limit leaves conversations out of the run, not out of the dataset: their lines are kept
        rows = [{**_row(), "id": "c0"}, _row()]
        summary = run(rows, client, out, RunOptions(model="m"), limit=1, quiet=True)
    assert summary.completed == 3 and out.read_bytes().endswith(before)


def test_a_failed_repair_of_a_cut_last_line_names_the_file(tmp_path, monkeypatch):
    import errno

    out = tmp_path / "out.jsonl"
    out.write_text(_line(1) + "\n" + '{"id": "c2", "tu')

    def full(fd):
        raise OSError(errno.ENOSPC, "No space left on device")

    monkeypatch.setattr("generator.running.runner.os.fsync", full)
    with pytest.raises(UserError, match=f"cannot repair {out}: No space left on device"):
        read_existing(out)
