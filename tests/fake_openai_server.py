"""A deterministic, rule-based OpenAI-compatible chat server on 127.0.0.1 for the runner tests.

It answers from the request content alone (so repeated requests get the same answer), obeys a few instruction
wordings it recognises in the user turns, and injects faults by a schedule: for the n-th distinct request body,
``faults[n % len(faults)]`` names what its first attempt(s) get. Every request is logged as one JSON line
(number of messages, roles, images per message, the fault served, whether the key matched) so that the tests can
check what the client actually sent. The key itself is never logged. A request with ``"stream": true`` gets the
same answer as server-sent events.

Run standalone: ``python tests/fake_openai_server.py --port 8011 --log /tmp/requests.jsonl``.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import re
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

FAULTS = ("ok", "429", "500", "hang", "malformed", "reset", "400")

_KEYWORD = re.compile(r"Use the word '([^']+)'")
_LETTER = re.compile(r"letter \(([A-Za-z])\)")
_WORDS = {"S": "Surely", "B": "Basically"}


def _texts(content: Any) -> tuple[str, int]:
    """Text and number of images of one message's content."""
    if isinstance(content, str):
        return content, 0
    text, images = [], 0
    for part in content or []:
        if part.get("type") == "image_url":
            images += 1
        elif part.get("type") == "text":
            text.append(part.get("text", ""))
    return "\n".join(text), images


def answer(messages: list[dict[str, Any]]) -> str:
    """A deterministic reply that follows the instructions it recognises in all user turns so far."""
    user_texts = [_texts(m.get("content"))[0] for m in messages if m.get("role") == "user"]
    every = "\n".join(user_texts)
    end = "."
    if "question mark (?)" in every:
        end = "?"
    elif "exclamation mark (!)" in every:
        end = "!"
    letter = _LETTER.search(every)
    digest = hashlib.sha256(json.dumps(messages, sort_keys=True).encode()).hexdigest()[:8]
    sentences = [f"answer {digest} to turn {len(user_texts)}", "the number 7 and the number 8 appear here"]
    keyword = _KEYWORD.search(every)
    if keyword:
        sentences[1] += f" {keyword.group(1)}"
    if letter:
        word = _WORDS.get(letter.group(1).upper(), letter.group(1).upper() + "ure")
        sentences = [f"{word} {s}" for s in sentences]
    else:
        sentences = [s[0].upper() + s[1:] for s in sentences]
    return " ".join(s + end for s in sentences)


