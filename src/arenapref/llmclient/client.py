"""An async client for OpenAI-compatible ``/chat/completions`` endpoints, with our own retry and budget rules.

Why aiohttp and not the ``openai`` SDK (which is in the lock): measured on this machine against a local
server at 100 ms latency and 64 concurrent requests, the SDK's async client (httpx2 + pydantic models)
spent about 5 ms of CPU per request and topped out near 200 requests/s, while a bare aiohttp session spent
under 1 ms and reached ~590 requests/s, i.e. the 90%-of-ideal target is only reachable without the SDK.
The SDK would also have to be switched off for retries anyway (``max_retries=0``) so that 429 +
Retry-After, jitter and the budget are under our control. What we need of the protocol is small: one
POST, the ``choices``/``usage``/``logprobs`` fields and the status code and headers.

The API key is read from an environment variable by the caller and only ever placed in the
Authorization header; error messages are built from status codes and redacted body excerpts, never from
request objects.
"""

from __future__ import annotations

import asyncio
import email.utils
import json
import math
import random
import time
from dataclasses import dataclass, field
from typing import Any

import aiohttp
from yarl import URL

from arenapref.errors import ArenaprefError
from arenapref.llmclient.offline import OFFLINE, OfflineJudge
from arenapref.llmclient.settings import ClientSettings, Price

BODY_EXCERPT = 300
# Failures that count towards the early abort: the server answers, but never usefully (a non-JSON body,
# no choices, 4xx), or never answers (timeouts). Not 429 or 5xx: rate limits and a server warming up or
# overloaded are transient and have their own retries; not connection errors (their own rule below).
NO_EARLY_ABORT = ("rate limited (429)", "connection error")


class RequestFailed(Exception):
    """A request that did not succeed after its attempts; ``reason`` is short and safe to write to disk."""

    def __init__(self, reason: str, detail: str = "", fatal: bool = False, summary: str = "") -> None:
        super().__init__(summary or (f"{reason}: {detail}" if detail else reason))
        self.reason = reason
        self.detail = detail
        # Fatal: no other request can succeed either (bad key, unknown model); the run should stop.
        self.fatal = fatal
        # For a fatal failure: the one sentence that explains the stop (else built from reason/detail).
        self.summary = summary or f"the server answered {reason}" + (f" ({detail})" if detail else "")


class BudgetStop(Exception):
    """The budget has no room for another request; the run stops taking new work."""


@dataclass
class Budget:
    """Caps on requests, tokens and money, enforced *before* a request is sent.

    Each request reserves its worst case (estimated prompt tokens plus ``max_tokens`` per completion); the
    reservation is replaced by the server-reported usage when it returns. So concurrent requests cannot
    overshoot a cap, and a stop happens between requests, never mid-flight. 0 means no cap.
    """

    max_requests: int = 0
    max_tokens: int = 0
    max_cost: float = 0.0
    requests: int = 0
    tokens: int = 0
    cost: float = 0.0
    reserved_tokens: int = 0
    reserved_cost: float = 0.0
    exhausted: str = ""

    def __post_init__(self) -> None:
        for name in ("max_requests", "max_tokens", "max_cost"):
            value = getattr(self, name)
            if value < 0:
                raise ArenaprefError(f"{name} must be 0 (no cap) or a positive number, not {value:g}")

    def reserve(self, tokens: int, cost: float) -> None:
        """Count one request and hold its worst-case tokens and cost, or raise BudgetStop."""
        if self.exhausted:
            raise BudgetStop(self.exhausted)
        if self.max_requests and self.requests + 1 > self.max_requests:
            self.exhausted = f"request budget of {self.max_requests} reached"
        elif self.max_tokens and self.tokens + self.reserved_tokens + tokens > self.max_tokens:
            self.exhausted = f"token budget of {self.max_tokens} reached"
        elif self.max_cost and self.cost + self.reserved_cost + cost > self.max_cost:
            self.exhausted = f"cost budget of ${self.max_cost:g} reached"
        if self.exhausted:
            raise BudgetStop(self.exhausted)
        self.requests += 1
        self.reserved_tokens += tokens
        self.reserved_cost += cost

    def settle(self, reserved_tokens: int, reserved_cost: float, tokens: int, cost: float) -> None:
        """Replace a reservation by what the request really used (0 when it failed unbilled)."""
        self.reserved_tokens -= reserved_tokens
        self.reserved_cost -= reserved_cost
        self.tokens += tokens
        self.cost += cost


@dataclass(frozen=True, slots=True)
class Choice:
    """One completion: its text and, when the server sent them, its per-token log-probabilities."""

    text: str
    logprobs: list[dict[str, Any]] | None


@dataclass(frozen=True, slots=True)
class Completion:
    """What a successful request returned and what it cost."""

    choices: list[Choice]
    prompt_tokens: int
    completion_tokens: int
    cost: float
    attempts: int


