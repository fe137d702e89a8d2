"""Benchmark of the judge client against the local OpenAI-compatible server (arenapref.testing.judge_server).

Run:  .venv/bin/python bench/bench_judge.py --pairs 10000 --latency 0.1 --concurrency 64

Four measurements, each against a fresh server in its own process (so it has its own core and GIL):

1. throughput: label --pairs pairs in both orders (2 x pairs requests), no faults; requests/s against the
   ideal concurrency / latency;
2. side by side: on --reference-pairs pairs and one server, our client and then a plain reference client
   (a thread pool of ``concurrency`` threads calling urllib, one connection per request, no retries, no
   cache, no verdict parsing); requests/s and client CPU per request of both;
3. faults: --fault-rate of requests fail (429 + Retry-After, 500, hang past the timeout, dropped
   connection, malformed JSON, verdict-less text); every pair must end labeled or in the failures list
   with its reason;
4. kill and resume: a child process labels with a SQLite cache and is SIGKILLed once the server has seen
   half of the requests; the rerun must send no request for a (pair, order) the cache holds.
"""

from __future__ import annotations

import argparse
import json
import resource
import signal
import subprocess
import sys
import tempfile
import time
import urllib.request
from concurrent.futures import ThreadPoolExecutor
from dataclasses import replace
from pathlib import Path
from typing import Any

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq

from arenapref.label.config import JudgeConfig, load_judge, render_messages
from arenapref.label.judge import judge_battles
from arenapref.llmclient.cache import JudgeCache, request_key
from arenapref.llmclient.offline import pair_key as server_key
from arenapref.records import Battle, battles_table
from arenapref.testing.judge_server import ServerSettings, serve_in_subprocess

WORDS = [
    "the",
    "model",
    "answer",
    "explains",
    "a",
    "careful",
    "step",
    "by",
    "step",
    "solution",
    "with",
    "examples",
    "and",
    "caveats",
]


def make_pairs(n: int, seed: int = 0) -> pa.Table:
    """Synthetic battles, answers of 100-1500 characters, so requests are about 1-3 kB like real ones."""
    rng = np.random.default_rng(seed)
    rows = []
    for i in range(n):
        la, lb = rng.integers(15, 220, size=2)
        rows.append(
            Battle(
                id=f"b{i}",
                prompt=[f"Question {i}: " + " ".join(rng.choice(WORDS, 12))],
                response_a=[" ".join(rng.choice(WORDS, int(la)))],
                response_b=[" ".join(rng.choice(WORDS, int(lb)))],
            )
        )
    return battles_table(rows)


def bench_judge(base_url: str, concurrency: int, timeout_s: float) -> JudgeConfig:
    """The default judge, pointed at the local server, with timeouts and backoff sized for a benchmark."""
    config = load_judge("default").with_overrides(base_url=base_url, api_key_env="", concurrency=concurrency)
    client = replace(config.client, timeout_s=timeout_s, backoff_base_s=0.05, backoff_max_s=1.0)
    return replace(config, client=client)


def cpu_seconds() -> float:
    """CPU time of this process (all threads): a figure that a loaded machine does not distort much."""
    r = resource.getrusage(resource.RUSAGE_SELF)
    return r.ru_utime + r.ru_stime


def _time_ours(table: pa.Table, base_url: str, latency: float, concurrency: int) -> dict[str, Any]:
    config = bench_judge(base_url, concurrency, timeout_s=30.0)
    cpu0, started = cpu_seconds(), time.perf_counter()
    result = judge_battles(table, config)
    wall, cpu = time.perf_counter() - started, cpu_seconds() - cpu0
    rate = result.stats.orders_sent / wall
    return {
        "requests": result.stats.orders_sent,
        "wall_s": wall,
        "req_per_s": rate,
        "share_of_ideal": rate * latency / concurrency,
        "client_cpu_ms_per_request": 1000 * cpu / max(result.stats.orders_sent, 1),
        "labeled": result.stats.labeled,
    }


