"""A local OpenAI-compatible judge server on 127.0.0.1, for tests, the benchmark and the demo.

It speaks real HTTP (``POST /v1/chat/completions`` with ``n``, ``logprobs``/``top_logprobs`` and ``usage``)
so the client is exercised exactly as against vLLM or OpenAI, with no patched functions. It can add
latency and inject every failure the client must survive: 429 with Retry-After, 500, hangs past the
client's timeout, dropped connections, malformed JSON and answers without a verdict; and, as a whole-server
``mode``, the broken servers of the fault suite (an HTML page, 400 on everything, no ``choices``, a hang,
a verdict that echoes the Authorization header).

Its "judge" is a simple, deterministic (by seed) rule so that agreement and calibration have something
real to measure: the longer conversation tends to win, the answer shown first gets a bonus (position
bias), and each (pair, order) carries its own noise. It counts requests per (pair, order) — keyed by
a hash of the user message, see ``request_key`` — so tests can assert that a resumed run resent nothing.

Run standalone: ``python -m arenapref.testing.judge_server --latency 0.1 --fault-rate 0.05`` (or
``--mode html``) prints
``PORT <n>`` and serves until killed, its parent exits, or ``--lifetime`` seconds pass.
"""

from __future__ import annotations

import argparse
import asyncio
import hashlib
import json
import math
import os
import random
import re
import subprocess
import sys
import threading
import urllib.request
from collections import Counter
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from aiohttp import web

FAULT_KINDS = ("429", "500", "timeout", "drop", "malformed", "noverdict")
# Whole-server behaviours for the fault suite: every request gets the same broken answer.
# "html": a 200 with an HTML page (a proxy's login page); "400": every request refused; "nochoices": JSON
# with an empty choices list; "hang": no answer for hang_s; "echo-key": a normal verdict whose text
# repeats the Authorization header it received (the client must scrub the key before storing anything).
MODES = ("normal", "html", "400", "nochoices", "hang", "echo-key")
HTML_PAGE = "<!DOCTYPE html><html><head><title>Sign in</title></head><body>Please sign in.</body></html>"
BLOCK_RE = {
    side: re.compile(
        rf"=== Conversation with assistant {side} ===\n(.*?)\n"
        rf"=== End of conversation with assistant {side} ===",
        re.DOTALL,
    )
    for side in "AB"
}
LABELS = ("A", "B", "C")
FIVE_LEVEL = {"A": ("A>B", "A>>B"), "B": ("B>A", "B>>A"), "C": ("A=B", "A=B")}


@dataclass
class ServerSettings:
    """Behaviour of the local judge server; every random choice is seeded by ``seed``."""

    latency_s: float = 0.0
    seed: int = 0
    fault_rate: float = 0.0
    fault_kinds: tuple[str, ...] = FAULT_KINDS
    # Faults only on the first k attempts of each (pair, order); 0 = on any attempt.
    fault_attempts: int = 0
    retry_after_s: float = 0.05
    hang_s: float = 2.0
    logprobs: bool = True
    length_weight: float = 1.5
    position_bias: float = 0.4
    noise: float = 0.6
    tie_logit: float = 0.3
    api_key: str | None = None
    lifetime_s: float = 3600.0
    mode: str = "normal"

    def __post_init__(self) -> None:
        if self.mode not in MODES:
            raise ValueError(f"unknown server mode {self.mode!r}; one of {', '.join(MODES)}")


def request_key(messages: list[dict[str, Any]]) -> str:
    """The server's identity of a (pair, order): a hash of the last user message's text."""
    user = [m.get("content") or "" for m in messages if m.get("role") == "user"]
    text = str(user[-1]) if user else ""
    return hashlib.sha256(text.encode("utf-8", "surrogatepass")).hexdigest()[:20]


def _rng(*parts: object) -> random.Random:
    return random.Random(hashlib.sha256(":".join(map(str, parts)).encode()).digest())


def judge_probs(text: str, settings: ServerSettings, key: str) -> tuple[float, float, float]:
    """The server judge's (P(A), P(B), P(tie)) for the answers as shown in ``text``."""
    found = [BLOCK_RE[side].search(text) for side in "AB"]
    blocks = [m.group(1) if m is not None else "" for m in found]
    d = settings.length_weight * math.log((len(blocks[0]) + 1) / (len(blocks[1]) + 1))
    d += settings.position_bias + _rng(settings.seed, key, "noise").gauss(0.0, settings.noise)
    z = (d, -d, settings.tie_logit - 0.5 * abs(d))
    m = max(z)
    e = [math.exp(v - m) for v in z]
    s = sum(e)
    return (e[0] / s, e[1] / s, e[2] / s)


