"""Optional LLM-written short titles for the topics of a map, through the judge's chat client.

Why: class-based TF-IDF terms ("query, table, join, key, mysql") are faithful but read like a list; the
LMSYS-Chat-1M paper summarised each cluster from its prompts nearest the centroid. The same material
(terms + nearest prompts) goes to any OpenAI-compatible endpoint, one request per topic; the reply's
first line becomes ``Topic.title``, which labels then prefer. The terms stay in the map either way.

Replies are cached as text completions (the per-user ``judge.sqlite``, keyed by server, model and exact
messages), so re-titling the same map costs nothing. To use a real model: ``ARENAPREF_BASE_URL=http://localhost:8000/v1``
(a vLLM server) or ``OPENAI_API_KEY`` for OpenAI, and the model name as ``llm``.
"""

from __future__ import annotations

import json
from pathlib import Path

from arenapref.errors import ArenaprefError
from arenapref.llmclient.aio import run_sync
from arenapref.llmclient.cache import JudgeCache, TextResult, default_cache_path, request_key
from arenapref.llmclient.client import ChatClient, Completion, estimate_tokens
from arenapref.llmclient.many import complete_many
from arenapref.llmclient.settings import ClientSettings, default_base_url
from arenapref.topics.fit import TopicModel

TITLE_PROMPT = """Below are the most distinctive terms of a cluster of chatbot user prompts, and the prompts
nearest the cluster's centre. Reply with a short title for the cluster (at most six words) and nothing else.

Terms: {terms}

Prompts:
{examples}"""
MAX_TITLE_CHARS = 60
MAX_TITLE_TOKENS = 24


def title_messages(model: TopicModel, topic: int) -> list[dict[str, str]]:
    """The chat messages asking for one topic's title."""
    t = model.topics[topic]
    examples = "\n".join(f"- {e}" for e in t.examples)
    return [{"role": "user", "content": TITLE_PROMPT.format(terms=", ".join(t.terms), examples=examples)}]


def clean_title(text: str) -> str:
    """First non-empty line of a reply, without a "Title:" prefix, quotes or a final full stop."""
    line = next((ln.strip() for ln in text.splitlines() if ln.strip()), "")
    if line.lower().startswith("title:"):
        line = line[len("title:") :].strip()
    line = line.rstrip(".").strip("\"'*` ").rstrip(".")
    return line if len(line) <= MAX_TITLE_CHARS else line[: MAX_TITLE_CHARS - 1] + "…"


def _fingerprint(base_url: str, llm: str) -> str:
    """Who answers and what changes a title besides the messages; the key is this plus the messages."""
    return json.dumps(
        {
            "task": "topic-title",
            "server": base_url.rstrip("/"),
            "model": llm,
            "max_tokens": MAX_TITLE_TOKENS,
            "temperature": 0,
        },
        sort_keys=True,
    )


async def _ask_all(
    model: TopicModel,
    base_url: str,
    llm: str,
    api_key: str | None,
    settings: ClientSettings,
    cache: JudgeCache,
) -> list[str]:
    fingerprint = _fingerprint(base_url, llm)
    messages = [title_messages(model, t) for t in range(model.k)]
    keys = [request_key(fingerprint, json.dumps(m)) for m in messages]
    found = cache.get_texts(keys)
    texts: dict[int, str] = {t: found[k].text for t, k in enumerate(keys) if k in found}
    body = {"model": llm, "max_tokens": MAX_TITLE_TOKENS, "temperature": 0}

    def store(topic: int, done: Completion) -> None:
        text = done.choices[0].text if done.choices else ""
        texts[topic] = text
        result = TextResult(text, done.prompt_tokens, done.completion_tokens, done.cost, done.attempts)
        cache.put_text(keys[topic], f"topic-title:{llm}", result)

    async with ChatClient(base_url, api_key, settings) as client:
        many = await complete_many(
            [t for t in range(model.k) if t not in texts],
            lambda t: client.complete(
                {**body, "messages": messages[t]}, estimate_tokens(json.dumps(messages[t])), MAX_TITLE_TOKENS
            ),
            workers=settings.concurrency,
            api_key=api_key,
            on_result=store,
        )
    if many.errors:
        reason, detail, _ = next(iter(many.errors.values()))
        why = many.stopped or (f"{reason}: {detail}" if detail else reason)
        raise ArenaprefError(f"topic titles: the chat endpoint failed ({why})")
    return [clean_title(texts[t]) for t in range(model.k)]


async def awrite_titles(
    model: TopicModel,
    base_url: str | None,
    llm: str,
    api_key: str | None = None,
    settings: ClientSettings | None = None,
    cache_path: str | Path | None = None,
) -> TopicModel:
    """Ask ``llm`` for a title per topic and set ``Topic.title`` (empty replies: unset); awaitable.

    ``base_url`` None means ``$ARENAPREF_BASE_URL``, else ``$OPENAI_BASE_URL``. Answers go through the
    judge cache (``cache_path``, default the per-user ``judge.sqlite``), so asking again for the same
    topics and model sends nothing.
    """
    url = base_url or default_base_url(None)
    with JudgeCache(cache_path if cache_path is not None else default_cache_path()) as cache:
        titles = await _ask_all(model, url, llm, api_key, settings or ClientSettings(), cache)
        cache.flush()
    for topic, title in zip(model.topics, titles, strict=True):
        topic.title = title or None
    return model


def write_titles(
    model: TopicModel,
    base_url: str | None,
    llm: str,
    api_key: str | None = None,
    settings: ClientSettings | None = None,
    cache_path: str | Path | None = None,
) -> TopicModel:
    """Blocking ``awrite_titles``; safe inside a running event loop (Jupyter, Kaggle)."""
    return run_sync(lambda: awrite_titles(model, base_url, llm, api_key, settings, cache_path))
