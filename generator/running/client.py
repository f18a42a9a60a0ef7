"""A small OpenAI-compatible chat-completions client on the standard library.

Benchmarks run for hours against servers that shed load (429), restart (5xx), stall, or answer with half a body.
The client therefore retries those cases with exponential backoff, honours ``Retry-After``, and draws its jitter
from the request key (not from the global RNG), so two runs of the same job sleep the same amounts. Other 4xx
answers (bad model name, bad key, request too large) are not retried: repeating them cannot help.

The API key is sent only in the ``Authorization`` header. It never appears in exceptions, ``repr`` or logs: any
text that could echo it (an error body) is scrubbed before it leaves this module.
"""

from __future__ import annotations

import email.utils
import http.client
import json
import time
import urllib.error
import urllib.parse
import urllib.request
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from generator.common.rng import derive_rng

RETRYABLE_STATUS = frozenset({408, 409, 425, 429, 500, 502, 503, 504, 520, 522, 524, 529})
_ERROR_BODY_CHARS = 300


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


def completions_url(base_url: str) -> str:
    """Accept ``http://host:8000/v1``, ``.../v1/`` or the full ``.../chat/completions`` URL."""
    url = base_url.strip().rstrip("/")
    parsed = urllib.parse.urlparse(url)
    if parsed.scheme not in ("http", "https") or not parsed.netloc:
        raise ValueError(f"base URL must start with http:// or https:// and name a host, got {base_url!r}")
    if url.endswith("/chat/completions"):
        return url
    return url + "/chat/completions"


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
    except (UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise _Retryable(f"malformed response body (not JSON): {exc.__class__.__name__}") from None
    if not isinstance(data, dict):
        raise _Retryable("malformed response body: not a JSON object")
    choices = data.get("choices")
    if not isinstance(choices, list) or not choices or not isinstance(choices[0], dict):
        if isinstance(data.get("error"), dict):
            raise _Retryable(f"server error in body: {str(data['error'].get('message', ''))[:_ERROR_BODY_CHARS]}")
        raise _Retryable("malformed response body: no choices")
    choice = choices[0]
    message = choice.get("message")
    if not isinstance(message, dict):
        raise _Retryable("malformed response body: choice without a message")
    text = extract_text(message)
    finish = choice.get("finish_reason")
    usage_raw = data.get("usage")
    usage: dict[str, Any] = {}
    if isinstance(usage_raw, dict):
        for key in ("prompt_tokens", "completion_tokens", "total_tokens"):
            value = usage_raw.get(key)
            if isinstance(value, int) and not isinstance(value, bool):
                usage[key] = value
    return text, finish if isinstance(finish, str) else None, usage


class ChatClient:
    """POSTs chat completions to one endpoint; thread-safe (each call opens its own connection).

    ``backoff_base`` * 2**attempt seconds (capped at ``backoff_max``), scaled by a deterministic jitter in
    [0.5, 1.0]; a ``Retry-After`` header replaces the computed delay (also capped). ``sleep`` is injectable so
    that tests do not wait.
    """

    def __init__(self, base_url: str, *, api_key: str | None = None, timeout: float = 120.0,
                 max_retries: int = 6, backoff_base: float = 1.0, backoff_max: float = 60.0,
                 sleep: Callable[[float], None] = time.sleep, user_agent: str = "mmmt-if") -> None:
        self.url = completions_url(base_url)
        self._api_key = api_key or None
        self.timeout = float(timeout)
        self.max_retries = int(max_retries)
        self.backoff_base = float(backoff_base)
        self.backoff_max = float(backoff_max)
        self._sleep = sleep
        self._user_agent = user_agent
        # Proxies from the environment are honoured for remote hosts, never for the loopback interface.
        host = urllib.parse.urlparse(self.url).hostname or ""
        handlers: list[urllib.request.BaseHandler] = []
        if host in ("127.0.0.1", "localhost", "::1"):
            handlers.append(urllib.request.ProxyHandler({}))
        self._opener = urllib.request.build_opener(*handlers)

    def __repr__(self) -> str:
        return f"ChatClient(url={self.url!r}, api_key={'set' if self._api_key else 'none'})"

    def _scrub(self, text: str) -> str:
        if self._api_key and self._api_key in text:
            text = text.replace(self._api_key, "***")
        return text

    def backoff_delay(self, attempt: int, key: str, retry_after: float | None = None) -> float:
        """Delay before retry number ``attempt`` (0-based) of the request identified by ``key``."""
        if retry_after is not None:
            return min(retry_after, self.backoff_max)
        base = min(self.backoff_max, self.backoff_base * (2 ** attempt))
        jitter = derive_rng("chat-backoff", key, attempt).uniform(0.5, 1.0)
        return base * jitter

    def _attempt(self, payload: bytes) -> tuple[str, str | None, dict[str, Any]]:
        headers = {"Content-Type": "application/json", "Accept": "application/json",
                   "User-Agent": self._user_agent}
        if self._api_key:
            headers["Authorization"] = f"Bearer {self._api_key}"
        request = urllib.request.Request(self.url, data=payload, headers=headers, method="POST")
        try:
            with self._opener.open(request, timeout=self.timeout) as response:
                body = response.read()
        except urllib.error.HTTPError as exc:
            status = exc.code
            try:
                detail = exc.read()[:_ERROR_BODY_CHARS].decode("utf-8", "replace")
            except Exception:
                detail = ""
            finally:
                exc.close()
            detail = self._scrub(" ".join(detail.split()))
            message = f"HTTP {status} from {self.url}" + (f": {detail}" if detail else "")
            if status in RETRYABLE_STATUS or status >= 500:
                raise _Retryable(message, status=status,
                                 retry_after=parse_retry_after(exc.headers.get("Retry-After"))) from None
            raise ChatError(message, status=status, retryable=False) from None
        except TimeoutError as exc:
            raise _Retryable(f"timed out after {self.timeout:g} s ({exc.__class__.__name__})") from None
        except urllib.error.URLError as exc:
            reason = exc.reason
            if isinstance(reason, TimeoutError):
                raise _Retryable(f"timed out after {self.timeout:g} s") from None
            raise _Retryable(self._scrub(f"connection failed: {reason}")) from None
        except (http.client.HTTPException, ConnectionError, OSError) as exc:
            raise _Retryable(self._scrub(f"connection failed: {exc.__class__.__name__}: {exc}")) from None
        return parse_completion(body)

    def complete(self, messages: list[dict[str, Any]], *, model: str, key: str = "",
                 temperature: float | None = None, max_tokens: int | None = None, seed: int | None = None,
                 extra: dict[str, Any] | None = None) -> ChatResult:
        """One chat completion, retried on transient failures; ``key`` names the request for the jitter."""
        body: dict[str, Any] = {"model": model, "messages": messages}
        if temperature is not None:
            body["temperature"] = temperature
        if max_tokens is not None:
            body["max_tokens"] = max_tokens
        if seed is not None:
            body["seed"] = seed
        if extra:
            body.update(extra)
        payload = json.dumps(body, ensure_ascii=False).encode("utf-8")
        attempt = 0
        while True:
            started = time.monotonic()
            try:
                text, finish, usage = self._attempt(payload)
            except _Retryable as exc:
                if attempt >= self.max_retries:
                    raise ChatError(self._scrub(f"{exc} (gave up after {attempt + 1} attempts)"), status=exc.status,
                                    retryable=True, attempts=attempt + 1) from None
                self._sleep(self.backoff_delay(attempt, key, exc.retry_after))
                attempt += 1
                continue
            except ChatError as exc:
                exc.attempts = attempt + 1
                raise
            return ChatResult(text=text, finish_reason=finish, usage=usage,
                              latency_s=round(time.monotonic() - started, 3), attempts=attempt + 1)
