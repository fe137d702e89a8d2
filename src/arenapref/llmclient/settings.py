"""How to reach a model server: client settings, prices and the base URL every command defaults to.

Shared by every use of a server (judge, regeneration, topic titles); none of these change an answer except
the server itself, which is part of a judge's identity (``label.config.JudgeConfig.identity``).
"""

from __future__ import annotations

import os
from dataclasses import dataclass

from arenapref.errors import ArenaprefError
from arenapref.llmclient.offline import OFFLINE

OPENAI_BASE_URL = "https://api.openai.com/v1"


@dataclass(frozen=True, slots=True)
class ClientSettings:
    """How to talk to the server; none of these change an answer, so none are part of the cache key."""

    concurrency: int = 16
    # Total seconds for one HTTP attempt (connect, send, wait, read): a hanging server costs at most
    # about timeout_s * max_attempts per request, and the early abort below usually ends it sooner.
    timeout_s: float = 60.0
    max_attempts: int = 5
    backoff_base_s: float = 1.0
    backoff_max_s: float = 20.0
    retry_after_max_s: float = 120.0
    # Stop the run when the first this-many answers all failed the same way (0: never).
    abort_after: int = 20

    def __post_init__(self) -> None:
        if self.concurrency < 1:
            raise ArenaprefError(f"concurrency must be at least 1, not {self.concurrency}")
        if self.max_attempts < 1:
            raise ArenaprefError(f"max attempts must be at least 1, not {self.max_attempts}")
        if not self.timeout_s > 0:
            raise ArenaprefError(f"the request timeout must be more than 0 seconds, not {self.timeout_s:g}")


@dataclass(frozen=True, slots=True)
class Price:
    """USD per million tokens."""

    input: float
    output: float


def default_base_url(configured: str | None = None) -> str:
    """The server to call: ``$ARENAPREF_BASE_URL``, else ``$OPENAI_BASE_URL``, else ``configured``.

    The environment wins over a judge file's ``base_url`` as it does for the OpenAI SDK, so one variable
    points every command (label, topics titles, mine regeneration) at a local vLLM server; a judge file
    that says ``offline`` (the built-in offline judge) keeps it.
    """
    if configured == OFFLINE:
        return OFFLINE
    for name in ("ARENAPREF_BASE_URL", "OPENAI_BASE_URL"):
        value = os.environ.get(name)
        if value:
            return value
    return configured or OPENAI_BASE_URL
