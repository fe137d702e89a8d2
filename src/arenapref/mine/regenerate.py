"""Regeneration: a second answer, from a named model, for prompts that only one model answered.

Most LMSYS-Chat-1M prompts were answered by a single model, so grouping alone leaves them unpaired. A top
team re-answered such prompts with other open models and paired the new answer with the original. This
module does that over any OpenAI-compatible endpoint with the pseudo-label issue's machinery, so it has
the judge's guarantees: ``label.client.ChatClient`` (concurrency, retries with backoff, 429/Retry-After,
budget reserved before each request) and ``label.cache.JudgeCache`` (SQLite, every answer committed as
it arrives, so a killed run resumes without resending anything already answered). Without a
``cache_path`` the per-user cache is used (``label.cache.default_cache_path()``), shared with the judge.

The cache stores judgements; a regenerated answer is kept in it as one "order" whose ``raw`` text is the
answer (``verdict`` = "answer", ``soft`` = "regenerated", probabilities 0), under a key made from a
fingerprint of the regeneration settings (model, temperature, max_tokens) and the exact messages, so it
never collides with a judge's entry.

Only single-turn prompts are regenerated: for a later turn the new model would have to continue a
conversation built from another model's answers, which is not the pair the competition scores.
"""

from __future__ import annotations

import asyncio
import json
from collections import deque
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from arenapref.label.aio import run_sync
from arenapref.label.cache import JudgeCache, OrderResult, default_cache_path, request_key
from arenapref.label.client import Budget, BudgetStop, ChatClient, RequestFailed, estimate_tokens
from arenapref.label.config import ClientSettings, Price, default_base_url
from arenapref.label.judge import api_key_from_env


@dataclass(frozen=True)
class RegenerateSettings:
    """Where and how to ask for second answers, and what the run may spend."""

    model: str
    base_url: str
    api_key_env: str | None = "OPENAI_API_KEY"
    cache_path: Path | None = None
    temperature: float = 0.7
    max_tokens: int = 1024
    max_prompts: int | None = None
    max_requests: int = 0
    max_total_tokens: int = 0
    max_cost: float = 0.0
    price: Price | None = None
    client: ClientSettings = field(default_factory=ClientSettings)

    def fingerprint(self) -> str:
        """What changes an answer; the cache key is this plus the exact messages."""
        return json.dumps(
            {
                "task": "regenerate",
                "model": self.model,
                "temperature": self.temperature,
                "max_tokens": self.max_tokens,
            },
            sort_keys=True,
        )

    def api_key(self) -> str | None:
        """The key from ``api_key_env`` (never echoed if that looks like a key rather than a name)."""
        return api_key_from_env(self.api_key_env)


@dataclass
class Regenerated:
    """Answers by request index (None where the request failed), failure reasons, and counters."""

    answers: list[str | None]
    reasons: list[str]
    counts: dict[str, int]
    cost: float = 0.0


def _messages_json(prompt: str) -> str:
    return json.dumps([{"role": "user", "content": prompt}], ensure_ascii=False)


async def aregenerate(prompts: list[str], settings: RegenerateSettings) -> Regenerated:
    """Ask ``settings.model`` for one answer to each prompt; cached answers are not asked again."""
    fingerprint = settings.fingerprint()
    keys = [request_key(fingerprint, _messages_json(p)) for p in prompts]
    answers: list[str | None] = [None] * len(prompts)
    reasons = [""] * len(prompts)
    counts = {"asked": len(prompts), "cached": 0, "sent": 0, "failed": 0}
    budget = Budget(settings.max_requests, settings.max_total_tokens, settings.max_cost)
    cache_path = settings.cache_path if settings.cache_path is not None else default_cache_path()
    with JudgeCache(cache_path) as cache:
        found = cache.get_many(set(keys))
        todo: deque[int] = deque()
        for i, key in enumerate(keys):
            if key in found:
                answers[i] = found[key].raw
                counts["cached"] += 1
            else:
                todo.append(i)
        stopped = ""
        api_key = settings.api_key() if todo else None
        url = settings.base_url or default_base_url(None)
        async with ChatClient(url, api_key, settings.client, settings.price, budget) as client:

            async def worker() -> None:
                nonlocal stopped
                while todo and not stopped:
                    i = todo.popleft()
                    body: dict[str, Any] = {
                        "model": settings.model,
                        "temperature": settings.temperature,
                        "max_tokens": settings.max_tokens,
                    }
                    payload = f'{json.dumps(body)[:-1]}, "messages": {_messages_json(prompts[i])}}}'.encode()
                    est = estimate_tokens(_messages_json(prompts[i]))
                    try:
                        done = await client.complete(payload, est, settings.max_tokens)
                    except BudgetStop as exc:
                        reasons[i] = "budget"
                        stopped = stopped or str(exc)
                        continue
                    except RequestFailed as exc:
                        reasons[i] = exc.reason
                        if exc.fatal:
                            stopped = f"aborted: the server answered {exc.reason}"
                        continue
                    text = done.choices[0].text
                    answers[i] = text
                    counts["sent"] += 1
                    cache.put(
                        keys[i],
                        f"regenerate:{settings.model}",
                        OrderResult(
                            (0.0, 0.0, 0.0),
                            "answer",
                            "regenerated",
                            text,
                            done.prompt_tokens,
                            done.completion_tokens,
                            done.cost,
                            done.attempts,
                        ),
                    )

            await asyncio.gather(*(worker() for _ in range(max(1, settings.client.concurrency))))
        cache.flush()
    for i in todo:
        reasons[i] = "budget" if not stopped.startswith("aborted") else "aborted"
    counts["failed"] = sum(1 for r in reasons if r)
    return Regenerated(answers, reasons, counts, budget.cost)


def regenerate(prompts: list[str], settings: RegenerateSettings) -> Regenerated:
    """Blocking ``aregenerate``; safe inside a running event loop (Jupyter, Kaggle)."""
    return run_sync(lambda: aregenerate(prompts, settings))
