"""The built-in offline judge: a deterministic rule that answers chat-completion requests without a network.

It is the judge of ``arenapref demo`` and of ``--judge offline`` (``base_url = "offline"``): a workspace
runs end to end without a key, a server or a download. The chat client hands it the request body (a
dict) in place of an HTTP round trip and parses its answer exactly as a server's, so everything after the
transport (retries, budget, cache, parsing, soft labels) is the code a real judge goes through. The test
server (``arenapref.testing.judge_server``) serves the same rule over real HTTP and adds fault injection.

The rule gives agreement and calibration something real to measure: the longer conversation tends to
win, the answer shown first gets a bonus (position bias), and each (pair, order) carries its own noise
(seeded by ``seed`` and a hash of the user message, so an answer depends only on the request).
"""

from __future__ import annotations

import hashlib
import math
import random
import re
from collections import Counter
from dataclasses import dataclass, replace
from typing import Any

OFFLINE = "offline"
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
Probs = tuple[float, float, float]


@dataclass
class OfflineRule:
    """The offline judge's rule; every random choice is seeded by ``seed``."""

    seed: int = 0
    logprobs: bool = True
    length_weight: float = 1.5
    position_bias: float = 0.4
    noise: float = 0.6
    tie_logit: float = 0.3


def pair_key(messages: list[dict[str, Any]]) -> str:
    """The rule's identity of a (pair, order): a hash of the last user message's text."""
    user = [m.get("content") or "" for m in messages if m.get("role") == "user"]
    text = str(user[-1]) if user else ""
    return hashlib.sha256(text.encode("utf-8", "surrogatepass")).hexdigest()[:20]


def seeded(*parts: object) -> random.Random:
    """A random generator that depends only on ``parts``."""
    return random.Random(hashlib.sha256(":".join(map(str, parts)).encode()).digest())


def judge_probs(text: str, rule: OfflineRule, key: str) -> Probs:
    """The rule's (P(A), P(B), P(tie)) for the answers as shown in ``text``."""
    found = [BLOCK_RE[side].search(text) for side in "AB"]
    blocks = [m.group(1) if m is not None else "" for m in found]
    d = rule.length_weight * math.log((len(blocks[0]) + 1) / (len(blocks[1]) + 1))
    d += rule.position_bias + seeded(rule.seed, key, "noise").gauss(0.0, rule.noise)
    z = (d, -d, rule.tie_logit - 0.5 * abs(d))
    m = max(z)
    e = [math.exp(v - m) for v in z]
    s = sum(e)
    return (e[0] / s, e[1] / s, e[2] / s)


def _logprob_content(tokens: list[str], label: str | None, probs: Probs, top_k: int) -> list[dict[str, Any]]:
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


def reply(
    body: dict[str, Any],
    rule: OfflineRule,
    key: str,
    attempt: int,
    *,
    noverdict: bool = False,
    prefix: str = "",
) -> dict[str, Any]:
    """The chat-completion answer to ``body`` (attempt ``attempt`` of its (pair, order) ``key``).

    ``noverdict`` answers without a verdict and ``prefix`` starts every reason (the test server's faults).
    """
    messages = body["messages"]
    text = str(messages[-1].get("content") or "")
    five_level = "[[A>>B]]" in text
    probs = judge_probs(text, rule, key)
    n = max(1, min(int(body.get("n") or 1), 16))
    temperature = float(body.get("temperature") or 0.0)
    want_logprobs = bool(body.get("logprobs")) and rule.logprobs
    top_k = max(1, min(int(body.get("top_logprobs") or 1), 20))
    rng = seeded(rule.seed, key, attempt, "sample")
    choices = []
    completion_tokens = 0
    for i in range(n):
        tokens: list[str] | None
        label: str | None
        if noverdict:
            content, tokens, label = "Both answers have merits and I cannot pick one.", None, None
        else:
            if temperature <= 0:
                label = LABELS[max(range(3), key=lambda k: probs[k])]
            else:
                label = rng.choices(LABELS, weights=probs)[0]
            reason = (
                f"Assistant {label} addresses the request more fully." if label != "C" else "They are close."
            )
            reason = prefix + reason
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
    prompt_tokens = sum(len(str(m.get("content") or "")) for m in messages) // 4 + 1
    return {
        "id": f"chatcmpl-{key}-{attempt}",
        "object": "chat.completion",
        "created": 0,
        "model": str(body["model"]),
        "choices": choices,
        "usage": {
            "prompt_tokens": prompt_tokens,
            "completion_tokens": completion_tokens,
            "total_tokens": prompt_tokens + completion_tokens,
        },
    }


class OfflineJudge:
    """The rule as an in-process server: answers request bodies and counts attempts per (pair, order)."""

    def __init__(self, rule: OfflineRule | None = None) -> None:
        self.rule = rule if rule is not None else OfflineRule()
        self.by_key: Counter[str] = Counter()

    def respond(self, body: dict[str, Any]) -> dict[str, Any]:
        """The answer a server running this rule would send; a ``seed`` in the body seeds the rule."""
        key = pair_key(body["messages"])
        attempt = self.by_key[key]
        self.by_key[key] += 1
        rule = self.rule if "seed" not in body else replace(self.rule, seed=int(body["seed"]))
        return reply(body, rule, key, attempt)
