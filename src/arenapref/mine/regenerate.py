"""Regeneration: a second answer, from a named model, for conversations that only one model answered.

Most LMSYS-Chat-1M prompts were answered by a single model, so grouping alone leaves them unpaired. A top
team re-answered such prompts with other open models and paired the new answer with the original. This
module does that over any OpenAI-compatible endpoint with the pseudo-label issue's machinery, so it has
the judge's guarantees: ``llmclient.client.ChatClient`` (concurrency, retries with backoff, 429/Retry-After,
budget reserved before each request) and ``llmclient.cache.JudgeCache`` (SQLite, every answer committed as
it arrives, so a killed run resumes without resending anything already answered). Without a
``cache_path`` the per-user cache is used (``llmclient.cache.default_cache_path()``), shared with the judge.

Multi-turn conversations are regenerated turn by turn, each assistant turn asked for given the user's
turns so far and the regeneration model's *own* earlier answers. Why this rule: an arena battle is two
models each holding its own conversation with the same user messages, so the regenerated side must be
the conversation the new model would have had, not its answer appended to another model's history
(feeding it the original answers would score "continue someone else's conversation", which is not the
pair the competition scores). The cost is that the user's later turns were written after reading the
original model's answers and may refer to them; that is equally true of arena battles, whose user saw
both sides. One conversation is one chain of requests, so the turns go in rounds (every conversation's
turn 1, then every turn 2 that has a turn 1, ...); a conversation whose turn fails stops there and is
failed as a whole, with that turn's reason, so a half-regenerated conversation never becomes a pair.

A regenerated answer is kept in the cache as its own record type (a text completion of kind
``regenerate:MODEL``), under a key made from a fingerprint of the regeneration settings (server, model,
temperature, max_tokens) and the exact messages of that turn's request; a single-turn request's key is
what it always was, and a resumed run re-derives each later turn's key from the cached earlier answers.
The requests go through the shared request loop (``llmclient.many.complete_many``).
"""

from __future__ import annotations

import contextlib
import json
import os
from collections.abc import Awaitable, Sequence
from dataclasses import dataclass, field
from pathlib import Path

from arenapref.errors import ArenaprefError
from arenapref.label.judge import api_key_from_env
from arenapref.llmclient.aio import run_sync
from arenapref.llmclient.cache import JudgeCache, TextResult, default_cache_path, request_key
from arenapref.llmclient.client import Budget, ChatClient, Completion, estimate_tokens
from arenapref.llmclient.many import complete_many
from arenapref.llmclient.settings import ClientSettings, Price, default_base_url
from arenapref.mine.settings import RegenerateSettings


@dataclass(frozen=True)
class Regeneration:
    """A regeneration run's request: where and how to ask for second answers, and what it may spend.

    Built from the settings (``mine.settings.RegenerateSettings``) by ``regeneration``; made directly
    only to set what the settings leave to defaults (the client's timeouts, prices).
    """

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


def regeneration(settings: RegenerateSettings, default_cache: Path | None = None) -> Regeneration | None:
    """The run ``settings`` describe (None when they name no ``model``); the cache is ``settings.cache``,
    else ``default_cache`` (the command line's OUT.regen.sqlite, the pipeline's run folder), else the
    per-user cache."""
    if settings.model is None:
        return None
    base_url = settings.base_url or os.environ.get("ARENAPREF_BASE_URL") or os.environ.get("OPENAI_BASE_URL")
    if not base_url:
        raise ArenaprefError(
            "regeneration needs `base_url` (or ARENAPREF_BASE_URL / OPENAI_BASE_URL in the environment)"
        )
    # The settings' fields that the run keeps as they are; the others are resolved here.
    same = settings.model_dump(exclude={"base_url", "api_key_env", "cache", "concurrency"})
    return Regeneration(
        base_url=base_url,
        api_key_env=settings.api_key_env or None,
        cache_path=Path(settings.cache) if settings.cache else default_cache,
        client=ClientSettings(concurrency=settings.concurrency),
        **same,
    )