class JudgeServer:
    """The aiohttp application and its counters (one instance per running server)."""

    def __init__(self, settings: ServerSettings) -> None:
        self.settings = settings
        self.by_key: Counter[str] = Counter()
        self.completed: Counter[str] = Counter()
        self.faults: Counter[str] = Counter()
        self.total = 0
        self.app = web.Application(client_max_size=64 * 1024 * 1024)
        self.app.router.add_post("/v1/chat/completions", self.chat)
        self.app.router.add_get("/stats", self.stats)

    async def stats(self, request: web.Request) -> web.Response:
        data: dict[str, Any] = {"total": self.total, "faults": dict(self.faults)}
        if request.query.get("summary") != "1":
            data |= {"by_key": dict(self.by_key), "completed": dict(self.completed)}
        return web.json_response(data)

    def _fault(self, key: str, attempt: int) -> str | None:
        s = self.settings
        if s.fault_rate <= 0 or (s.fault_attempts and attempt >= s.fault_attempts):
            return None
        rng = _rng(s.seed, key, attempt, "fault")
        return rng.choice(s.fault_kinds) if rng.random() < s.fault_rate else None

    async def chat(self, request: web.Request) -> web.StreamResponse:
        s = self.settings
        if s.api_key is not None and request.headers.get("Authorization") != f"Bearer {s.api_key}":
            # Echo what was sent, as some servers do: the client must redact it.
            given = request.headers.get("Authorization", "")
            return web.json_response({"error": {"message": f"invalid api key: {given}"}}, status=401)
        try:
            body = json.loads(await request.read())
            messages = body["messages"]
            model = str(body["model"])
        except (ValueError, KeyError, TypeError):
            return web.json_response({"error": {"message": "bad request"}}, status=400)
        key = request_key(messages)
        attempt = self.by_key[key]
        self.by_key[key] += 1
        self.total += 1
        fault = self._fault(key, attempt)
        if fault is not None:
            self.faults[fault] += 1
        if s.latency_s > 0:
            await asyncio.sleep(s.latency_s)
        if s.mode == "html":
            return web.Response(text=HTML_PAGE, content_type="text/html")
        if s.mode == "400":
            return web.json_response({"error": {"message": "unsupported parameter: logprobs"}}, status=400)
        if s.mode == "nochoices":
            return web.json_response({"id": "x", "object": "chat.completion", "choices": []})
        if s.mode == "hang":
            await asyncio.sleep(s.hang_s)
        if fault == "429":
            return web.json_response(
                {"error": {"message": "rate limited"}},
                status=429,
                headers={"Retry-After": f"{s.retry_after_s:g}"},
            )
        if fault == "500":
            return web.json_response({"error": {"message": "internal error"}}, status=500)
        if fault == "timeout":
            await asyncio.sleep(s.hang_s)
        if fault == "drop":
            if request.transport is not None:
                request.transport.abort()
            return web.Response(status=500)
        if fault == "malformed":
            return web.Response(text='{"id": "x", "choices": [{"message": ', content_type="application/json")
        text = str(messages[-1].get("content") or "")
        five_level = "[[A>>B]]" in text
        probs = judge_probs(text, s, key)
        n = max(1, min(int(body.get("n") or 1), 16))
        temperature = float(body.get("temperature") or 0.0)
        want_logprobs = bool(body.get("logprobs")) and s.logprobs
        top_k = max(1, min(int(body.get("top_logprobs") or 1), 20))
        rng = _rng(s.seed, key, attempt, "sample")
        choices = []
        completion_tokens = 0
        for i in range(n):
            if fault == "noverdict":
                content, tokens, label = "Both answers have merits and I cannot pick one.", None, None
            else:
                if temperature <= 0:
                    label = LABELS[max(range(3), key=lambda k: probs[k])]
                else:
                    label = rng.choices(LABELS, weights=probs)[0]
                reason = (
                    f"Assistant {label} addresses the request more fully."
                    if label != "C"
                    else "They are close."
                )
                if s.mode == "echo-key":
                    reason = f"Request received with {request.headers.get('Authorization', '')}. {reason}"
                verdict = label
                if five_level:  # a prompt asking for A>>B ... B>>A verdicts gets one
                    verdict = FIVE_LEVEL[label][int(probs[LABELS.index(label)] > 0.8)]
                tokens = [*(w + " " for w in reason.split()), "\n", "[[", verdict, "]]"]
                content = "".join(tokens)
            completion_tokens += len(content.split()) + 3
            choice: dict[str, Any] = {
                "index": i,
                "message": {"role": "assistant", "content": content},
                "finish_reason": "stop",
            }
            if want_logprobs and tokens is not None and not five_level:
                choice["logprobs"] = {"content": _logprob_content(tokens, label, probs, top_k)}
            choices.append(choice)
        if fault is None:
            self.completed[key] += 1
        prompt_tokens = sum(len(str(m.get("content") or "")) for m in messages) // 4 + 1
        return web.json_response(
            {
                "id": f"chatcmpl-{key}-{attempt}",
                "object": "chat.completion",
                "created": 0,
                "model": model,
                "choices": choices,
                "usage": {
                    "prompt_tokens": prompt_tokens,
                    "completion_tokens": completion_tokens,
                    "total_tokens": prompt_tokens + completion_tokens,
                },
            }
        )


