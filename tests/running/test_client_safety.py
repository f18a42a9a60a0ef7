"""The chat client against a hostile endpoint on 127.0.0.1: echoed keys, redirects, nothing listening.

The hostile server takes its orders from the request's ``model`` field (``"<status>:<offset>"`` or
``"redirect:<status>:<where>"``), so one server serves every case.
"""

from __future__ import annotations

import asyncio
import json
import random
import socket
import subprocess
import sys
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest

from generator.running.client import ChatClient, ChatError, scrub

PADDING = "".join(chr(ord("a") + (i * 7) % 26) if i % 9 else " " for i in range(700))


class Hostile:
    """An endpoint that echoes the presented key inside its error bodies and redirects on request."""

    def __init__(self) -> None:
        self.hits: list[dict[str, str]] = []
        self.bodies: list[bytes] = []
        outer = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, *args: object) -> None:
                pass

            def _send(self, status: int, body: bytes, headers: dict[str, str] | None = None) -> None:
                self.send_response(status)
                self.send_header("Content-Length", str(len(body)))
                for name, value in (headers or {}).items():
                    self.send_header(name, value)
                self.end_headers()
                self.wfile.write(body)

            def _serve(self) -> None:
                raw = self.rfile.read(int(self.headers.get("Content-Length", "0")))
                auth = self.headers.get("Authorization", "")
                outer.hits.append({"method": self.command, "path": self.path, "auth": auth})
                outer.bodies.append(raw)
                if self.command != "POST":
                    self._send(200, b'{"choices": [{"message": {"content": "answer from a GET"}}]}')
                    return
                model = json.loads(raw)["model"]
                if model.startswith("redirect:"):
                    _, status, where = model.split(":", 2)
                    self._send(int(status), b"", {"Location": where})
                    return
                if model == "surrogate":  # JSON may spell half of a surrogate pair; no text can hold it
                    self._send(200, b'{"choices": [{"message": {"content": "broken \\ud83d"}}]}')
                    return
                if model.startswith("echo:"):  # a successful answer that echoes the key at an offset
                    offset = int(model.split(":")[1])
                    key = auth.removeprefix("Bearer ")
                    text = PADDING[:offset] + key[offset % 7:] + PADDING[offset:] + key
                    self._send(200, json.dumps({"choices": [{"message": {"content": text}}]}).encode())
                    return
                if model.startswith("drip:"):  # a whole answer's worth of bytes, one every 0.2 s
                    self.send_response(200)
                    self.send_header("Content-Length", "100")
                    self.end_headers()
                    for _ in range(100):
                        self.wfile.write(b" ")
                        self.wfile.flush()
                        time.sleep(0.2)
                    return
                if model.startswith("chunked:"):  # status and size, the body in chunks that arrive apart
                    status, size = (int(x) for x in model.split(":")[1:])
                    self.send_response(status)
                    self.send_header("Transfer-Encoding", "chunked")
                    self.end_headers()
                    piece = b"x" * (1000 if status == 200 else 20)
                    for index in range(size // len(piece)):
                        if status != 200 and index == 3:
                            piece = b"the-real-reason "
                        self.wfile.write(f"{len(piece):x}\r\n".encode() + piece + b"\r\n")
                        self.wfile.flush()
                        time.sleep(0.01)
                    self.wfile.write(b"0\r\n\r\n")
                    return
                if model == "ok":
                    self._send(200, b'{"choices": [{"message": {"content": "fine"}}]}')
                    return
                status, offset = (int(x) for x in model.split(":"))
                key = auth.removeprefix("Bearer ")
                text = PADDING[:offset] + key + PADDING[offset:]
                body = json.dumps({"error": {"message": text}}) if status == 200 else text
                self._send(status, body.encode())

            do_POST = _serve
            do_GET = _serve

        self.httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.httpd.daemon_threads = True
        self.thread = threading.Thread(target=self.httpd.serve_forever, daemon=True)

    @property
    def base_url(self) -> str:
        return f"http://127.0.0.1:{self.httpd.server_address[1]}/v1"

    def __enter__(self) -> Hostile:
        self.thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.httpd.shutdown()
        self.httpd.server_close()


@pytest.fixture
def hostile():
    with Hostile() as server:
        yield server


def _pieces(key: str) -> set[str]:
    return {key[i:i + 6] for i in range(len(key) - 5)}


def _leaks(text: str, key: str) -> list[str]:
    return [piece for piece in _pieces(key) if piece in text]


def _key(length: int, seed: int) -> str:
    alphabet = "ABCDEFGHJKLMNPQRSTUVWXYZabcdefghijkmnopqrstuvwxyz0123456789-_"
    chooser = random.Random(seed)  # test data only, not a product choice
    return "sk-" + "".join(chooser.choice(alphabet) for _ in range(length - 3)) if length > 3 else "x" * length


KEY_LENGTHS = (8, 9, 13, 40, 257, 296, 300, 301, 411, 1000, 2000)


@pytest.mark.parametrize("status", [401, 500, 200])
def test_no_six_characters_of_the_key_in_any_error_whatever_its_length_and_offset(hostile, status):
    """Every key length, echoed at every offset of the body (across the 300-character cut), never leaks.

    401 sweeps every offset; the retryable (500) and in-body (200) paths every fifth, to keep the test short.
    """
    stride = 1 if status == 401 else 5

    async def sweep() -> list[tuple[int, int, str]]:
        found = []
        for length in KEY_LENGTHS:
            key = _key(length, length)
            client = ChatClient(hostile.base_url, api_key=key, max_retries=0, timeout=10, connections=16)
            async with client:
                offsets = [*range(0, 340, stride), 400, 699]
                outcomes = await asyncio.gather(*(client.acomplete([{"role": "user", "content": "q"}],
                                                                   model=f"{status}:{offset}")
                                                  for offset in offsets), return_exceptions=True)
            for offset, outcome in zip(offsets, outcomes, strict=True):
                assert isinstance(outcome, ChatError), outcome
                text = f"{outcome} {outcome!r} {client!r}"
                found.extend((length, offset, piece) for piece in _leaks(text, key))
        return found

    assert asyncio.run(sweep()) == []


def test_scrub_redacts_whole_keys_and_fragments_and_leaves_other_text():
    key = _key(64, 1)
    assert scrub(f"a {key} b", key) == "a *** b"
    assert _leaks(scrub(f"x{key[5:40]}y", key), key) == []
    assert scrub("nothing to hide here", key) == "nothing to hide here"
    assert scrub("text", None) == "text"


def test_run_command_leaks_no_key_to_stdout_stderr_or_the_output_file(hostile, tmp_path):
    """``mmmtif run`` with a key echoed by 400 (recorded) and by 401 (stops): nothing of it anywhere."""
    dataset = tmp_path / "ds"
    subprocess.run([sys.executable, "-m", "generator.cli", "gen", "--turns", "2", "--conversations", "1",
                    "--seed", "1", "--out", str(dataset), "--quiet"], check=True, timeout=300)
    key = _key(411, 7)
    env = {"PATH": str(Path(sys.executable).parent), "MY_KEY": key}
    for model, extra in (("400:100", ["--on-error", "record"]), ("401:120", [])):
        out = tmp_path / f"{model.replace(':', '-')}.jsonl"
        done = subprocess.run([sys.executable, "-m", "generator.cli", "run", "--dataset", str(dataset),
                               "--model", model, "--base-url", hostile.base_url, "--api-key-env", "MY_KEY",
                               "--out", str(out), "--quiet", *extra], capture_output=True, text=True, env=env,
                              timeout=120)
        outputs = done.stdout + done.stderr + (out.read_text() if out.exists() else "")
        assert _leaks(outputs, key) == [], outputs
        assert "***" in outputs
        if model.startswith("401"):
            assert done.returncode != 0 and len(done.stderr.strip().splitlines()) == 1


@pytest.mark.parametrize("status", [301, 302, 303])
def test_a_redirect_that_would_turn_the_post_into_a_get_is_not_followed(hostile, status):
    client = ChatClient(hostile.base_url, api_key="sk-secret-key-123", max_retries=0)
    with pytest.raises(ChatError, match=f"HTTP {status}.*not followed"):
        client.complete([{"role": "user", "content": "q"}], model=f"redirect:{status}:/elsewhere")
    assert [hit["method"] for hit in hostile.hits] == ["POST"]


def test_a_redirect_to_another_origin_never_receives_the_key(hostile):
    with Hostile() as other:
        client = ChatClient(hostile.base_url, api_key="sk-secret-key-123", max_retries=0)
        with pytest.raises(ChatError, match="another origin") as info:
            client.complete([{"role": "user", "content": "q"}], model=f"redirect:307:{other.base_url}/x")
        assert other.hits == []
    assert "sk-secret" not in str(info.value)


def test_a_same_origin_307_is_repeated_as_the_same_post(hostile):
    client = ChatClient(hostile.base_url, api_key="k", max_retries=0)
    with pytest.raises(ChatError, match="redirects"):  # the target redirects again: the hop limit stops it
        client.complete([{"role": "user", "content": "q"}], model="redirect:308:/v1/chat/completions")
    assert {hit["method"] for hit in hostile.hits} == {"POST"} and len(hostile.hits) == 6
    result = ChatClient(hostile.base_url, max_retries=0).complete([{"role": "user", "content": "q"}], model="ok")
    assert result.text == "fine"


@pytest.mark.parametrize("size", [100, 300_000])
def test_a_body_in_pieces_arrives_whole_on_every_hop(hostile, size):
    """Pieces are joined (small body) or written one after the other (large); a 308 repeats them whole."""
    picture = json.dumps("".join(chr(ord("A") + (i * 31) % 26) for i in range(size)))
    pieces = tuple(piece.encode() for piece in ('{"model": "redirect:308:/v1/chat/completions", "messages": ['
                                                '{"role": "user", "content": ', picture, "}]", "}"))

    async def send(body: tuple[bytes, ...]) -> str:
        async with ChatClient(hostile.base_url, max_retries=0) as client:
            return (await client.send(body)).text

    with pytest.raises(ChatError, match="redirects"):
        asyncio.run(send(pieces))
    assert hostile.bodies == [b"".join(pieces)] * 6
    ok = (pieces[0].replace(b"redirect:308:/v1/chat/completions", b"ok"), *pieces[1:])
    assert asyncio.run(send(ok)) == "fine" and hostile.bodies[-1] == b"".join(ok)


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


@pytest.mark.parametrize("url", ["http://127.0.0.1:{port}/v1", "http://no-such-host.invalid/v1"])
def test_nothing_listening_or_an_unknown_host_fails_at_once_naming_the_url(url):
    url = url.format(port=_free_port())
    sleeps: list[float] = []
    client = ChatClient(url, max_retries=6, sleep=sleeps.append)
    with pytest.raises(ChatError) as info:
        client.complete([{"role": "user", "content": "q"}], model="m")
    assert sleeps == [] and info.value.attempts == 1
    message = str(info.value)
    assert url + "/chat/completions" in message and "\n" not in message


# ------------------------------------------------------------------------------ failures that are not ChatError


@pytest.fixture(scope="module")
def small_dataset(tmp_path_factory) -> Path:
    dataset = tmp_path_factory.mktemp("ds") / "ds"
    subprocess.run([sys.executable, "-m", "generator.cli", "gen", "--turns", "2", "--conversations", "1",
                    "--seed", "1", "--out", str(dataset), "--quiet"], check=True, timeout=300)
    return dataset


def _run_cli(dataset: Path, out: Path, model: str, base_url: str, key: str | None = None,
             *extra: str) -> subprocess.CompletedProcess[str]:
    """``mmmtif run`` in a subprocess; a hang fails the test through the timeout."""
    env = {"PATH": str(Path(sys.executable).parent)}
    if key is not None:
        env["MY_KEY"] = key
        extra = ("--api-key-env", "MY_KEY", *extra)
    return subprocess.run([sys.executable, "-m", "generator.cli", "run", "--dataset", str(dataset), "--model", model,
                           "--base-url", base_url, "--out", str(out), "--quiet", "--max-retries", "1",
                           "--backoff-base", "0.01", *extra], capture_output=True, text=True, env=env, timeout=90)


@pytest.mark.parametrize("location", ["http://127.0.0.1:99999/x", "http://127.0.0.1:abc/x", "http://[::1/x"])
@pytest.mark.parametrize("status", [307, 308])
def test_a_redirect_to_a_malformed_address_fails_in_one_line_without_a_hang(hostile, small_dataset, tmp_path,
                                                                           location, status):
    key = _key(40, 3)
    done = _run_cli(small_dataset, tmp_path / "out.jsonl", f"redirect:{status}:{location}", hostile.base_url, key)
    lines = done.stderr.strip().splitlines()
    assert done.returncode != 0 and len(lines) == 1 and "Traceback" not in done.stderr, done.stderr
    assert "malformed address" in lines[0] and f"{hostile.base_url}/chat/completions" in lines[0]
    assert _leaks(done.stdout + done.stderr, key) == []


def test_credentials_in_the_base_url_are_refused_up_front_without_printing_them(hostile, small_dataset, tmp_path):
    port = hostile.httpd.server_address[1]
    done = _run_cli(small_dataset, tmp_path / "out.jsonl", "ok", f"http://someone:pw-SECRET-9@127.0.0.1:{port}/v1",
                    "sk-abcdefghijklmnop")
    lines = done.stderr.strip().splitlines()
    assert done.returncode != 0 and len(lines) == 1 and "credentials" in lines[0], done.stderr
    assert "SECRET" not in done.stdout + done.stderr and "someone" not in done.stderr
    assert hostile.hits == [] and not (tmp_path / "out.jsonl").exists()


def test_an_unexpected_exception_of_a_request_stops_the_run_in_one_line(hostile, tmp_path):
    """Whatever a request raises, the scheduler records a failure and the run ends instead of waiting forever."""
    from generator.common.errors import UserError
    from generator.running.runner import RunOptions, run

    class Broken(ChatClient):
        async def _attempt(self, payload):  # type: ignore[override]
            raise RuntimeError("something nobody foresaw")

    row = {"id": "c1", "turns": [{"turn": 1, "prompt": "a"}, {"turn": 2, "prompt": "b"}]}
    outcome: list[BaseException | None] = []

    def target() -> None:
        try:
            run([row], Broken(hostile.base_url, max_retries=0), tmp_path / "out.jsonl",
                RunOptions(model="ok", history="reference"), quiet=True, reference_fn=lambda r: ["x", "y"])
            outcome.append(None)
        except BaseException as exc:  # handed to the test thread
            outcome.append(exc)

    worker = threading.Thread(target=target, daemon=True)
    worker.start()
    worker.join(30)
    assert not worker.is_alive(), "the run hangs"
    assert isinstance(outcome[0], UserError) and "RuntimeError: something nobody foresaw" in str(outcome[0])
    assert "\n" not in str(outcome[0])


# ------------------------------------------------------------------------------------- answers no file can hold


def test_an_answer_with_a_lone_surrogate_is_a_malformed_response_in_one_line(hostile, small_dataset, tmp_path):
    out = tmp_path / "out.jsonl"
    done = _run_cli(small_dataset, out, "surrogate", hostile.base_url, None, "--history", "model")
    lines = done.stderr.strip().splitlines()
    assert done.returncode != 0 and len(lines) == 1 and "Traceback" not in done.stderr, done.stderr
    assert "lone surrogate" in lines[0] and "gave up after 2 attempts" in lines[0]
    assert len(hostile.hits) == 2  # retried like any malformed body, then the run stops
    assert not out.exists() or out.read_text() == ""


def test_the_response_writer_never_dies_silently(tmp_path):
    """Any exception of the writer thread (not only OSError) stops the run with one line naming the file."""
    from generator.common.errors import UserError
    from generator.running.runner import ResponseLog

    out = tmp_path / "out.jsonl"
    log = ResponseLog(out)
    real = log._handle

    class Failing:
        def write(self, data: bytes) -> int:
            raise RuntimeError("the writer broke")

        def __getattr__(self, name: str):
            return getattr(real, name)

    log._handle = Failing()  # type: ignore[assignment]
    log.append({"id": "c1", "turn": 1, "sample": 0, "response": "a"})
    with pytest.raises(UserError, match="RuntimeError: the writer broke") as info:
        log.close()
    assert str(out) in str(info.value) and "\n" not in str(info.value)
    assert not log._writer.is_alive()


@pytest.mark.parametrize("history", ["model", "reference"])
def test_a_key_echoed_in_a_successful_answer_is_scrubbed_before_it_is_recorded(hostile, small_dataset, tmp_path,
                                                                               history):
    """No 6-character piece of the key reaches the responses file, nor the history sent in later turns."""
    key = _key(57, 11)
    out = tmp_path / "out.jsonl"
    done = _run_cli(small_dataset, out, "echo:13", hostile.base_url, key, "--history", history)
    assert done.returncode == 0, done.stderr
    answers = [json.loads(line)["response"] for line in out.read_text().splitlines()]
    assert len(answers) == 2 and all("***" in answer for answer in answers)
    assert _leaks(out.read_text() + done.stdout + done.stderr, key) == []
    later_bodies = b"".join(hostile.bodies).decode()
    assert _leaks(later_bodies, key) == []  # the model's own earlier answer goes back scrubbed too


# --------------------------------------------------------------------------------------- bodies and slow servers


def test_a_server_that_drips_bytes_is_cut_off_by_the_time_limit_of_the_whole_answer(hostile):
    client = ChatClient(hostile.base_url, timeout=1, request_timeout=1.5, max_retries=0)
    started = time.monotonic()
    with pytest.raises(ChatError, match=r"timed out.*1\.5 s"):
        client.complete([{"role": "user", "content": "q"}], model="drip:")
    assert time.monotonic() - started < 5


def test_a_successful_body_past_the_cap_is_refused_without_reading_it_all(hostile):
    client = ChatClient(hostile.base_url, max_retries=3, max_body=10_000)
    with pytest.raises(ChatError, match="larger than 10,000 bytes") as info:
        client.complete([{"role": "user", "content": "q"}], model="chunked:200:50000")
    assert info.value.attempts == 1 and len(hostile.hits) == 1


def test_an_error_body_in_chunks_is_read_past_its_first_chunk(hostile):
    client = ChatClient(hostile.base_url, max_retries=0)
    with pytest.raises(ChatError, match=r"HTTP 401.*the-real-reason"):
        client.complete([{"role": "user", "content": "q"}], model="chunked:401:200")
