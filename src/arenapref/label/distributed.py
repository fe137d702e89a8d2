"""Judging on a Ray cluster: worker actors, one global concurrency limit, one budget, one cache.

How the three guarantees hold:

* **Never a request twice.** The driver renders every (pair, order) request and its cache key, and cuts
  the battles into groups such that battles sharing a request key (duplicate pairs, a pair and its swap)
  land in the same group (connected components over keys). Each group goes to one worker actor, whose
  ``ajudge_battles`` sends each key once. Keys already in the cache are looked up **on the driver**
  before dispatch and shipped with the group, so a cached request is never sent.
* **One cache.** The sqlite cache stays on the driver's disk; workers send their new results back, and
  the driver writes them (``JudgeCache.put``) as each worker finishes.
* **One budget.** A coordinator actor holds the ``Budget``. Every request's reservation and settlement in
  every worker goes through it (the same reserve-before-send rule as on one machine), so the sum over the
  cluster never exceeds a cap; once it is exhausted every worker's next reservation fails.
* **One concurrency limit.** The judge's ``client.concurrency`` is split over the workers (shares that
  sum to it), so at most that many requests are in flight across the cluster.

Results (labels, failures, counts) equal a single-process ``judge_battles`` run on the same input and
server: the same requests are sent, and the local server's answers depend only on the request.
"""

from __future__ import annotations

import asyncio
import json
import time
from dataclasses import dataclass, field, replace
from typing import Any, Unpack

import numpy as np
import pyarrow as pa

from arenapref.compare.near import clusters
from arenapref.executors.base import Executor
from arenapref.label.calibration import CalibrationMap
from arenapref.label.config import JudgeConfig, render_messages
from arenapref.label.judge import JudgeOptions, LabelResult, LabelStats, ajudge_battles, judge_battles
from arenapref.llmclient.cache import JudgeCache, OrderResult, request_key
from arenapref.llmclient.client import Budget, BudgetStop


class _ShippedCache(JudgeCache):
    """A worker's view of the driver's cache: the hits it was shipped, and the new results it collects."""

    def __init__(self, hits: dict[str, OrderResult]) -> None:  # no sqlite here: the cache is the driver's
        self.path = None
        self._hits = hits
        self.new: list[tuple[str, str, OrderResult]] = []

    def get_many(self, keys: Any) -> dict[str, OrderResult]:
        return {k: self._hits[k] for k in keys if k in self._hits}

    def put(self, key: str, judge: str, result: OrderResult) -> None:
        self.new.append((key, judge, result))

    def flush(self) -> None:
        """Nothing to flush: the driver writes the results."""

    def close(self) -> None:
        """Nothing to close."""


class BudgetCoordinator:
    """The one budget of a cluster run (a Ray actor): reservations from every worker, in arrival order."""

    def __init__(self, budget: Budget) -> None:
        self.budget = budget

    def reserve(self, tokens: int, cost: float) -> str:
        """Reserve, or return why not (the exhausted message)."""
        try:
            self.budget.reserve(tokens, cost)
        except BudgetStop as exc:
            return str(exc)
        return ""

    def settle(self, reserved_tokens: int, reserved_cost: float, tokens: int, cost: float) -> None:
        self.budget.settle(reserved_tokens, reserved_cost, tokens, cost)

    def state(self) -> Budget:
        return self.budget


@dataclass
class _SharedBudget(Budget):
    """A worker's budget: caps are checked by the coordinator; the local fields count this worker only."""

    coordinator: Any = field(default=None, repr=False)

    def reserve(self, tokens: int, cost: float) -> None:
        import ray

        why: str = ray.get(self.coordinator.reserve.remote(tokens, cost))
        if why:
            self.exhausted = why
            raise BudgetStop(why)
        super().reserve(tokens, cost)

    def settle(self, reserved_tokens: int, reserved_cost: float, tokens: int, cost: float) -> None:
        # Actor calls from one caller run in submission order, so a settle precedes this worker's next
        # reserve; not waiting for it keeps the round trip off the request path.
        self.coordinator.settle.remote(reserved_tokens, reserved_cost, tokens, cost)
        super().settle(reserved_tokens, reserved_cost, tokens, cost)


@dataclass
class GroupResult:
    """What a worker sends back: its labeled rows, figures, and the new cache entries."""

    result: LabelResult
    new_cache: list[tuple[str, str, OrderResult]]


class JudgeWorker:
    """A Ray actor that labels groups of battles with its share of the global concurrency."""

    def label(
        self,
        table: pa.Table,
        config: JudgeConfig,
        api_key: str | None,
        hits: dict[str, OrderResult],
        concurrency: int,
        coordinator: Any,
        calibration: CalibrationMap | None,
    ) -> GroupResult:
        cache = _ShippedCache(hits)
        budget = _SharedBudget(coordinator=coordinator)
        result = asyncio.run(
            ajudge_battles(
                table,
                config,
                api_key=api_key,
                cache=cache,
                budget=budget,
                calibration=calibration,
                workers=concurrency,
            )
        )
        return GroupResult(result, cache.new)


