"""Label battles with an LLM judge: both orders per pair, cached, budgeted, every pair accounted for.

Flow: each pair becomes two requests, (A, B) and (B, A); identical requests (duplicate pairs) are sent
once; requests already in the cache are not sent at all; the rest go through the shared request loop
(``llmclient.many.complete_many``) over one ``ChatClient``. A request ends as an ``OrderResult`` (cached
at once) or a failure with a reason: ``budget`` (not sent because a cap was reached), ``unparseable``
(no verdict after the allowed re-asks; the raw text is kept), an HTTP/timeout/connection reason after
the retries, or ``aborted`` (the server refused the key or the model, so nothing else could succeed).
"""

from __future__ import annotations

import json
import os
import re
import time
from collections.abc import Callable
from dataclasses import dataclass, field, replace
from typing import Any, TypedDict, Unpack

import numpy as np
import pyarrow as pa

from arenapref.display import NotebookResult
from arenapref.errors import ArenaprefError
from arenapref.label.calibration import CalibrationMap
from arenapref.label.config import JudgeConfig, render_messages
from arenapref.label.output import Failure, assemble
from arenapref.label.parse import Verdict, VerdictError, logprob_probs, mean_probs, parse_verdict, swap
from arenapref.llmclient.aio import run_sync
from arenapref.llmclient.cache import JudgeCache, OrderResult, request_key
from arenapref.llmclient.client import (
    Budget,
    ChatClient,
    Completion,
    estimate_tokens,
    redact,
)
from arenapref.llmclient.many import Unusable, complete_many
from arenapref.llmclient.offline import OFFLINE, Probs
from arenapref.readers import read_battles

RAW_KEEP = 2000
ProgressFn = Callable[[int, int, float], None]


@dataclass
class LabelStats:
    """What a labeling run did and cost (this run only; cached answers cost nothing now)."""

    pairs: int = 0
    labeled: int = 0
    failed: int = 0
    orders_total: int = 0
    orders_cached: int = 0
    orders_sent: int = 0
    http_requests: int = 0
    prompt_tokens: int = 0
    completion_tokens: int = 0
    cost: float = 0.0
    elapsed_s: float = 0.0
    retries: dict[str, int] = field(default_factory=dict)
    failure_reasons: dict[str, int] = field(default_factory=dict)
    stopped: str = ""


@dataclass(repr=False)
class LabelResult(NotebookResult):
    """All input rows (labels null where a pair failed; ``to_arrow``), the failures, the run's figures."""

    table: pa.Table
    failures: list[Failure]
    stats: LabelStats

    def to_arrow(self) -> pa.Table:
        return self.table

    def summary_lines(self) -> list[str]:
        s = self.stats
        out = [
            f"{s.labeled:,} of {s.pairs:,} pairs labeled, {s.failed:,} failed; "
            f"cost ${s.cost:.4f}, {s.http_requests:,} HTTP requests, {s.elapsed_s:.1f} s"
        ]
        if s.failure_reasons:
            out.append(f"failures: {s.failure_reasons}")
        if s.stopped:
            out.append(f"stopped: {s.stopped}")
        return out


ENV_NAME = re.compile(r"[A-Za-z_][A-Za-z0-9_]{0,127}")
# Names shown in messages: conventional upper-case variable names. Anything else might be a pasted key.
SHOWN_NAME = re.compile(r"[A-Z_][A-Z0-9_]{0,63}")


def api_key_from_env(name: str | None) -> str | None:
    """The key held by the environment variable ``name``; None when ``name`` is empty (no key needed).

    ``name`` must be a variable *name*: a value that is not one (``sk-...``, a pasted key) is refused
    without being repeated, so a key given by mistake never reaches the terminal or a log.
    """
    if not name:
        return None
    if not ENV_NAME.fullmatch(name):
        raise ArenaprefError(
            "`api_key_env` takes the NAME of an environment variable that holds the key, and the value "
            "given is not a variable name (it is not shown, in case it is a key); "
            "e.g. export OPENAI_API_KEY=... and pass `api_key_env`=OPENAI_API_KEY"
        )
    shown = name if SHOWN_NAME.fullmatch(name) else "named by `api_key_env` (name not shown)"
    key = os.environ.get(name)
    if not key:
        raise ArenaprefError(
            f"the environment variable {shown} holds no API key; set it, or pass `api_key_env`='' "
            "for a server that needs none"
        )
    return key


def resolve_api_key(config: JudgeConfig) -> str | None:
    """The key from the judge's environment variable (``api_key_env``); None when it needs no key
    (``api_key_env`` empty, or the built-in offline judge)."""
    return None if config.server == OFFLINE else api_key_from_env(config.api_key_env)


