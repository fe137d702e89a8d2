"""Regeneration: a second answer, from a named model, for prompts that only one model answered.

Most LMSYS-Chat-1M prompts were answered by a single model, so grouping alone leaves them unpaired. A top
team re-answered such prompts with other open models and paired the new answer with the original. This
module does that over any OpenAI-compatible endpoint with the pseudo-label issue's machinery, so it has
the judge's guarantees: ``llmclient.client.ChatClient`` (concurrency, retries with backoff, 429/Retry-After,
budget reserved before each request) and ``llmclient.cache.JudgeCache`` (SQLite, every answer committed as
it arrives, so a killed run resumes without resending anything already answered). Without a
``cache_path`` the per-user cache is used (``llmclient.cache.default_cache_path()``), shared with the judge.

A regenerated answer is kept in the cache as its own record type (a text completion of kind
``regenerate:MODEL``), under a key made from a fingerprint of the regeneration settings (server, model,
temperature, max_tokens) and the exact messages; the requests go through the shared request loop
(``llmclient.many.complete_many``).

Only single-turn prompts are regenerated: for a later turn the new model would have to continue a
conversation built from another model's answers, which is not the pair the competition scores.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path

from arenapref.label.judge import api_key_from_env
from arenapref.llmclient.aio import run_sync
from arenapref.llmclient.cache import JudgeCache, TextResult, default_cache_path, request_key
from arenapref.llmclient.client import Budget, ChatClient, Completion, estimate_tokens
from arenapref.llmclient.many import complete_many
from arenapref.llmclient.settings import ClientSettings, Price, default_base_url


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

    @property
    def url(self) -> str:
        """The server asked: ``base_url``, else the environment's or OpenAI's."""
        return self.base_url or default_base_url(None)

    def fingerprint(self) -> str:
        """Who answers and what changes an answer; the cache key is this plus the exact messages."""
        return json.dumps(
            {
                "task": "regenerate",
                "server": self.url.rstrip("/"),
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
        found = cache.get_texts(set(keys))
        todo: list[int] = []
        for i, key in enumerate(keys):
            if key in found:
                answers[i] = found[key].text
                counts["cached"] += 1
            else:
                todo.append(i)
        api_key = settings.api_key() if todo else None
        body = {
            "model": settings.model,
            "temperature": settings.temperature,
            "max_tokens": settings.max_tokens,
        }

        def store(i: int, done: Completion) -> None:
            text = done.choices[0].text
            answers[i] = text
            counts["sent"] += 1
            result = TextResult(text, done.prompt_tokens, done.completion_tokens, done.cost, done.attempts)
            cache.put_text(keys[i], f"regenerate:{settings.model}", result)

        async with ChatClient(settings.url, api_key, settings.client, settings.price, budget) as client:
            many = await complete_many(
                todo,
                lambda i: client.complete(
                    {**body, "messages": [{"role": "user", "content": prompts[i]}]},
                    estimate_tokens(_messages_json(prompts[i])),
                    settings.max_tokens,
                ),
                workers=settings.client.concurrency,
                api_key=api_key,
                on_result=store,
            )
        cache.flush()
    for i, (reason, _, _) in many.errors.items():
        reasons[i] = reason
    counts["failed"] = sum(1 for r in reasons if r)
    return Regenerated(answers, reasons, counts, budget.cost)


def regenerate(prompts: list[str], settings: RegenerateSettings) -> Regenerated:
    """Blocking ``aregenerate``; safe inside a running event loop (Jupyter, Kaggle)."""
    return run_sync(lambda: aregenerate(prompts, settings))
