"""An asynchronous OpenAI-compatible chat-completions client on aiohttp.

Benchmarks run for hours against servers that shed load (429), restart (5xx), stall, or answer with half a body.
The client therefore retries those cases with exponential backoff, honours ``Retry-After``, and draws its jitter
from the request key (not from the global RNG), so two runs of the same job sleep the same amounts. Other 4xx
answers (bad model name, bad key, request too large) are not retried: repeating them cannot help.

Why aiohttp: one event loop keeps hundreds of requests in flight at a small CPU cost per request, which a thread
per request did not; ``scripts/bench_runner.py`` measures the runner against a plain aiohttp loop (figures in
docs/benchmarks.md).

Safety rules the client keeps whatever the server does:

* The API key is sent only in the ``Authorization`` header, and every text that leaves this module (exception
  messages, recorded errors) passes :func:`scrub` *before* it is cut or reformatted, so a cut can never leave a
  piece of the key behind; fragments of six characters or more are redacted too.
* Redirects are never followed automatically: a ``307``/``308`` to the same origin is repeated as the same POST;
  any other redirect (a ``301``-``303`` that would turn the POST into a GET, or another origin that would receive
  the key) fails with one line naming the target origin.
* A refused connection or an unknown host before any answer fails at once, with one line naming the URL (a wrong
  ``--base-url`` should not be retried for a minute); once the server has answered, a refused connection is taken
  as a restart and retried like the other transient failures.
"""

from __future__ import annotations

import asyncio
import email.utils
import functools
import inspect
import json
import socket
import time
import urllib.parse
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import Any

from generator.common.rng import derive_rng

RETRYABLE_STATUS = frozenset({408, 409, 425, 429, 500, 502, 503, 504, 520, 522, 524, 529})
_ERROR_BODY_CHARS = 300
#: At most this much of an error body is read (it is scrubbed whole, then cut to ``_ERROR_BODY_CHARS``).
_ERROR_BODY_READ = 65536
#: A successful answer larger than this is refused (a chat completion is a few KB; this only stops a runaway body).
MAX_BODY_BYTES = 64 * 1024 * 1024
#: Redacted fragments of the key are at least this long; shorter ones cannot be told from ordinary text.
_FRAGMENT = 6
_MAX_REDIRECTS = 5
_LOOPBACK = ("127.0.0.1", "localhost", "::1")
#: Stands for the messages array in :meth:`ChatClient.payload_frame` (a NUL cannot come from a model name).
_MESSAGES_MARK = "\x00mmmtif-messages\x00"
_MESSAGES_MARK_JSON = json.dumps(_MESSAGES_MARK).encode()
#: A body in pieces is sent piece by piece (no copy into one buffer) from this size on; smaller ones are joined.
_PIECES_MIN_BYTES = 65536

#: A request body: encoded bytes, or pieces of them sent one after the other (see :meth:`ChatClient.send`).
Body = bytes | tuple[bytes, ...]


class ChatError(Exception):
    """A request that failed for good (not retryable, or retries exhausted)."""

    def __init__(self, message: str, *, status: int | None = None, retryable: bool = False,
                 attempts: int = 1) -> None:
        super().__init__(message)
        self.status = status
        self.retryable = retryable
        self.attempts = attempts


class _Retryable(Exception):
    """Internal: one attempt failed in a way another attempt may fix."""

    def __init__(self, message: str, *, status: int | None = None, retry_after: float | None = None) -> None:
        super().__init__(message)
        self.status = status
        self.retry_after = retry_after


@dataclass
class ChatResult:
    """One completion: the text and what the server said about it."""

    text: str
    finish_reason: str | None
    usage: dict[str, Any] = field(default_factory=dict)
    latency_s: float = 0.0
    attempts: int = 1


@functools.lru_cache(maxsize=8)
def _fragments(secret: str) -> frozenset[str]:
    return frozenset(secret[i:i + _FRAGMENT] for i in range(len(secret) - _FRAGMENT + 1))