@dataclass
class ClientStats:
    """Counters across a run, for reports and benchmarks."""

    attempts: int = 0
    successes: int = 0
    retries: dict[str, int] = field(default_factory=dict)

    def count_retry(self, reason: str) -> None:
        self.retries[reason] = self.retries.get(reason, 0) + 1


def retry_after_seconds(value: str | None, now: float | None = None) -> float | None:
    """Seconds to wait from a Retry-After header (delta-seconds or an HTTP date); None when absent/bad."""
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
    return max(0.0, when.timestamp() - (time.time() if now is None else now))


REDACTED = "[redacted]"


def redact(text: str, secret: str | None) -> str:
    """Remove the key from any text that might reach a log or a file (a server could echo it back)."""
    return text.replace(secret, REDACTED) if secret else text


def redact_bytes(body: bytes, secret: str | None) -> bytes:
    """Remove the key from a response body before it is parsed, both as sent and JSON-escaped."""
    if not secret:
        return body
    for form in {secret, json.dumps(secret)[1:-1]}:
        body = body.replace(form.encode(), REDACTED.encode())
    return body


def excerpt(body: bytes, limit: int = 160) -> str:
    """The start of a body, on one line, for an error message (already redacted by the caller)."""
    text = " ".join(body[: limit * 4].decode("utf-8", "replace").split())
    return text[:limit] + ("..." if len(text) > limit else "")