def _time_reference(table: pa.Table, base_url: str, latency: float, concurrency: int) -> dict[str, Any]:
    """A plain client: thread pool + urllib, same requests (both orders), no retries, no cache."""
    config = load_judge("default")
    bodies = []
    for row in table.to_pylist():
        for first, second in ((row["response_a"], row["response_b"]), (row["response_b"], row["response_a"])):
            messages = render_messages(config.template, row["prompt"], first, second)
            body = {"model": config.model, "messages": messages, "temperature": 0.0, "max_tokens": 400}
            bodies.append(json.dumps(body | {"logprobs": True, "top_logprobs": 5}).encode())
    url = base_url + "/chat/completions"

    def one(body: bytes) -> str:
        req = urllib.request.Request(url, data=body, headers={"Content-Type": "application/json"})
        with urllib.request.urlopen(req, timeout=30) as resp:
            return str(json.loads(resp.read())["choices"][0]["message"]["content"])

    cpu0, started = cpu_seconds(), time.perf_counter()
    with ThreadPoolExecutor(concurrency) as pool:
        answers = list(pool.map(one, bodies))
    wall, cpu = time.perf_counter() - started, cpu_seconds() - cpu0
    rate = len(answers) / wall
    return {
        "requests": len(answers),
        "wall_s": wall,
        "req_per_s": rate,
        "share_of_ideal": rate * latency / concurrency,
        "client_cpu_ms_per_request": 1000 * cpu / max(len(answers), 1),
    }


def run_ours(table: pa.Table, latency: float, concurrency: int) -> dict[str, Any]:
    """Full-size throughput of the arenapref client against a fresh server."""
    with serve_in_subprocess(ServerSettings(latency_s=latency)) as server:
        figures = _time_ours(table, server.base_url, latency, concurrency)
        figures["server_saw"] = server.stats(summary=True)["total"]
    return figures


def run_side_by_side(table: pa.Table, latency: float, concurrency: int) -> dict[str, Any]:
    """Ours and the plain reference on the same pairs and the same server, one after the other."""
    with serve_in_subprocess(ServerSettings(latency_s=latency)) as server:
        ours = _time_ours(table, server.base_url, latency, concurrency)
        reference = _time_reference(table, server.base_url, latency, concurrency)
    return {
        "ours": ours,
        "reference": reference,
        "speedup": ours["req_per_s"] / reference["req_per_s"],
        "cpu_per_request_ratio": ours["client_cpu_ms_per_request"] / reference["client_cpu_ms_per_request"],
    }


def run_faults(table: pa.Table, latency: float, concurrency: int, rate: float) -> dict[str, Any]:
    timeout = max(0.5, 10 * latency)  # a hang is noticed after ten normal latencies
    settings = ServerSettings(
        latency_s=latency, fault_rate=rate, retry_after_s=0.5, hang_s=2 * timeout, seed=11
    )
    with serve_in_subprocess(settings) as server:
        config = bench_judge(server.base_url, concurrency, timeout_s=timeout)
        started = time.perf_counter()
        result = judge_battles(table, config)
        wall = time.perf_counter() - started
        faults = server.stats(summary=True)["faults"]
    failed_rows = {f.row for f in result.failures}
    labeled = int(np.asarray(result.table.column("p_a").is_valid()).sum())
    accounted = labeled + len(failed_rows) == table.num_rows and all(f.reason for f in result.failures)
    return {
        "pairs": table.num_rows,
        "labeled": labeled,
        "failed_pairs": len(failed_rows),
        "failure_reasons": result.stats.failure_reasons,
        "faults_injected": faults,
        "retries": result.stats.retries,
        "http_requests": result.stats.http_requests,
        "wall_s": wall,
        "every_pair_accounted_for": accounted,
    }


CHILD = """
import sys
import pyarrow.parquet as pq
sys.path.insert(0, sys.argv[5])
from bench_judge import bench_judge
from arenapref.llmclient.cache import JudgeCache
from arenapref.label.judge import judge_battles
config = bench_judge(sys.argv[1], int(sys.argv[4]), 30.0)
judge_battles(pq.read_table(sys.argv[2]), config, cache=JudgeCache(sys.argv[3]))
print("finished", flush=True)
"""