def scrub(text: str, secret: str | None) -> str:
    """``text`` with ``secret`` and every fragment of it of six characters or more replaced by ``***``.

    Whole occurrences go first; then any run of characters covered by a 6-character piece of the secret (a server
    that echoes a cut or shifted key) is redacted. Call it on the complete text, before cutting or reformatting.
    """
    if not secret:
        return text
    text = text.replace(secret, "***")
    if len(secret) < _FRAGMENT or len(text) < _FRAGMENT:
        return text
    pieces = _fragments(secret)
    if not any(piece in text for piece in pieces):  # the usual case, at the speed of a substring search
        return text
    covered = bytearray(len(text))
    for start in range(len(text) - _FRAGMENT + 1):
        if text[start:start + _FRAGMENT] in pieces:
            covered[start:start + _FRAGMENT] = b"\x01" * _FRAGMENT
    if not any(covered):
        return text
    out, index = [], 0
    while index < len(text):
        if covered[index]:
            while index < len(text) and covered[index]:
                index += 1
            out.append("***")
        else:
            out.append(text[index])
            index += 1
    return "".join(out)


def shown_url(url: str) -> str:
    """A URL as it may be printed: without user info, query or fragment (they can hold credentials)."""
    parsed = urllib.parse.urlsplit(url)
    host = parsed.hostname or ""
    if ":" in host:
        host = f"[{host}]"
    netloc = host + (f":{parsed.port}" if parsed.port else "")
    return urllib.parse.urlunsplit((parsed.scheme, netloc, parsed.path, "", ""))


def _origin(url: str) -> tuple[str, str, int | None]:
    parsed = urllib.parse.urlsplit(url)
    default = {"http": 80, "https": 443}.get(parsed.scheme)
    return parsed.scheme, (parsed.hostname or "").lower(), parsed.port or default


def completions_url(base_url: str) -> str:
    """Accept ``http://host:8000/v1``, ``.../v1/`` or the full ``.../chat/completions`` URL."""
    url = base_url.strip().rstrip("/")
    parsed = urllib.parse.urlparse(url)
    if parsed.scheme not in ("http", "https") or not parsed.netloc:
        raise ValueError(f"base URL must start with http:// or https:// and name a host, got {shown_url(base_url)!r}")
    if "@" in parsed.netloc:
        raise ValueError(f"base URL must not hold credentials (user:password@), got {shown_url(base_url)!r}; "
                         "pass a key with --api-key-env")
    parts = urllib.parse.urlsplit(url)
    path = parts.path.rstrip("/")  # the path goes before a query (``/v1?api-version=...``), never after it
    if not path.endswith("/chat/completions"):
        path += "/chat/completions"
    return urllib.parse.urlunsplit(parts._replace(path=path))


def parse_retry_after(value: str | None, *, now: float | None = None) -> float | None:
    """Seconds to wait from a ``Retry-After`` header (delta-seconds or an HTTP date); None if absent or bad."""
    if not value:
        return None
    value = value.strip()
    try:
        return max(0.0, float(value))
    except ValueError:
        pass
    try:
        when = email.utils.parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return None
    if when is None:
        return None
    current = time.time() if now is None else now
    return max(0.0, when.timestamp() - current)


def extract_text(message: dict[str, Any]) -> str:
    """The assistant text of a choice's message; content may be a string, a list of parts, or null."""
    content = message.get("content")
    if content is None:
        return ""
    if isinstance(content, str):
        return content
    if isinstance(content, list):
        parts = []
        for part in content:
            if isinstance(part, dict) and isinstance(part.get("text"), str):
                parts.append(part["text"])
            elif isinstance(part, str):
                parts.append(part)
        return "".join(parts)
    raise _Retryable("malformed response: message content is neither text nor a list of parts")


