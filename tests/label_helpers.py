"""Helpers shared by the label tests and the benchmark smoke test: pairs, a fast judge, key mapping."""

from __future__ import annotations

import json
from dataclasses import replace
from typing import Any

import numpy as np
import pyarrow as pa

from arenapref.label.config import JudgeConfig, load_judge, render_messages
from arenapref.llmclient.cache import request_key
from arenapref.llmclient.offline import pair_key as server_key
from arenapref.records import Battle, battles_table


def make_pairs(n: int, seed: int = 0) -> pa.Table:
    """Battles whose answers differ in length, so the local server's judge has something to decide."""
    rng = np.random.default_rng(seed)
    rows = []
    for i in range(n):
        la, lb = rng.integers(5, 200, size=2)
        rows.append(
            Battle(
                id=f"p{i}",
                prompt=[f"question {i}"],
                response_a=["a" * int(la)],
                response_b=["b" * int(lb)],
                model_a="m1",
                model_b="m2",
            )
        )
    return battles_table(rows)


def fast_judge(base_url: str, **client: Any) -> JudgeConfig:
    """The default judge pointed at the local server, with test-sized timeouts and backoff."""
    config = load_judge("default").with_overrides(base_url=base_url, api_key_env="")
    settings = {"timeout_s": 2.0, "backoff_base_s": 0.005, "backoff_max_s": 0.02, "concurrency": 8} | client
    return replace(config, client=replace(config.client, **settings))


def server_keys(config: JudgeConfig, table: pa.Table) -> dict[str, str]:
    """cache key -> the server's key, for every (pair, order) of ``table``."""
    out = {}
    fp = config.fingerprint()
    for row in table.to_pylist():
        for first, second in ((row["response_a"], row["response_b"]), (row["response_b"], row["response_a"])):
            messages = render_messages(config.template, row["prompt"], first, second)
            out[request_key(fp, json.dumps(messages))] = server_key(messages)
    return out
