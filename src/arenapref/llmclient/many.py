"""The one request loop every use of a model server shares: judge, regeneration, topic titles, Ray judge.

``complete_many`` asks for every item with a fixed number of workers over one ``ChatClient`` and turns
what can go wrong into data: a budget stop ends the run between requests (the items not asked yet are
``budget``), a fatal answer (a refused key or model, a server whose first answers all failed alike)
ends it as ``aborted``, any other failure is that item's reason. What an item *is* (one judge order with
its re-asks, one regeneration, one title) is the caller's ``ask``; the cache is the caller's too, through
``on_result``, so each use stores its own record type.
"""

from __future__ import annotations

import asyncio
from collections import deque
from collections.abc import Awaitable, Callable, Hashable, Iterable
from dataclasses import dataclass, field
from typing import Generic, TypeVar

from arenapref.llmclient.client import BudgetStop, RequestFailed, redact

K = TypeVar("K", bound=Hashable)
R = TypeVar("R")


class Unusable(Exception):
    """An answer arrived but cannot be used (a judge's reply without a verdict after its re-asks)."""

    def __init__(self, reason: str, detail: str, raw: str) -> None:
        super().__init__(f"{reason}: {detail}")
        self.reason = reason
        self.detail = detail
        self.raw = raw


@dataclass
class Many(Generic[K, R]):
    """Results by item, and (reason, detail, raw text) for each item that has none; ``stopped`` says why
    the run ended early (empty when it did not)."""

    results: dict[K, R] = field(default_factory=dict)
    errors: dict[K, tuple[str, str, str]] = field(default_factory=dict)
    stopped: str = ""

    @property
    def aborted(self) -> bool:
        return self.stopped.startswith("aborted")


async def complete_many(
    items: Iterable[K],
    ask: Callable[[K], Awaitable[R]],
    *,
    workers: int,
    api_key: str | None = None,
    on_result: Callable[[K, R], None] | None = None,
    on_done: Callable[[], None] | None = None,
) -> Many[K, R]:
    """Ask for every item (``workers`` at a time); ``on_result`` sees each result as it arrives (to cache
    it), ``on_done`` is called after every item, answered or not (progress). Error texts are redacted."""
    queue = deque(items)
    out: Many[K, R] = Many()

    async def worker() -> None:
        while queue and not out.stopped:
            item = queue.popleft()
            try:
                result = await ask(item)
            except BudgetStop as exc:
                out.errors[item] = ("budget", str(exc), "")
                out.stopped = out.stopped or str(exc)
            except Unusable as exc:
                out.errors[item] = (exc.reason, redact(exc.detail, api_key), redact(exc.raw, api_key))
            except RequestFailed as exc:
                out.errors[item] = (exc.reason, redact(exc.detail, api_key), "")
                if exc.fatal and not out.aborted:
                    out.stopped = redact(f"aborted: {exc.summary}", api_key)
            else:
                out.results[item] = result
                if on_result is not None:
                    on_result(item, result)
            if on_done is not None:
                on_done()

    await asyncio.gather(*(worker() for _ in range(max(1, workers))))
    reason = "aborted" if out.aborted else "budget"
    for item in queue:
        out.errors[item] = (reason, out.stopped, "")
    return out
