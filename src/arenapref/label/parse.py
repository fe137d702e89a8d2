"""Reading a verdict out of a judge's answer, strictly, and turning verdicts into probabilities.

Strict means: only a bracketed label from the judge's verdict table counts (``[[A]]``, ``[[C]]``,
``[[A>>B]]`` ...); an answer with no such label, or with two different ones, is *not* a verdict and is
asked again, then written out with its raw text. Guessing from prose ("A is better") would turn noise
into labels silently.
"""

from __future__ import annotations

import math
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from arenapref.label.config import normalize_label
from arenapref.llmclient.offline import Probs

VERDICT_RE = re.compile(r"\[\[([^\[\]\n]{1,16})\]\]")


class VerdictError(ValueError):
    """An answer that holds no single verdict; the message is the reason written to the failures file."""


@dataclass(frozen=True, slots=True)
class Verdict:
    """A parsed verdict: its label, where the label starts in the text, and what it stands for."""

    label: str
    start: int
    probs: Probs


def parse_verdict(text: str, verdicts: Mapping[str, Probs]) -> Verdict:
    """The single verdict in ``text``; raise VerdictError when there is none or more than one."""
    found: list[Verdict] = []
    unknown: list[str] = []
    for m in VERDICT_RE.finditer(text):
        label = normalize_label(m.group(1))
        if label in verdicts:
            found.append(Verdict(label, m.start(1), verdicts[label]))
        else:
            unknown.append(m.group(0))
    if not found:
        if unknown:
            raise VerdictError(f"unknown verdict {unknown[-1]!r}")
        raise VerdictError("no verdict")
    if len({v.probs for v in found}) > 1:
        raise VerdictError(f"ambiguous verdict ({', '.join(sorted({v.label for v in found}))})")
    return found[-1]


def logprob_probs(
    text: str,
    logprob_content: Sequence[Mapping[str, Any]] | None,
    verdicts: Mapping[str, Probs],
    parsed: Verdict | None = None,
) -> Probs | None:
    """Soft verdict from the top_logprobs of the token that carries the verdict label.

    The token is found by offsets in the concatenated token text, so servers whose tokens do not exactly
    rebuild ``text`` still work. Returns None when the server sent no log-probabilities, when the verdict
    token is not a whole label (five-level verdicts: "A" starts both "A>>B" and "A>B"), or when no
    alternative maps to a label; the caller then falls back to samples. ``parsed`` is the verdict already
    read from ``text``, reused when the tokens rebuild it exactly.
    """
    if not logprob_content:
        return None
    tokens = [str(t.get("token", "")) for t in logprob_content]
    joined = "".join(tokens)
    if parsed is not None and joined == text:
        verdict = parsed  # the usual case: the tokens rebuild the text, no need to parse it again
    else:
        try:
            verdict = parse_verdict(joined, verdicts)
        except VerdictError:
            return None
    pos = 0
    for token, entry in zip(tokens, logprob_content, strict=True):
        end = pos + len(token)
        if pos <= verdict.start < end:
            if normalize_label(token) != verdict.label:
                return None
            return _mix(entry.get("top_logprobs") or [entry], verdicts)
        pos = end
    return None


def _mix(alternatives: Sequence[Mapping[str, Any]], verdicts: Mapping[str, Probs]) -> Probs | None:
    weights = [0.0, 0.0, 0.0]
    total = 0.0
    for alt in alternatives:
        label = normalize_label(str(alt.get("token", "")))
        logprob = alt.get("logprob")
        if label not in verdicts or not isinstance(logprob, int | float) or math.isnan(logprob):
            continue
        w = math.exp(min(float(logprob), 0.0))
        total += w
        for k, p in enumerate(verdicts[label]):
            weights[k] += w * p
    if total <= 0.0:
        return None
    return (weights[0] / total, weights[1] / total, weights[2] / total)


def mean_probs(items: Sequence[Probs]) -> Probs:
    """The average of several verdicts' probabilities (repeated samples)."""
    n = len(items)
    return (sum(p[0] for p in items) / n, sum(p[1] for p in items) / n, sum(p[2] for p in items) / n)


def swap(p: Probs) -> Probs:
    """Probabilities for (B, A) read as probabilities for (A, B)."""
    return (p[1], p[0], p[2])


def argmax(p: Probs) -> int:
    return max(range(3), key=lambda k: p[k])


def combine_orders(ab: Probs, ba_as_shown: Probs) -> tuple[Probs, bool]:
    """One label from both presentation orders, and whether the two orders agree on the winner.

    ``ba_as_shown`` is what the judge said when shown B first; it is swapped back before averaging, so a
    judge that always favours the first position ends up with a tie-ish average and ``consistent=False``.
    """
    ba = swap(ba_as_shown)
    combined = ((ab[0] + ba[0]) / 2, (ab[1] + ba[1]) / 2, (ab[2] + ba[2]) / 2)
    return combined, argmax(ab) == argmax(ba)