@dataclass(frozen=True, slots=True)
class _Job:
    messages: list[dict[str, str]]
    est_tokens: int


class _Usage:
    """Requests, tokens and cost accumulated over the requests of one (pair, order)."""

    def __init__(self) -> None:
        self.requests = 0
        self.prompt_tokens = 0
        self.completion_tokens = 0
        self.cost = 0.0

    def add(self, c: Completion) -> None:
        self.requests += c.attempts
        self.prompt_tokens += c.prompt_tokens
        self.completion_tokens += c.completion_tokens
        self.cost += c.cost


async def _ask(client: ChatClient, config: JudgeConfig, job: _Job, n: int, logprobs: bool) -> Completion:
    body: dict[str, Any] = {
        "model": config.model,
        "temperature": config.sample_temperature if n > 1 else config.temperature,
        "max_tokens": config.max_tokens,
        "n": n,
        **config.extra_body,
    }
    if logprobs:
        body["logprobs"] = True
        body["top_logprobs"] = config.top_logprobs
    body["messages"] = job.messages
    return await client.complete(body, job.est_tokens, config.max_tokens * n)


def _verdicts(
    config: JudgeConfig, completion: Completion
) -> tuple[list[tuple[Verdict, Probs | None]], str, str]:
    """Parsed verdicts (with logprob soft labels when available), the first raw text, the last parse error."""
    parsed: list[tuple[Verdict, Probs | None]] = []
    error = ""
    for ch in completion.choices:
        try:
            v = parse_verdict(ch.text, config.verdicts)
        except VerdictError as exc:
            error = str(exc)
            continue
        soft = logprob_probs(ch.text, ch.logprobs, config.verdicts, v) if config.soft == "logprobs" else None
        parsed.append((v, soft))
    return parsed, completion.choices[0].text, error


async def judge_order(client: ChatClient, config: JudgeConfig, job: _Job) -> OrderResult:
    """One (pair, order): ask, re-ask on unparseable answers, derive soft probabilities."""
    usage = _Usage()
    first_n = config.n_samples if config.soft == "samples" else 1
    raw, error = "", ""
    parsed: list[tuple[Verdict, Probs | None]] = []
    for _ in range(config.parse_retries + 1):
        completion = await _ask(client, config, job, first_n, logprobs=config.soft == "logprobs")
        usage.add(completion)
        parsed, raw, error = _verdicts(config, completion)
        if parsed:
            break
    if not parsed:
        raise Unusable("unparseable", error, raw[:RAW_KEEP])
    mode = config.soft
    if mode == "logprobs" and parsed[0][1] is not None:
        probs: Probs = parsed[0][1]
    elif mode == "logprobs" and config.n_samples > 1:
        # The server sent no usable log-probabilities: fall back to repeated samples.
        more = await _ask(client, config, job, config.n_samples - 1, logprobs=False)
        usage.add(more)
        extra, _, _ = _verdicts(config, more)
        probs, mode = mean_probs([v.probs for v, _ in parsed + extra]), "samples"
    elif mode == "samples":
        probs = mean_probs([v.probs for v, _ in parsed])
    else:
        probs, mode = parsed[0][0].probs, "hard"
    return OrderResult(
        probs=probs,
        verdict=parsed[0][0].label,
        soft=mode,
        raw=raw[:RAW_KEEP],
        prompt_tokens=usage.prompt_tokens,
        completion_tokens=usage.completion_tokens,
        cost=usage.cost,
        n_requests=usage.requests,
    )


class JudgeOptions(TypedDict, total=False):
    """What a judging run is given besides the battles and the judge, the same for every way to run it
    (``ajudge_battles``, ``judge_battles``, ``label.distributed.distributed_judge_battles``).

    ``api_key``: sent as the bearer token (never stored); ``cache``: answers already received (an
    in-memory one when absent); ``budget``: the caps, shared by runs given the same object;
    ``calibration``: a map from ``judge-eval`` applied to the probabilities.
    """

    api_key: str | None
    cache: JudgeCache | None
    budget: Budget | None
    calibration: CalibrationMap | None