class ChatClient:
    """POST chat-completion requests with a concurrency limit, retries, backoff, 429 handling and a budget.

    Use as ``async with ChatClient(...) as client: await client.complete(body, est_prompt_tokens, n)``.
    A ``base_url`` of ``offline`` is the built-in offline judge: each body goes to it instead of over HTTP,
    and its answer takes the same path as a server's (parsing, usage, cost, budget).
    """

    def __init__(
        self,
        base_url: str,
        api_key: str | None,
        settings: ClientSettings,
        price: Price | None = None,
        budget: Budget | None = None,
        rng: random.Random | None = None,
    ) -> None:
        self.url = base_url.rstrip("/") + "/chat/completions"
        self._offline = OfflineJudge() if base_url.rstrip("/") == OFFLINE else None
        self._api_key = api_key
        self.settings = settings
        self.price = price
        self.budget = budget if budget is not None else Budget()
        self.stats = ClientStats()
        self._rng = rng if rng is not None else random.Random()
        self._session: aiohttp.ClientSession | None = None
        self._limit = asyncio.Semaphore(settings.concurrency)
        self._early: list[str] = []  # failure reasons of the answers before the first success
        self._abort: RequestFailed | None = None

    async def __aenter__(self) -> ChatClient:
        headers = {"Content-Type": "application/json"}
        if self._api_key:
            headers["Authorization"] = f"Bearer {self._api_key}"
        self._session = aiohttp.ClientSession(
            connector=aiohttp.TCPConnector(limit=self.settings.concurrency),
            headers=headers,
            timeout=aiohttp.ClientTimeout(total=self.settings.timeout_s),
        )
        return self

    async def __aexit__(self, *exc: object) -> None:
        if self._session is not None:
            await self._session.close()
            self._session = None

    def cost_of(self, prompt_tokens: int, completion_tokens: int) -> float:
        if self.price is None:
            return 0.0
        return (prompt_tokens * self.price.input + completion_tokens * self.price.output) / 1e6

    def _backoff(self, attempt: int) -> float:
        """Full jitter: uniform over [0, base * 2**attempt], capped; spreads retries of many workers apart."""
        cap = min(self.settings.backoff_max_s, self.settings.backoff_base_s * (2**attempt))
        return self._rng.uniform(0.0, cap)

    async def complete(self, body: dict[str, Any], est_prompt_tokens: int, max_out: int) -> Completion:
        """Send one request body (serialised here), retrying transient failures; RequestFailed or BudgetStop.

        ``est_prompt_tokens`` and ``max_out`` (max_tokens times n) size the budget reservation.
        """
        if self._session is None:
            raise RuntimeError("use ChatClient as an async context manager")
        last = RequestFailed("no attempt made")
        payload = json.dumps(body).encode()
        for attempt in range(self.settings.max_attempts):
            if self._abort is not None:
                raise self._abort
            est_tokens = est_prompt_tokens + max_out
            est_cost = self.cost_of(est_prompt_tokens, max_out)
            self.budget.reserve(est_tokens, est_cost)
            self.stats.attempts += 1
            used_tokens, used_cost = 0, 0.0
            wait: float | None = None
            try:
                async with self._limit:
                    completion, status, retry_after = await self._attempt(body, payload, attempt + 1)
                if completion is not None:
                    self.stats.successes += 1
                    used_tokens = completion.prompt_tokens + completion.completion_tokens
                    used_cost = completion.cost
                    return completion
                if status == 429:
                    self.stats.count_retry("429")
                    wait = retry_after if retry_after is not None else self._backoff(attempt)
                    wait = min(wait, self.settings.retry_after_max_s)
                    last = RequestFailed("rate limited (429)")
                else:
                    self.stats.count_retry(f"http {status}")
                    last = RequestFailed(f"http {status}")
            except RequestFailed as exc:
                if exc.fatal:
                    raise
                exc = self._note(exc)
                if exc.fatal or not _retryable(exc.reason):
                    raise exc from None
                self.stats.count_retry(exc.reason)
                last = exc
            except TimeoutError:
                self.stats.count_retry("timeout")
                last = self._note(RequestFailed("timeout", f"no answer within {self.settings.timeout_s:g} s"))
            except aiohttp.ClientError as exc:
                self.stats.count_retry("connection")
                last = RequestFailed("connection error", type(exc).__name__)
                if (
                    isinstance(exc, aiohttp.ClientConnectorError)
                    and not self.stats.successes
                    and attempt >= 2
                ):
                    # Nothing has ever answered at this address: a wrong URL or a server that is down.
                    # Origin only: some providers put credentials in the URL's query.
                    where = URL(self.url).origin()
                    raise RequestFailed(
                        "connection error", f"cannot connect to {where}", fatal=True
                    ) from None
            finally:
                self.budget.settle(est_tokens, est_cost, used_tokens, used_cost)
            if last.fatal:
                raise last
            if attempt + 1 < self.settings.max_attempts:
                await asyncio.sleep(wait if wait is not None else self._backoff(attempt))
        raise RequestFailed(
            last.reason, f"{last.detail} (gave up after {self.settings.max_attempts} attempts)"
        )

    def _note(self, failure: RequestFailed) -> RequestFailed:
        """Record a failed answer; the early-abort error instead when the first N all failed alike.

        Without this a server that answers every request with an HTML page or a 400 is asked
        ``max_attempts`` times per request for every pair before the run gives up.
        """
        n = self.settings.abort_after
        if self._abort is not None:
            return self._abort
        if not n or self.stats.successes or failure.reason in NO_EARLY_ABORT or len(self._early) >= n:
            return failure
        self._early.append(failure.reason)
        if len(self._early) == n and len(set(self._early)) == 1:
            said = f"; the last one: {failure.detail}" if failure.detail else ""
            self._abort = RequestFailed(
                failure.reason,
                failure.detail,
                fatal=True,
                summary=f"the first {n} answers from {URL(self.url).origin()} all failed the same way "
                f"({failure.reason}{said}); check `base_url` and that it serves /chat/completions",
            )
            return self._abort
        return failure

    async def _attempt(
        self, body: dict[str, Any], payload: bytes, attempt: int
    ) -> tuple[Completion | None, int, float | None]:
        """One round trip: a Completion, or (None, status, retry-after) for a retryable status."""
        if self._offline is not None:
            return self._parse(json.dumps(self._offline.respond(body)).encode(), attempt), 200, None
        assert self._session is not None
        async with self._session.post(self.url, data=payload) as resp:
            # The key leaves this client only in the header: a body that echoes it is cleaned at once,
            # so neither the cache, the failures file nor an error message can ever hold it.
            raw = redact_bytes(await resp.read(), self._api_key)
            status = resp.status
            if status in (408, 409, 429) or status >= 500:
                return None, status, retry_after_seconds(resp.headers.get("Retry-After"))
            if status >= 400:
                raise RequestFailed(
                    f"http {status}", excerpt(raw, BODY_EXCERPT), fatal=status in (401, 403, 404)
                )
        return self._parse(raw, attempt), status, None

    def _parse(self, raw: bytes, attempt: int) -> Completion:
        """A successful answer's choices, usage and cost; RequestFailed for a body without them."""
        try:
            data = json.loads(raw)
            choices = [
                Choice(
                    text=str(c["message"].get("content") or ""),
                    logprobs=((c.get("logprobs") or {}).get("content") or None),
                )
                for c in data["choices"]
            ]
            usage = data.get("usage") or {}
            prompt_tokens = int(usage.get("prompt_tokens") or 0)
            completion_tokens = int(usage.get("completion_tokens") or 0)
        except (ValueError, KeyError, TypeError, AttributeError) as exc:
            what = "not JSON" if isinstance(exc, ValueError) else f"no usable choices ({type(exc).__name__})"
            raise RequestFailed("malformed response", f"{what}: {excerpt(raw)!r}") from None
        if not choices:
            raise RequestFailed("malformed response", f"no choices: {excerpt(raw)!r}")
        cost = self.cost_of(prompt_tokens, completion_tokens)
        return Completion(choices, prompt_tokens, completion_tokens, cost, attempt)


def _retryable(reason: str) -> bool:
    """Malformed bodies are retried (a proxy hiccup looks like that); other 4xx answers are not."""
    return reason == "malformed response"


def estimate_tokens(messages_json: str) -> int:
    """A deliberately high prompt-token estimate (3 characters of the JSON per token) for reservations."""
    return math.ceil(len(messages_json) / 3)