@dataclass
class Regenerated:
    """Answers by conversation (one per user turn; None where a turn failed), failure reasons, counters.

    ``counts``: ``asked`` and ``failed`` count conversations; ``cached`` and ``sent`` count turn requests.
    """

    answers: list[list[str] | None]
    reasons: list[str]
    counts: dict[str, int]
    cost: float = 0.0


def conversation_messages(user_turns: Sequence[str], answers: Sequence[str]) -> list[dict[str, str]]:
    """The request for the next answer: the user's turns interleaved with the model's earlier answers."""
    messages: list[dict[str, str]] = []
    for k, question in enumerate(user_turns):
        messages.append({"role": "user", "content": question})
        if k < len(answers):
            messages.append({"role": "assistant", "content": answers[k]})
    return messages


async def aregenerate(prompts: Sequence[str | Sequence[str]], settings: Regeneration) -> Regenerated:
    """Ask ``settings.model`` for its own side of each conversation (a string is a one-turn one), turn by
    turn; cached turns are not asked again."""
    convs = [[p] if isinstance(p, str) else list(p) for p in prompts]
    fingerprint = settings.fingerprint()
    done: list[list[str]] = [[] for _ in convs]
    reasons = [""] * len(convs)
    counts = {"asked": len(convs), "turns": sum(len(c) for c in convs), "cached": 0, "sent": 0, "failed": 0}
    budget = Budget(settings.max_requests, settings.max_total_tokens, settings.max_cost)
    cache_path = settings.cache_path if settings.cache_path is not None else default_cache_path()
    body = {"model": settings.model, "temperature": settings.temperature, "max_tokens": settings.max_tokens}
    api_key: str | None = None
    client: ChatClient | None = None  # opened at the first request, so a fully cached run needs no key
    async with contextlib.AsyncExitStack() as stack:
        cache = stack.enter_context(JudgeCache(cache_path))
        for turn in range(max((len(c) for c in convs), default=0)):
            # This round: every conversation with a turn here whose earlier turns all came back.
            live = [i for i, c in enumerate(convs) if len(c) > turn and len(done[i]) == turn]
            requests = {i: conversation_messages(convs[i][: turn + 1], done[i]) for i in live}
            keys = {
                i: request_key(fingerprint, json.dumps(m, ensure_ascii=False)) for i, m in requests.items()
            }
            found = cache.get_texts(set(keys.values()))
            todo = [i for i in live if keys[i] not in found]
            for i in live:
                if keys[i] in found:
                    done[i].append(found[keys[i]].text)
                    counts["cached"] += 1
            if not todo:
                continue
            if client is None:
                api_key = settings.api_key()
                client = ChatClient(settings.url, api_key, settings.client, settings.price, budget)
                await stack.enter_async_context(client)

            def store(i: int, answer: Completion, keys: dict[int, str] = keys) -> None:
                text = answer.choices[0].text
                done[i].append(text)
                counts["sent"] += 1
                usage = TextResult(
                    text, answer.prompt_tokens, answer.completion_tokens, answer.cost, answer.attempts
                )
                cache.put_text(keys[i], f"regenerate:{settings.model}", usage)

            def ask(
                i: int, client: ChatClient = client, requests: dict[int, list[dict[str, str]]] = requests
            ) -> Awaitable[Completion]:
                request = requests[i]
                tokens = estimate_tokens(json.dumps(request, ensure_ascii=False))
                return client.complete({**body, "messages": request}, tokens, settings.max_tokens)

            many = await complete_many(
                todo, ask, workers=settings.client.concurrency, api_key=api_key, on_result=store
            )
            for i, (reason, _, _) in many.errors.items():
                reasons[i] = reason
        cache.flush()
    counts["failed"] = sum(1 for r in reasons if r)
    answers = [
        d if not r and len(d) == len(c) else None for d, r, c in zip(done, reasons, convs, strict=True)
    ]
    return Regenerated(answers, reasons, counts, budget.cost)


def regenerate(prompts: Sequence[str | Sequence[str]], settings: Regeneration) -> Regenerated:
    """Blocking ``aregenerate``; safe inside a running event loop (Jupyter, Kaggle)."""
    return run_sync(lambda: aregenerate(prompts, settings))
