"""Optional LLM-written short titles for the topics of a map, through the judge's chat client.

Why: class-based TF-IDF terms ("query, table, join, key, mysql") are faithful but read like a list; the
LMSYS-Chat-1M paper summarised each cluster from its prompts nearest the centroid. The same material
(terms + nearest prompts) goes to any OpenAI-compatible endpoint, one request per topic; the reply's
first line becomes ``Topic.title``, which labels then prefer. The terms stay in the map either way.
"""

from __future__ import annotations

import asyncio
import json

from arenapref.errors import ArenaprefError
from arenapref.label.client import BudgetStop, ChatClient, RequestFailed, estimate_tokens
from arenapref.label.config import ClientSettings
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


async def _ask_all(
    model: TopicModel, base_url: str, llm: str, api_key: str | None, settings: ClientSettings
) -> list[str]:
    async with ChatClient(base_url, api_key, settings) as client:

        async def one(topic: int) -> str:
            messages = title_messages(model, topic)
            body = {"model": llm, "messages": messages, "max_tokens": MAX_TITLE_TOKENS, "temperature": 0}
            payload = json.dumps(body).encode("utf-8")
            done = await client.complete(payload, estimate_tokens(json.dumps(messages)), MAX_TITLE_TOKENS)
            return clean_title(done.choices[0].text) if done.choices else ""

        return list(await asyncio.gather(*(one(t) for t in range(model.k))))


def write_titles(
    model: TopicModel,
    base_url: str,
    llm: str,
    api_key: str | None = None,
    settings: ClientSettings | None = None,
) -> TopicModel:
    """Ask ``llm`` at ``base_url`` for a title per topic and set ``Topic.title`` (empty replies: unset)."""
    try:
        titles = asyncio.run(_ask_all(model, base_url, llm, api_key, settings or ClientSettings()))
    except (RequestFailed, BudgetStop) as exc:
        raise ArenaprefError(f"topic titles: the chat endpoint failed ({exc})") from exc
    for topic, title in zip(model.topics, titles, strict=True):
        topic.title = title or None
    return model