def _logprob_content(
    tokens: list[str], label: str | None, probs: tuple[float, float, float], top_k: int
) -> list[dict[str, Any]]:
    out: list[dict[str, Any]] = []
    for token in tokens:
        if token == label and len(out) == len(tokens) - 2:
            alts = sorted(zip(LABELS, probs, strict=True), key=lambda t: -t[1])[:top_k]
            top = [{"token": t, "logprob": math.log(max(p, 1e-300)), "bytes": None} for t, p in alts]
            chosen = math.log(max(probs[LABELS.index(label)], 1e-300))
            out.append({"token": token, "logprob": chosen, "bytes": None, "top_logprobs": top})
        else:
            out.append({"token": token, "logprob": 0.0, "bytes": None, "top_logprobs": []})
    return out


async def _serve(settings: ServerSettings, port: int = 0) -> tuple[web.AppRunner, int]:
    server = JudgeServer(settings)
    runner = web.AppRunner(server.app, access_log=None, handle_signals=False)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", port, backlog=1024)
    await site.start()
    sockets = site._server.sockets if site._server is not None else []  # type: ignore[attr-defined]
    return runner, int(sockets[0].getsockname()[1])


@dataclass
class RunningServer:
    """A started server: its base URL, its counters (over HTTP) and how to stop it."""

    base_url: str
    _stop: Any = field(repr=False)

    def stats(self, summary: bool = False) -> dict[str, Any]:
        """Request counters: total, faults injected and (unless ``summary``) by_key and completed."""
        url = self.base_url.removesuffix("/v1") + "/stats" + ("?summary=1" if summary else "")
        with urllib.request.urlopen(url, timeout=30) as resp:
            data: dict[str, Any] = json.loads(resp.read())
        return data

    def close(self) -> None:
        self._stop()

    def __enter__(self) -> RunningServer:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


def serve_in_thread(settings: ServerSettings | None = None) -> RunningServer:
    """Start the server on its own event loop in a daemon thread (tests: no process start-up cost)."""
    settings = settings or ServerSettings()
    loop = asyncio.new_event_loop()
    ready = threading.Event()
    box: dict[str, Any] = {}

    def run() -> None:
        asyncio.set_event_loop(loop)
        runner, port = loop.run_until_complete(_serve(settings))
        box["runner"], box["port"] = runner, port
        ready.set()
        loop.call_later(settings.lifetime_s, loop.stop)
        loop.run_forever()
        loop.run_until_complete(runner.cleanup())
        loop.close()

    thread = threading.Thread(target=run, name="arenapref-judge-server", daemon=True)
    thread.start()
    if not ready.wait(30):
        raise RuntimeError("the local judge server did not start")

    def stop() -> None:
        if loop.is_running():
            loop.call_soon_threadsafe(loop.stop)
        thread.join(timeout=10)

    return RunningServer(f"http://127.0.0.1:{box['port']}/v1", stop)


def serve_in_subprocess(settings: ServerSettings | None = None) -> RunningServer:
    """Start the server in a child process (benchmarks: it gets its own core and GIL)."""
    settings = settings or ServerSettings()
    # Run the file itself, not the module: the package __init__ would import pyarrow, numpy, scipy.
    cmd = [sys.executable, str(Path(__file__).resolve()), "--settings", json.dumps(asdict(settings))]
    proc = subprocess.Popen(cmd, stdout=subprocess.PIPE, stdin=subprocess.DEVNULL, text=True)
    assert proc.stdout is not None
    line = proc.stdout.readline().strip()
    if not line.startswith("PORT "):
        proc.kill()
        raise RuntimeError(f"the local judge server did not start (said {line!r})")

    def stop() -> None:
        proc.terminate()
        try:
            proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()

    return RunningServer(f"http://127.0.0.1:{int(line.split()[1])}/v1", stop)


async def _main_async(settings: ServerSettings, port: int) -> None:
    runner, bound = await _serve(settings, port)
    print(f"PORT {bound}", flush=True)
    parent = os.getppid()
    loop = asyncio.get_running_loop()
    deadline = loop.time() + settings.lifetime_s
    while loop.time() < deadline and os.getppid() == parent:
        await asyncio.sleep(0.5)
    await runner.cleanup()


def main(argv: list[str] | None = None) -> None:
    """Serve until killed, until the parent process exits, or until the lifetime runs out."""
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    ap.add_argument("--port", type=int, default=0)
    ap.add_argument("--settings", default="{}", help="ServerSettings as JSON")
    ap.add_argument("--latency", type=float, default=None)
    ap.add_argument("--fault-rate", type=float, default=None)
    ap.add_argument("--seed", type=int, default=None)
    ap.add_argument("--lifetime", type=float, default=None)
    ap.add_argument("--mode", choices=MODES, default=None)
    args = ap.parse_args(argv)
    data = json.loads(args.settings)
    for name, value in (
        ("latency_s", args.latency),
        ("fault_rate", args.fault_rate),
        ("seed", args.seed),
        ("lifetime_s", args.lifetime),
        ("mode", args.mode),
    ):
        if value is not None:
            data[name] = value
    if "fault_kinds" in data:
        data["fault_kinds"] = tuple(data["fault_kinds"])
    asyncio.run(_main_async(ServerSettings(**data), args.port))


if __name__ == "__main__":
    main()