def run_kill_resume(table: pa.Table, latency: float, concurrency: int, workdir: Path) -> dict[str, Any]:
    pairs_path = workdir / "pairs.parquet"
    cache_path = workdir / "cache.sqlite"
    pq.write_table(table, pairs_path)
    total = 2 * table.num_rows
    with serve_in_subprocess(ServerSettings(latency_s=latency, seed=3)) as server:
        argv = [
            sys.executable,
            "-c",
            CHILD,
            server.base_url,
            str(pairs_path),
            str(cache_path),
            str(concurrency),
        ]
        proc = subprocess.Popen([*argv, str(Path(__file__).parent)], stdout=subprocess.PIPE, text=True)
        deadline = time.monotonic() + 600
        while server.stats(summary=True)["total"] < total // 2 and proc.poll() is None:
            if time.monotonic() > deadline:
                break
            time.sleep(0.02)
        proc.send_signal(signal.SIGKILL)
        out, _ = proc.communicate()
        killed = "finished" not in out
        with JudgeCache(cache_path) as cache:
            done = cache.keys()
        before = server.stats()["by_key"]
        config = bench_judge(server.base_url, concurrency, 30.0)
        with JudgeCache(cache_path) as cache:
            started = time.perf_counter()
            result = judge_battles(table, config, cache=cache)
            wall = time.perf_counter() - started
        after = server.stats()["by_key"]
    fp = config.fingerprint()
    keys = {}
    for row in table.to_pylist():
        for first, second in ((row["response_a"], row["response_b"]), (row["response_b"], row["response_a"])):
            messages = render_messages(config.template, row["prompt"], first, second)
            keys[request_key(fp, json.dumps(messages))] = server_key(messages)
    resent = sum(1 for k in done if after.get(keys[k], 0) != before.get(keys[k], 0))
    sent_before = sum(before.values())
    return {
        "killed_half_way": killed,
        "requests_before_kill": sent_before,
        "completed_in_cache": len(done),
        "in_flight_lost": sent_before - len(done),
        "rerun_requests": sum(after.values()) - sent_before,
        "rerun_cache_hits": result.stats.orders_cached,
        "completed_requests_resent": resent,
        "labeled_after_rerun": result.stats.labeled,
        "rerun_wall_s": wall,
    }


def main(argv: list[str] | None = None) -> dict[str, Any]:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    ap.add_argument("--pairs", type=int, default=10_000)
    ap.add_argument("--reference-pairs", type=int, default=1_000)
    ap.add_argument("--latency", type=float, default=0.1)
    ap.add_argument("--concurrency", type=int, default=64)
    ap.add_argument("--fault-rate", type=float, default=0.05)
    ap.add_argument("--skip", nargs="*", default=[], choices=["throughput", "reference", "faults", "kill"])
    args = ap.parse_args(argv)
    table = make_pairs(args.pairs)
    figures: dict[str, Any] = {
        "pairs": args.pairs,
        "latency_s": args.latency,
        "concurrency": args.concurrency,
    }
    if "throughput" not in args.skip:
        figures["throughput"] = run_ours(table, args.latency, args.concurrency)
    if "reference" not in args.skip:
        subset = table.slice(0, min(args.reference_pairs, args.pairs))
        figures["side_by_side"] = run_side_by_side(subset, args.latency, args.concurrency)
    if "faults" not in args.skip:
        figures["faults"] = run_faults(table, args.latency, args.concurrency, args.fault_rate)
    if "kill" not in args.skip:
        with tempfile.TemporaryDirectory() as tmp:
            figures["kill_resume"] = run_kill_resume(table, args.latency, args.concurrency, Path(tmp))
    print(json.dumps(figures, indent=2, default=float))
    return figures


if __name__ == "__main__":
    main()