class FakeServer:
    """Owns the HTTP server thread, the fault schedule and the request log."""

    def __init__(self, log_path: str | Path, *, faults: list[str] | tuple[str, ...] = ("ok",),
                 fault_attempts: int = 1, api_key: str | None = None, delay: float = 0.0,
                 hang_seconds: float = 3.0, retry_after: str = "0", port: int = 0) -> None:
        unknown = set(faults) - set(FAULTS)
        if unknown:
            raise ValueError(f"unknown faults {sorted(unknown)}")
        self.log_path = Path(log_path)
        self.faults = list(faults)
        self.fault_attempts = fault_attempts
        self.api_key = api_key
        self.delay = delay
        self.hang_seconds = hang_seconds
        self.retry_after = retry_after
        self._lock = threading.Lock()
        self._seen: dict[str, int] = {}  # body hash -> (index of first appearance)
        self._attempts: dict[str, int] = {}
        self._count = 0
        self._httpd = ThreadingHTTPServer(("127.0.0.1", port), self._handler())
        self._httpd.daemon_threads = True
        self._httpd.block_on_close = False  # stopping must not wait for a deliberately hanging answer
        self._thread: threading.Thread | None = None

    @property
    def base_url(self) -> str:
        return f"http://127.0.0.1:{self._httpd.server_address[1]}/v1"

    def start(self) -> FakeServer:
        self._thread = threading.Thread(target=self._httpd.serve_forever, kwargs={"poll_interval": 0.05},
                                        daemon=True)
        self._thread.start()
        return self

    def stop(self) -> None:
        self._httpd.shutdown()
        self._httpd.server_close()

    def __enter__(self) -> FakeServer:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    def requests(self) -> list[dict[str, Any]]:
        """The request log so far."""
        if not self.log_path.exists():
            return []
        return [json.loads(line) for line in self.log_path.read_text().splitlines() if line.strip()]

    def _plan(self, body: bytes) -> tuple[int, str]:
        digest = hashlib.sha256(body).hexdigest()
        with self._lock:
            self._count += 1
            if digest not in self._seen:
                self._seen[digest] = len(self._seen)
            attempt = self._attempts.get(digest, 0)
            self._attempts[digest] = attempt + 1
            fault = self.faults[self._seen[digest] % len(self.faults)]
            return self._count, fault if attempt < self.fault_attempts else "ok"

    def _log(self, entry: dict[str, Any]) -> None:
        with self._lock, open(self.log_path, "a", encoding="utf-8") as handle:
            handle.write(json.dumps(entry) + "\n")

    def _handler(self) -> type[BaseHTTPRequestHandler]:
        server = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, *args: object) -> None:  # keep the test output clean
                pass

            def _send(self, status: int, body: bytes, headers: dict[str, str] | None = None) -> None:
                self.send_response(status)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(body)))
                for name, value in (headers or {}).items():
                    self.send_header(name, value)
                self.end_headers()
                self.wfile.write(body)

            def do_POST(self) -> None:
                length = int(self.headers.get("Content-Length", "0"))
                raw = self.rfile.read(length)
                number, fault = server._plan(raw)
                auth = self.headers.get("Authorization", "")
                key_ok = server.api_key is None or auth == f"Bearer {server.api_key}"
                try:
                    request = json.loads(raw)
                except json.JSONDecodeError:
                    self._send(400, b'{"error": {"message": "bad json"}}')
                    return
                messages = request.get("messages", [])
                entry = {
                    "n": number, "path": self.path, "fault": fault, "model": request.get("model"),
                    "roles": [m.get("role") for m in messages], "messages": len(messages),
                    "images": [_texts(m.get("content"))[1] for m in messages],
                    "texts": [_texts(m.get("content"))[0] for m in messages],
                    "key_ok": key_ok, "temperature": request.get("temperature"),
                    "max_tokens": request.get("max_tokens"), "seed": request.get("seed"),
                    "keys": sorted(request),
                }
                server._log(entry)
                if not self.path.endswith("/chat/completions"):
                    self._send(404, b'{"error": {"message": "no such route"}}')
                    return
                if not key_ok:
                    # Echo the presented credential, as some proxies do, to test that clients scrub it.
                    self._send(401, json.dumps({"error": {"message": f"invalid key: {auth}"}}).encode())
                    return
                if fault == "429":
                    self._send(429, b'{"error": {"message": "rate limited"}}',
                               {"Retry-After": server.retry_after})
                    return
                if fault == "400":
                    self._send(400, b'{"error": {"message": "maximum context length exceeded"}}')
                    return
                if fault == "500":
                    self._send(500, b'{"error": {"message": "internal error"}}')
                    return
                if fault == "hang":
                    time.sleep(server.hang_seconds)
                    self.close_connection = True
                    return
                if fault == "malformed":
                    self._send(200, b'{"id": "x", "choices": [{"message": {"content": "half')
                    return
                if fault == "reset":
                    self.close_connection = True
                    self.connection.close()
                    return
                if server.delay:
                    time.sleep(server.delay)
                text = answer(messages)
                prompt_tokens = sum(len(_texts(m.get("content"))[0].split()) + 85 * _texts(m.get("content"))[1]
                                    for m in messages)
                completion_tokens = len(text.split())
                body = {
                    "id": f"chatcmpl-{number}", "object": "chat.completion", "model": request.get("model"),
                    "choices": [{"index": 0, "message": {"role": "assistant", "content": text},
                                 "finish_reason": "stop"}],
                    "usage": {"prompt_tokens": prompt_tokens, "completion_tokens": completion_tokens,
                              "total_tokens": prompt_tokens + completion_tokens},
                }
                if request.get("stream"):
                    self._stream(body, include_usage=bool((request.get("stream_options") or {}).get("include_usage")))
                    return
                self._send(200, json.dumps(body).encode())

            def _stream(self, body: dict[str, Any], *, include_usage: bool) -> None:
                """The same completion as server-sent events, as streaming servers (vLLM, OpenAI) send it: a role
                delta, the content in a few pieces, the finish reason, the usage when asked for, then [DONE]."""
                text = body["choices"][0]["message"]["content"]
                head = {key: body[key] for key in ("id", "model")} | {"object": "chat.completion.chunk"}
                pieces = [text[i:i + 16] for i in range(0, len(text), 16)]
                deltas = [{"role": "assistant", "content": ""}] + [{"content": piece} for piece in pieces]
                events = [head | {"choices": [{"index": 0, "delta": delta, "finish_reason": None}]}
                          for delta in deltas]
                events.append(head | {"choices": [{"index": 0, "delta": {}, "finish_reason": "stop"}]})
                if include_usage:
                    events.append(head | {"choices": [], "usage": body["usage"]})
                payload = b"".join(b"data: " + json.dumps(event).encode() + b"\n\n" for event in events)
                payload += b"data: [DONE]\n\n"
                self.send_response(200)
                self.send_header("Content-Type", "text/event-stream")
                self.send_header("Content-Length", str(len(payload)))
                self.end_headers()
                self.wfile.write(payload)

        return Handler


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--port", type=int, default=8011)
    parser.add_argument("--log", default="fake_openai_requests.jsonl")
    parser.add_argument("--faults", default="ok", help="comma-separated schedule, e.g. ok,429,500,hang,malformed")
    parser.add_argument("--delay", type=float, default=0.0)
    args = parser.parse_args()
    server = FakeServer(args.log, faults=args.faults.split(","), delay=args.delay, port=args.port)
    print(f"serving on {server.base_url}", flush=True)
    server._httpd.serve_forever()


if __name__ == "__main__":
    main()