def parse_completion(body: bytes) -> tuple[str, str | None, dict[str, Any]]:
    """Text, finish reason and usage from a chat-completions body; malformed bodies are retryable."""
    try:
        data = json.loads(body.decode("utf-8"))
    except (UnicodeDecodeError, json.JSONDecodeError, RecursionError) as exc:
        raise _Retryable(f"malformed response body (not JSON): {exc.__class__.__name__}") from None
    if not isinstance(data, dict):
        raise _Retryable("malformed response body: not a JSON object")
    choices = data.get("choices")
    if not isinstance(choices, list) or not choices or not isinstance(choices[0], dict):
        if isinstance(data.get("error"), dict):
            # the caller scrubs and cuts the whole message
            raise _Retryable(f"server error in body: {data['error'].get('message', '')}")
        raise _Retryable("malformed response body: no choices")
    choice = choices[0]
    message = choice.get("message")
    if not isinstance(message, dict):
        raise _Retryable("malformed response body: choice without a message")
    text = extract_text(message)
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:  # a lone surrogate (\ud83d): no file or later request can hold it
        raise _Retryable("malformed response body: the answer is not valid Unicode (a lone surrogate)") from None
    finish = choice.get("finish_reason")
    usage_raw = data.get("usage")
    usage: dict[str, Any] = {}
    if isinstance(usage_raw, dict):
        for key in ("prompt_tokens", "completion_tokens", "total_tokens"):
            value = usage_raw.get(key)
            if isinstance(value, int) and not isinstance(value, bool):
                usage[key] = value
    return text, finish if isinstance(finish, str) else None, usage


Sleep = Callable[[float], "Awaitable[None] | None"]


@functools.cache
def _pieces_payload_class() -> type:
    """An aiohttp payload that writes a body given in pieces one piece after the other (aiohttp is imported late)."""
    from aiohttp import payload

    class PiecesPayload(payload.Payload):
        _autoclose = True  # holds no resource

        def __init__(self, pieces: tuple[bytes, ...]) -> None:
            super().__init__(pieces, content_type="application/json")
            self._length = sum(len(piece) for piece in pieces)
            self._size = self._length

        def decode(self, encoding: str = "utf-8", errors: str = "strict") -> str:
            return b"".join(self._value).decode(encoding, errors)

        async def write(self, writer: Any) -> None:
            for piece in self._value:
                if piece:
                    await writer.write(piece)

        async def write_with_length(self, writer: Any, content_length: int | None) -> None:
            if content_length is None or content_length >= self._length:
                await self.write(writer)
            else:
                await writer.write(b"".join(self._value)[:content_length])

    return PiecesPayload


def _pieces_payload(pieces: tuple[bytes, ...]) -> Any:
    return _pieces_payload_class()(pieces)