def request_groups(table: pa.Table, config: JudgeConfig) -> tuple[np.ndarray, list[str]]:
    """Group label of each battle (battles sharing a request key share a group), and every key."""
    fingerprint = config.fingerprint()
    rows = table.select(["prompt", "response_a", "response_b"]).to_pylist()
    code: dict[str, int] = {}
    a = np.zeros(len(rows), dtype=np.int64)
    b = np.zeros(len(rows), dtype=np.int64)
    for i, row in enumerate(rows):
        prompt, ra, rb = row["prompt"] or [], row["response_a"] or [], row["response_b"] or []
        for side, (first, second) in enumerate(((ra, rb), (rb, ra))):
            key = request_key(
                fingerprint, json.dumps(render_messages(config.template, prompt, first, second))
            )
            (a if side == 0 else b)[i] = code.setdefault(key, len(code))
    n = len(rows)
    # Battles and keys as one graph: battle i is node i, key k is node n + k.
    nodes = np.arange(n, dtype=np.int64)
    labels = clusters(n + len(code), np.concatenate([nodes, nodes]), np.concatenate([a, b]) + n)
    return labels[:n], list(code)


def _shares(total: int, parts: int) -> list[int]:
    """``total`` split into ``parts`` positive shares (fewer parts when total is smaller)."""
    parts = max(1, min(parts, total))
    return [total // parts + (1 if k < total % parts else 0) for k in range(parts)]


def distributed_judge_battles(
    executor: Executor,
    table: pa.Table,
    config: JudgeConfig,
    *,
    workers: int | None = None,
    **options: Unpack[JudgeOptions],
) -> LabelResult:
    """``label.judge_battles`` spread over Ray worker actors (see the module docstring).

    With the local executor this is ``judge_battles`` itself. ``options``: ``label.judge.JudgeOptions``;
    ``workers`` is the number of worker actors (the cluster's CPUs by default, at most the judge's
    concurrency).
    """
    if executor.name != "ray":
        return judge_battles(table, config, **options)
    import ray

    from arenapref.executors.ray_executor import get_result

    started = time.perf_counter()
    api_key, calibration = options.get("api_key"), options.get("calibration")
    given = options.get("budget")
    budget = given if given is not None else Budget()
    given_cache = options.get("cache")
    own_cache = given_cache is None
    cache = given_cache if given_cache is not None else JudgeCache(None)
    try:
        groups, keys = request_groups(table, config)
        hits = cache.get_many(keys)
        shares = _shares(max(1, config.client.concurrency), workers or executor.workers)
        n_workers = len(shares)
        # Whole groups to workers, largest first onto the least loaded worker: balanced and deterministic.
        sizes = np.bincount(groups) if len(groups) else np.zeros(0, np.int64)
        load = np.zeros(n_workers, dtype=np.int64)
        worker_of_group = np.zeros(len(sizes), dtype=np.int64)
        for g in np.argsort(-sizes, kind="stable"):
            w = int(np.argmin(load))
            worker_of_group[g] = w
            load[w] += sizes[g]
        worker_of_row = worker_of_group[groups] if len(groups) else np.zeros(0, np.int64)
        coordinator: Any = ray.remote(BudgetCoordinator).remote(budget)
        actor_cls: Any = ray.remote(JudgeWorker)
        pending = {}
        row_sets = {}
        for w, share in enumerate(shares):
            rows = np.flatnonzero(worker_of_row == w)
            if not len(rows):
                continue
            part = table.take(pa.array(rows, pa.int64()))
            part_keys = request_groups(part, config)[1]
            part_hits = {k: hits[k] for k in part_keys if k in hits}
            actor: Any = actor_cls.remote()
            ref = actor.label.remote(part, config, api_key, part_hits, share, coordinator, calibration)
            pending[ref] = w
            row_sets[w] = rows
        results: dict[int, LabelResult] = {}
        remaining = list(pending)
        while remaining:
            done, remaining = ray.wait(remaining, num_returns=1)
            got: GroupResult = get_result(done[0])
            for key, judge, res in got.new_cache:
                cache.put(key, judge, res)
            results[pending[done[0]]] = got.result
        final: Budget = ray.get(coordinator.state.remote())
        for name in ("requests", "tokens", "cost", "reserved_tokens", "reserved_cost", "exhausted"):
            setattr(budget, name, getattr(final, name))
        cache.flush()
        return _merge(table, results, row_sets, len(hits), len(keys), time.perf_counter() - started)
    finally:
        if own_cache:
            cache.close()


def _merge(
    table: pa.Table,
    results: dict[int, LabelResult],
    row_sets: dict[int, np.ndarray],
    cached: int,
    total_keys: int,
    seconds: float,
) -> LabelResult:
    """The workers' results as one, rows back in input order."""
    order = sorted(results)
    rows = np.concatenate([row_sets[w] for w in order]) if order else np.zeros(0, np.int64)
    if order:
        merged = pa.concat_tables([results[w].table for w in order])
        back = np.empty(len(rows), dtype=np.int64)
        back[rows] = np.arange(len(rows))
        out = merged.take(pa.array(back, pa.int64()))
    else:
        out = table
    stats = LabelStats(pairs=table.num_rows, orders_total=total_keys, orders_cached=cached)
    failures = []
    for w in order:
        r = results[w]
        s = r.stats
        stats.orders_sent += s.orders_sent
        stats.http_requests += s.http_requests
        stats.prompt_tokens += s.prompt_tokens
        stats.completion_tokens += s.completion_tokens
        stats.cost += s.cost
        for reason, n in s.retries.items():
            stats.retries[reason] = stats.retries.get(reason, 0) + n
        for reason, n in s.failure_reasons.items():
            stats.failure_reasons[reason] = stats.failure_reasons.get(reason, 0) + n
        stats.stopped = stats.stopped or s.stopped
        failures += [replace(f, row=int(row_sets[w][f.row])) for f in r.failures]
    failures.sort(key=lambda f: (f.row, f.order))
    stats.failed = len({f.row for f in failures})
    stats.labeled = table.num_rows - stats.failed
    stats.elapsed_s = seconds
    return LabelResult(out, failures, stats)
