"""Record-level filters for pair mining: why a conversation cannot be one side of a mined battle.

Every conversation that does not end up in a pair gets exactly one reason, the first that applies in
``RECORD_REASONS`` order, so the funnel adds up: records in = sum of drops + records paired. The checks run
column-wise over an Arrow batch (no per-record Python), because the interesting input is a million
conversations.

The known error texts are answers that are not answers: the serving stack's messages leaked into the log
(FastChat's web server wrote its "NETWORK ERROR ..." banner in place of the model's reply, OpenAI's API
returned rate-limit and overload errors). A pair with one of those on a side would teach a preference model
that errors lose, which every model already knows. The list is data (``ERROR_TEXTS``), each entry saying
where it comes from; callers may pass their own.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Literal

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from arenapref.mine.settings import KeyMode

# Record-level reasons, in the order they are checked (the first that applies is the one counted).
MISSING_MODEL = "missing_model"
MISALIGNED = "misaligned_turns"
EMPTY_PROMPT = "empty_prompt"
EMPTY_ANSWER = "empty_answer"
ERROR_TEXT = "error_text"
MODERATION = "moderation_flagged"
REDACTED = "redacted"
LANGUAGE = "language_not_allowed"
TOO_SHORT = "answer_too_short"
TOO_LONG = "answer_too_long"
# Reasons decided once all records are grouped (see miner.py).
DUPLICATE = "duplicate_record"
NEAR_IDENTICAL = "near_identical_answer"
SINGLE_MODEL = "single_model_group"
UNPAIRED = "unpaired"
PAIR_DROPPED = "pair_dropped"
# Pair-level reasons.
PROMPT_CAP = "prompt_cap"
MODEL_PAIR_CAP = "model_pair_cap"

FILTER_REASONS: tuple[str, ...] = (
    MISSING_MODEL,
    MISALIGNED,
    EMPTY_PROMPT,
    EMPTY_ANSWER,
    ERROR_TEXT,
    MODERATION,
    REDACTED,
    LANGUAGE,
    TOO_SHORT,
    TOO_LONG,
)
RECORD_REASONS: tuple[str, ...] = (
    *FILTER_REASONS,
    DUPLICATE,
    NEAR_IDENTICAL,
    SINGLE_MODEL,
    UNPAIRED,
    PAIR_DROPPED,
)

# What each reason means; a setting is named as the library knows it (`max_uses`), not as a flag.
REASON_HELP: dict[str, str] = {
    MISSING_MODEL: "no model name, so the record cannot be paired with a different model",
    MISALIGNED: "turns do not alternate user/assistant (or the last user turn has no answer)",
    EMPTY_PROMPT: "a used user turn is empty",
    EMPTY_ANSWER: "a used assistant turn is empty",
    ERROR_TEXT: "an answer holds a known serving-error text (see mine.filters.ERROR_TEXTS)",
    MODERATION: "OpenAI moderation flagged a message",
    REDACTED: "the record is marked redacted",
    LANGUAGE: "language outside the `languages` allow-list",
    TOO_SHORT: "answer shorter than `min_answer_chars`",
    TOO_LONG: "answer longer than `max_answer_chars`",
    DUPLICATE: "same prompt key and identical answer text as an earlier record (any model)",
    NEAR_IDENTICAL: "same prompt group and an answer equal after normalisation, or nearly, to an earlier one",
    SINGLE_MODEL: "its prompt group is answered by only one model",
    UNPAIRED: "in a minable group but left over by the pairing (odd count, dominant model, `max_uses`)",
    PAIR_DROPPED: "every pair it was in was removed by a cap or the leakage guard",
    PROMPT_CAP: "pair beyond `max_pairs_per_prompt` for its prompt group",
    MODEL_PAIR_CAP: "pair beyond `max_pairs_per_model_pair` for its model pair",
}


@dataclass(frozen=True, slots=True)
class ErrorText:
    """One known error text: ``contains`` anywhere, ``prefix`` at the start, or the ``whole`` answer."""

    text: str
    where: Literal["contains", "prefix", "whole"]
    origin: str

    def regex(self) -> str:
        body = re.escape(self.text)
        if self.where == "prefix":
            return r"^\s*\**\s*" + body
        if self.where == "whole":
            return r"^\s*" + body + r"\s*$"
        return body


ERROR_TEXTS: tuple[ErrorText, ...] = (
    ErrorText(
        "NETWORK ERROR DUE TO HIGH TRAFFIC. PLEASE REGENERATE OR REFRESH THIS PAGE",
        "contains",
        "FastChat web server SERVER_ERROR_MSG (seen in LMSYS-Chat-1M answers)",
    ),
    ErrorText("YOUR INPUT VIOLATES OUR CONTENT MODERATION GUIDELINES", "contains", "FastChat MODERATION_MSG"),
    ErrorText(
        "YOU HAVE REACHED THE CONVERSATION LENGTH LIMIT", "contains", "FastChat CONVERSATION_LIMIT_MSG"
    ),
    ErrorText("RATE LIMIT OF THIS MODEL IS REACHED", "contains", "FastChat RATE_LIMIT_MSG"),
    ErrorText("(error_code: ", "contains", "FastChat appends the worker error code to its error banner"),
    ErrorText(
        "CUDA out of memory. Tried to allocate", "contains", "PyTorch out-of-memory error from a worker"
    ),
    ErrorText("An error occurred", "prefix", "generic API/client error text"),
    ErrorText("Rate limit reached for", "prefix", "OpenAI API rate-limit error"),
    ErrorText(
        "That model is currently overloaded with other requests", "prefix", "OpenAI API overload error"
    ),
    ErrorText("The server had an error while processing your request", "prefix", "OpenAI API server error"),
    ErrorText("Request timed out", "prefix", "client timeout text"),
    ErrorText("429 Too Many Requests", "prefix", "HTTP rate-limit status text"),
    ErrorText("Internal Server Error", "whole", "HTTP 500 status text"),
)


def error_regex(texts: Sequence[ErrorText]) -> str | None:
    """One case-insensitive alternation over all error texts (None when the list is empty)."""
    if not texts:
        return None
    return "(?i)(?:" + "|".join(t.regex() for t in texts) + ")"


@dataclass(frozen=True, slots=True)
class FilterSettings:
    """What a usable record looks like: the filters' share of ``MineSettings`` (which holds the defaults;
    ``miner.filter_settings`` builds this) plus the error texts that mark a failed answer."""

    key: KeyMode
    languages: tuple[str, ...]
    min_answer_chars: int
    max_answer_chars: int | None
    error_texts: tuple[ErrorText, ...]


@dataclass(slots=True)
class InspectedBatch:
    """Per-record verdicts for one batch, and the used turns of the records that passed.

    ``reason`` holds an index into ``FILTER_REASONS`` plus one (0 = passed). ``prompts``/``answers`` are
    list<string> arrays aligned with the batch (only rows that passed are meaningful): the user turns and the
    assistant turns a pair would use — all of them, or only the first exchange with ``key="first"``;
    ``answer_chars`` is the length of those assistant turns together.
    """

    reason: np.ndarray
    prompts: pa.ListArray
    answers: pa.ListArray
    answer_chars: np.ndarray


def _per_row_any(mask: np.ndarray, parents: np.ndarray, n: int) -> np.ndarray:
    if not len(parents):
        return np.zeros(n, dtype=bool)
    return np.bincount(parents[mask], minlength=n) > 0


def _lists(values: pa.Array, parents: np.ndarray, n: int) -> pa.ListArray:
    """Regroup flat values (sorted by row) into one list per row, empty lists where a row has none."""
    counts = np.bincount(parents, minlength=n) if len(parents) else np.zeros(n, dtype=np.int64)
    offsets = np.zeros(n + 1, dtype=np.int32)
    np.cumsum(counts, out=offsets[1:])
    return pa.ListArray.from_arrays(pa.array(offsets, pa.int32()), values)


def _to_bool(arr: pa.Array | pa.ChunkedArray) -> np.ndarray:
    return np.asarray(pc.fill_null(arr, False).to_numpy(zero_copy_only=False), dtype=bool)


def inspect_batch(batch: pa.RecordBatch, settings: FilterSettings) -> InspectedBatch:
    """Apply every record-level filter to a batch in CONVERSATION_SCHEMA, column-wise."""
    n = batch.num_rows
    turns = batch.column("turns")
    flat = pc.list_flatten(turns)
    parents = pc.list_parent_indices(turns).to_numpy().astype(np.int64)
    role = pc.struct_field(flat, "role")
    content = pc.struct_field(flat, "content")
    # System messages carry no user/assistant exchange; alignment is judged without them.
    keep = ~_to_bool(pc.equal(role, "system"))
    parents = parents[keep]
    role = role.filter(pa.array(keep))
    content = content.filter(pa.array(keep))
    counts = np.bincount(parents, minlength=n) if len(parents) else np.zeros(n, dtype=np.int64)
    starts = np.zeros(n, dtype=np.int64)
    np.cumsum(counts[:-1], out=starts[1:])
    pos = np.arange(len(parents)) - starts[parents]
    is_user = _to_bool(pc.equal(role, "user"))
    is_asst = _to_bool(pc.equal(role, "assistant"))
    used = pos < 2 if settings.key == "first" else np.ones(len(parents), dtype=bool)
    wrong_role = np.where(pos % 2 == 0, ~is_user, ~is_asst) & used
    used_count = np.minimum(counts, 2) if settings.key == "first" else counts
    misaligned = _per_row_any(wrong_role, parents, n) | (used_count < 2) | (used_count % 2 == 1)

    blank = _to_bool(pc.equal(pc.utf8_trim_whitespace(pc.fill_null(content, "")), ""))
    user_msg = used & is_user
    asst_msg = used & is_asst
    empty_prompt = _per_row_any(blank & user_msg, parents, n)
    empty_answer = _per_row_any(blank & asst_msg, parents, n)
    pattern = error_regex(settings.error_texts)
    if pattern is not None and len(content):
        is_error = _to_bool(pc.match_substring_regex(content, pattern))
        error_text = _per_row_any(is_error & asst_msg, parents, n)
    else:
        error_text = np.zeros(n, dtype=bool)
    lengths = np.asarray(pc.fill_null(pc.utf8_length(content), 0).to_numpy(zero_copy_only=False))
    answer_chars = (
        np.bincount(parents[asst_msg], weights=lengths[asst_msg], minlength=n)
        if len(parents)
        else np.zeros(n)
    )
    model = batch.column("model")
    missing_model = _to_bool(pc.or_(pc.is_null(model), pc.equal(pc.fill_null(model, ""), "")))
    if settings.languages:
        allowed = pa.array(sorted({lang.casefold() for lang in settings.languages}), pa.string())
        lang = pc.utf8_lower(batch.column("language"))
        bad_language = ~_to_bool(pc.is_in(lang, allowed))
    else:
        bad_language = np.zeros(n, dtype=bool)
    too_long = (
        answer_chars > settings.max_answer_chars
        if settings.max_answer_chars is not None
        else np.zeros(n, dtype=bool)
    )
    checks = {
        MISSING_MODEL: missing_model,
        MISALIGNED: misaligned,
        EMPTY_PROMPT: empty_prompt,
        EMPTY_ANSWER: empty_answer,
        ERROR_TEXT: error_text,
        MODERATION: _to_bool(batch.column("moderation_flagged")),
        REDACTED: _to_bool(batch.column("redacted")),
        LANGUAGE: bad_language,
        TOO_SHORT: answer_chars < settings.min_answer_chars,
        TOO_LONG: too_long,
    }
    reason = np.zeros(n, dtype=np.uint8)
    for code, name in enumerate(FILTER_REASONS, start=1):
        reason[(reason == 0) & checks[name]] = code
    prompts = _lists(content.filter(pa.array(user_msg)), parents[user_msg], n)
    answers = _lists(content.filter(pa.array(asst_msg)), parents[asst_msg], n)
    return InspectedBatch(reason, prompts, answers, answer_chars.astype(np.int64))