class ChatClient:
    """POSTs chat completions to one endpoint over one pooled aiohttp session.

    Use it as ``async with client: await client.acomplete(...)`` inside an event loop (the runner does), or call
    :meth:`complete` for a single request from synchronous code. ``backoff_base`` * 2**attempt seconds (capped at
    ``backoff_max``), scaled by a deterministic jitter in [0.5, 1.0]; a ``Retry-After`` header replaces the
    computed delay (also capped). ``sleep`` (sync or async) is injectable so that tests do not wait.
    """

    def __init__(self, base_url: str, *, api_key: str | None = None, timeout: float = 120.0,
                 max_retries: int = 6, backoff_base: float = 1.0, backoff_max: float = 60.0,
                 sleep: Sleep | None = None, user_agent: str = "mmmt-if", connections: int = 0,
                 request_timeout: float | None = None, max_body: int = MAX_BODY_BYTES) -> None:
        self._api_key = api_key or None
        try:
            self.url = completions_url(base_url)
        except ValueError as exc:
            raise ValueError(self._scrub(str(exc))) from None
        self.shown_url = shown_url(self.url)
        self.timeout = float(timeout)
        #: the whole of one attempt (a server that drips a byte at a time never trips ``timeout``); 10 x by default
        self.request_timeout = float(request_timeout) if request_timeout else 10 * self.timeout
        self.max_body = int(max_body)
        self.max_retries = int(max_retries)
        self.backoff_base = float(backoff_base)
        self.backoff_max = float(backoff_max)
        self._sleep = sleep
        self._headers = {"Content-Type": "application/json", "Accept": "application/json", "User-Agent": user_agent}
        if self._api_key:
            self._headers["Authorization"] = f"Bearer {self._api_key}"
        self._connections = int(connections)
        self._session: Any = None
        self._answered = False  # a refused connection after an answer is a restart, before one a wrong URL
        # Proxies from the environment are honoured for remote hosts, never for the loopback interface.
        self._trust_env = (urllib.parse.urlparse(self.url).hostname or "") not in _LOOPBACK

    def __repr__(self) -> str:
        return f"ChatClient(url={self.shown_url!r}, api_key={'set' if self._api_key else 'none'})"

    def _scrub(self, text: str) -> str:
        return scrub(text, self._api_key)

    def _cut(self, text: str) -> str:
        """Scrub the whole text first, then collapse whitespace and cut it to the length shown in messages."""
        clean = " ".join(self._scrub(text).split())
        return clean if len(clean) <= _ERROR_BODY_CHARS else clean[:_ERROR_BODY_CHARS] + "..."

    def backoff_delay(self, attempt: int, key: str, retry_after: float | None = None) -> float:
        """Delay before retry number ``attempt`` (0-based) of the request identified by ``key``."""
        if retry_after is not None:
            return min(retry_after, self.backoff_max)
        base = min(self.backoff_max, self.backoff_base * (2 ** attempt))
        jitter = derive_rng("chat-backoff", key, attempt).uniform(0.5, 1.0)
        return base * jitter

    # ----------------------------------------------------------------------------------------- session

    async def __aenter__(self) -> ChatClient:
        await self.open()
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.close()

    async def open(self) -> None:
        """Create the connection pool (inside the running event loop)."""
        import aiohttp

        if self._session is not None:
            return
        connector = aiohttp.TCPConnector(limit=self._connections, limit_per_host=0, ttl_dns_cache=300)
        timeout = aiohttp.ClientTimeout(total=self.request_timeout, sock_connect=self.timeout, sock_read=self.timeout)
        self._session = aiohttp.ClientSession(connector=connector, timeout=timeout, trust_env=self._trust_env,
                                              auto_decompress=True)

    async def close(self) -> None:
        if self._session is not None:
            session, self._session = self._session, None
            await session.close()

    async def _wait(self, seconds: float) -> None:
        if self._sleep is None:
            await asyncio.sleep(seconds)
            return
        outcome = self._sleep(seconds)
        if inspect.isawaitable(outcome):
            await outcome

    # ---------------------------------------------------------------------------------------- one attempt

    @staticmethod
    async def _read_upto(response: Any, limit: int) -> bytes:
        """At most ``limit`` + 1 bytes of the body, over as many chunks as it arrives in."""
        chunks: list[bytes] = []
        size = 0
        while size <= limit:
            chunk = await response.content.read(limit + 1 - size)
            if not chunk:
                break
            chunks.append(chunk)
            size += len(chunk)
        return b"".join(chunks)

    async def _read_error(self, response: Any) -> str:
        try:
            raw = await self._read_upto(response, _ERROR_BODY_READ)
        except Exception:
            return ""
        return raw[:_ERROR_BODY_READ].decode("utf-8", "replace")

    async def _read_body(self, response: Any) -> bytes:
        """A successful answer's body, refused (for good: a server that sends one sends it again) past the cap."""
        declared = response.content_length
        if declared is None or declared <= self.max_body:
            body = await self._read_upto(response, self.max_body)
            if len(body) <= self.max_body:
                return body
        raise ChatError(f"the answer from {self.shown_url} is larger than {self.max_body:,} bytes: refused",
                        status=response.status)

    async def _attempt(self, payload: Body) -> tuple[str, str | None, dict[str, Any]]:
        import aiohttp

        headers = self._headers
        data: Any = payload
        if not isinstance(payload, bytes):
            data = _pieces_payload(payload) if sum(map(len, payload)) >= _PIECES_MIN_BYTES else b"".join(payload)
        url = self.url
        try:
            for _hop in range(_MAX_REDIRECTS + 1):
                async with self._session.post(url, data=data, headers=headers,
                                              allow_redirects=False) as response:
                    status = response.status
                    if status in (301, 302, 303, 307, 308):
                        try:
                            url = self._redirect_target(url, status, response.headers.get("Location"))
                        except ValueError:  # a port out of range or not a number, a broken IPv6 address
                            raise ChatError(self._cut(f"HTTP {status} from {self.shown_url} redirects to a malformed "
                                                      "address: not followed"), status=status) from None
                        continue
                    if status >= 400:
                        detail = await self._read_error(response)
                        self._answered = True
                        message = self._cut(f"HTTP {status} from {self.shown_url}" + (f": {detail}" if detail else ""))
                        if status in RETRYABLE_STATUS or status >= 500:
                            raise _Retryable(message, status=status,
                                             retry_after=parse_retry_after(response.headers.get("Retry-After")))
                        raise ChatError(message, status=status, retryable=False)
                    body = await self._read_body(response)
                    self._answered = True
                    return parse_completion(body)
            raise ChatError(f"more than {_MAX_REDIRECTS} redirects from {self.shown_url}")
        except (TimeoutError, asyncio.TimeoutError):
            raise _Retryable(f"timed out waiting for {self.shown_url} (no byte for {self.timeout:g} s, or the whole "
                             f"answer not in {self.request_timeout:g} s)") from None
        except aiohttp.ClientConnectorError as exc:
            raise self._connect_failure(exc) from None
        except (aiohttp.ClientError, ConnectionError, OSError) as exc:
            raise _Retryable(self._cut(f"connection to {self.shown_url} failed: {exc.__class__.__name__}: {exc}")
                             ) from None

    def _redirect_target(self, url: str, status: int, location: str | None) -> str:
        """The URL a redirect may be followed to, or a :class:`ChatError` saying why it is not followed."""
        if not location:
            raise ChatError(f"HTTP {status} redirect without a Location from {self.shown_url}", status=status)
        target = urllib.parse.urljoin(url, location)
        scheme, host, port = _origin(target)
        where = shown_url(f"{scheme}://{host}" + (f":{port}" if port else ""))
        if status not in (307, 308):
            raise ChatError(self._cut(
                f"HTTP {status} from {self.shown_url} redirects to {where}: not followed (it would turn the POST "
                "into a GET); use the final address as --base-url"), status=status)
        if _origin(target) != _origin(url):
            raise ChatError(self._cut(
                f"HTTP {status} from {self.shown_url} redirects to another origin, {where}: not followed (the "
                "key must not go there); use that address as --base-url if you trust it"), status=status)
        return target

    def failure(self, exc: BaseException, *, attempts: int = 1) -> ChatError:
        """A :class:`ChatError` for an unexpected exception of a request: one line naming the URL, scrubbed."""
        if isinstance(exc, ChatError):
            return exc
        return ChatError(self._cut(f"request to {self.shown_url} failed: {type(exc).__name__}: {exc}"),
                         attempts=attempts)

    def _connect_failure(self, exc: Any) -> Exception:
        os_error = getattr(exc, "os_error", None)
        unknown_host = isinstance(os_error, socket.gaierror)
        reason = "unknown host" if unknown_host else (
            "connection refused" if isinstance(os_error, ConnectionRefusedError) else
            f"{type(os_error or exc).__name__}")
        message = self._cut(f"cannot connect to {self.shown_url}: {reason}")
        if unknown_host or not self._answered:
            return ChatError(message + " (is the server running and --base-url right?)", retryable=False)
        return _Retryable(message)

    # ------------------------------------------------------------------------------------------- requests

    @staticmethod
    def _body(messages: Any, model: str, temperature: float | None, max_tokens: int | None, seed: int | None,
              extra: dict[str, Any] | None) -> bytes:
        body: dict[str, Any] = {"model": model, "messages": messages}
        if temperature is not None:
            body["temperature"] = temperature
        if max_tokens is not None:
            body["max_tokens"] = max_tokens
        if seed is not None:
            body["seed"] = seed
        if extra:
            body.update(extra)
        return json.dumps(body, ensure_ascii=False).encode("utf-8")

    @classmethod
    def payload(cls, messages: list[dict[str, Any]], *, model: str, temperature: float | None = None,
                max_tokens: int | None = None, seed: int | None = None,
                extra: dict[str, Any] | None = None) -> bytes:
        """The JSON body of one request."""
        return cls._body(messages, model, temperature, max_tokens, seed, extra)

    @classmethod
    def payload_frame(cls, *, model: str, temperature: float | None = None, max_tokens: int | None = None,
                      seed: int | None = None, extra: dict[str, Any] | None = None) -> tuple[bytes, bytes | None]:
        """The body of :meth:`payload` around its ``messages`` array: ``(before, after)``.

        ``before + encoded messages array + after`` is byte for byte what :meth:`payload` gives, so a caller that
        keeps its messages encoded need not encode them again. When ``extra`` replaces ``messages``, the body holds
        none: the result is ``(whole body, None)``.
        """
        frame = cls._body(_MESSAGES_MARK, model, temperature, max_tokens, seed, extra)
        before, found, after = frame.partition(_MESSAGES_MARK_JSON)
        return (before, after) if found else (frame, None)

    async def acomplete(self, messages: list[dict[str, Any]], *, model: str, key: str = "",
                        temperature: float | None = None, max_tokens: int | None = None, seed: int | None = None,
                        extra: dict[str, Any] | None = None) -> ChatResult:
        """One chat completion, retried on transient failures; ``key`` names the request for the jitter."""
        payload = self.payload(messages, model=model, temperature=temperature, max_tokens=max_tokens, seed=seed,
                               extra=extra)
        return await self.send(payload, key=key)

    async def send(self, payload: Body, *, key: str = "") -> ChatResult:
        """POST an encoded body (see :meth:`payload`) with the retry policy.

        The body may come in pieces (a tuple of bytes, such as the pre-encoded images of a conversation between
        the encoded text around them): a large one is then written to the connection piece by piece, so that no
        copy of the whole body is made.
        """
        if self._session is None:
            await self.open()
        attempt = 0
        while True:
            started = time.monotonic()
            try:
                text, finish, usage = await self._attempt(payload)
            except _Retryable as exc:
                if attempt >= self.max_retries:
                    raise ChatError(f"{self._cut(str(exc))} (gave up after {attempt + 1} attempts)", status=exc.status,
                                    retryable=True, attempts=attempt + 1) from None
                await self._wait(self.backoff_delay(attempt, key, exc.retry_after))
                attempt += 1
                continue
            except ChatError as exc:
                exc.attempts = attempt + 1
                raise
            except Exception as exc:  # anything unforeseen fails this request in one line, never the whole run
                raise self.failure(exc, attempts=attempt + 1) from None
            if self._api_key:  # a server that echoes the key in an answer must not put it in the file or history
                text = self._scrub(text)
            return ChatResult(text=text, finish_reason=finish, usage=usage,
                              latency_s=round(time.monotonic() - started, 3), attempts=attempt + 1)

    def complete(self, messages: list[dict[str, Any]], **kwargs: Any) -> ChatResult:
        """Synchronous single request (its own event loop and connection); for scripts and tests."""

        async def once() -> ChatResult:
            try:
                return await self.acomplete(messages, **kwargs)
            finally:
                await self.close()

        return asyncio.run(once())
