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
a hash of the user message, see ``pair_key`` — so tests can assert that a resumed run resent nothing.

Run standalone: ``python -m arenapref.testing.judge_server --latency 0.1 --fault-rate 0.05`` (or
``--mode html``) prints
``PORT <n>`` and serves until killed, its parent exits, or ``--lifetime`` seconds pass.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import subprocess
import sys
import threading
import urllib.request
from collections import Counter
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from aiohttp import web

from arenapref.llmclient.offline import OfflineRule, pair_key, reply, seeded

FAULT_KINDS = ("429", "500", "timeout", "drop", "malformed", "noverdict")
# Whole-server behaviours for the fault suite: every request gets the same broken answer.
# "html": a 200 with an HTML page (a proxy's login page); "400": every request refused; "nochoices": JSON
# with an empty choices list; "hang": no answer for hang_s; "echo-key": a normal verdict whose text
# repeats the Authorization header it received (the client must scrub the key before storing anything).
MODES = ("normal", "html", "400", "nochoices", "hang", "echo-key")
HTML_PAGE = "<!DOCTYPE html><html><head><title>Sign in</title></head><body>Please sign in.</body></html>"


@dataclass
class ServerSettings(OfflineRule):
    """Behaviour of the local judge server: the offline rule, latency and faults (seeded by ``seed``)."""

    latency_s: float = 0.0
    fault_rate: float = 0.0
    fault_kinds: tuple[str, ...] = FAULT_KINDS
    # Faults only on the first k attempts of each (pair, order); 0 = on any attempt.
    fault_attempts: int = 0
    retry_after_s: float = 0.05
    hang_s: float = 2.0
    api_key: str | None = None
    lifetime_s: float = 3600.0
    mode: str = "normal"

    def __post_init__(self) -> None:
        if self.mode not in MODES:
            raise ValueError(f"unknown server mode {self.mode!r}; one of {', '.join(MODES)}")


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
        rng = seeded(s.seed, key, attempt, "fault")
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
            str(body["model"])
        except (ValueError, KeyError, TypeError):
            return web.json_response({"error": {"message": "bad request"}}, status=400)
        key = pair_key(messages)
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
        auth = request.headers.get("Authorization", "")
        prefix = f"Request received with {auth}. " if s.mode == "echo-key" else ""
        answer = reply(body, s, key, attempt, noverdict=fault == "noverdict", prefix=prefix)
        if fault is None:
            self.completed[key] += 1
        return web.json_response(answer)


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
    from arenapref.llmclient.llamacpp import stop_server

    settings = settings or ServerSettings()
    # Run the file itself, not the module: the package __init__ would import pyarrow, numpy, scipy.
    cmd = [sys.executable, str(Path(__file__).resolve()), "--settings", json.dumps(asdict(settings))]
    proc = subprocess.Popen(cmd, stdout=subprocess.PIPE, stdin=subprocess.DEVNULL, text=True)
    assert proc.stdout is not None
    line = proc.stdout.readline().strip()
    if not line.startswith("PORT "):
        proc.kill()
        raise RuntimeError(f"the local judge server did not start (said {line!r})")

    return RunningServer(f"http://127.0.0.1:{int(line.split()[1])}/v1", lambda: stop_server(proc))


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