async def ajudge_battles(
    table: Any,
    config: JudgeConfig,
    *,
    progress: ProgressFn | None = None,
    workers: int | None = None,
    **options: Unpack[JudgeOptions],
) -> LabelResult:
    """Label every battle of ``table`` with the judge (awaitable); see the module docstring.

    ``table``: battles as a pa.Table (BATTLE_SCHEMA), a path, a pandas/polars DataFrame or a Dataset;
    ``options``: ``JudgeOptions``; ``workers``: requests in flight (default: the judge's concurrency).
    """
    started = time.perf_counter()
    table = read_battles(table)
    cache = options.get("cache")
    if cache is None:
        with JudgeCache(None) as memory:
            in_memory: JudgeOptions = {**options, "cache": memory}
            return await ajudge_battles(table, config, progress=progress, workers=workers, **in_memory)
    api_key, calibration = options.get("api_key"), options.get("calibration")
    given = options.get("budget")
    budget = given if given is not None else Budget()
    cost_before = budget.cost  # a budget may be shared by several runs; report this run's spending
    fingerprint = config.fingerprint()
    rows = table.select(["id", "prompt", "response_a", "response_b"]).to_pylist()
    jobs: dict[str, _Job] = {}
    row_keys: list[tuple[str, str]] = []
    for row in rows:
        prompt, a, b = row["prompt"] or [], row["response_a"] or [], row["response_b"] or []
        keys = []
        for first, second in ((a, b), (b, a)):
            messages = render_messages(config.template, prompt, first, second)
            messages_json = json.dumps(messages)
            key = request_key(fingerprint, messages_json)
            if key not in jobs:
                jobs[key] = _Job(messages, estimate_tokens(messages_json))
            keys.append(key)
        row_keys.append((keys[0], keys[1]))

    results: dict[str, OrderResult] = cache.get_many(jobs)
    stats = LabelStats(pairs=len(rows), orders_total=len(jobs), orders_cached=len(results))
    done = len(results)
    run_cost = 0.0
    if progress is not None:
        progress(done, len(jobs), run_cost)

    def store(key: str, result: OrderResult) -> None:
        nonlocal run_cost
        # The client already cleans bodies; this keeps the rule local to what is stored.
        if api_key and api_key in result.raw:
            result = replace(result, raw=redact(result.raw, api_key))
        results[key] = result
        cache.put(key, fingerprint, result)
        run_cost += result.cost
        stats.orders_sent += 1
        stats.prompt_tokens += result.prompt_tokens
        stats.completion_tokens += result.completion_tokens

    def tick() -> None:
        nonlocal done
        done += 1
        if progress is not None:
            progress(done, len(jobs), run_cost)

    async with ChatClient(config.base_url, api_key, config.client, config.price, budget) as client:
        many = await complete_many(
            [k for k in jobs if k not in results],
            lambda key: judge_order(client, config, jobs[key]),
            workers=workers if workers is not None else config.client.concurrency,
            api_key=api_key,
            on_result=store,
            on_done=tick,
        )
        stats.http_requests = client.stats.attempts
        stats.retries = dict(client.stats.retries)
    stats.stopped = many.stopped
    errors = many.errors
    # Rounded: a budget shared by several runs (eval, then labels) must not add float noise to the figure.
    stats.cost = round(budget.cost - cost_before, 10)
    cache.flush()

    n = len(rows)
    p_ab = np.full((n, 3), np.nan)
    p_ba = np.full((n, 3), np.nan)
    n_requests = np.zeros(n, dtype=np.int64)
    cost = np.zeros(n)
    failures: list[Failure] = []
    for i, (row, (k_ab, k_ba)) in enumerate(zip(rows, row_keys, strict=True)):
        for order, key in (("AB", k_ab), ("BA", k_ba)):
            if key in results:
                r = results[key]
                if order == "AB":
                    p_ab[i] = r.probs
                else:
                    p_ba[i] = swap(r.probs)
                n_requests[i] += r.n_requests
                cost[i] += r.cost
            else:
                reason, detail, raw = errors[key]
                failures.append(Failure(str(row["id"]), i, order, reason, detail, raw))
                stats.failure_reasons[reason] = stats.failure_reasons.get(reason, 0) + 1
    out = assemble(table, p_ab, p_ba, f"judge:{config.name}/{config.model}", n_requests, cost, calibration)
    stats.failed = len({f.row for f in failures})
    stats.labeled = n - stats.failed
    stats.elapsed_s = time.perf_counter() - started
    return LabelResult(out, failures, stats)


def judge_battles(
    table: Any, config: JudgeConfig, *, progress: ProgressFn | None = None, **options: Unpack[JudgeOptions]
) -> LabelResult:
    """Blocking version of ``ajudge_battles`` for scripts, notebooks and the command line.

    Safe inside a running event loop (Jupyter, Kaggle): it then runs on its own loop in a worker thread.
    """
    return run_sync(lambda: ajudge_battles(table, config, progress=progress, **options))
