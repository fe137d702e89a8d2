"""``profile`` per shard: each block folds its file into the profile's counters, the driver adds them up.

Every counter of the profile is a sum (rows, turns, token histograms, per-model and per-language
counts, label sums), a maximum or a set union, so partial profiles merge exactly. The only thing to
reconcile is the vocabulary: each block numbers models and languages in its own order of first
appearance; merged in block order, the driver's numbering is the one a single sequential pass would
give, so sorting ties break the same way. Integer figures are equal to the local run; the float sums
(battle results, label mix) differ at most by rounding, about 1e-12 relative.
"""

from __future__ import annotations

import time
from collections.abc import Sequence
from dataclasses import dataclass
from functools import partial
from pathlib import Path

import numpy as np

from arenapref.executors.base import Executor
from arenapref.executors.shards import Shard, shards_of
from arenapref.profile.core import Profile, ProfileBuilder, grow_counts, load_tokenizer
from arenapref.profile.lengths import IntArray, LengthAccumulator
from arenapref.profile.settings import DEFAULT_TOKENIZER
from arenapref.readers import DEFAULT_BATCH, Source, open_source
from arenapref.records import Kind
from arenapref.rejects import RejectLog

_FIELDS = (
    "rows",
    "user_turns",
    "has_language",
    "users",
    "rows_per_model",
    "rows_per_language",
    "prompt_all",
    "response_all",
    "prompt_by_model",
    "response_by_model",
    "results",
    "games",
    "label_sums",
    "labeled",
)


@dataclass
class ShardProfile:
    """A builder's counters without its tokenizer (which does not pickle), plus the shard's rejects."""

    models: list[str | None]
    languages: list[str | None]
    state: dict[str, object]
    rejects: RejectLog


def profile_shard(shard: Shard, kind: Kind, tokenizer: str, batch_size: int = DEFAULT_BATCH) -> ShardProfile:
    """The per-block function: one file through the profile's counters."""
    source = shard.open()
    builder = ProfileBuilder(kind, tokenizer)
    for batch in source.batches(batch_size):
        builder.add(batch)
    state = {name: getattr(builder, name) for name in _FIELDS}
    return ShardProfile(builder.models.names, builder.languages.names, state, source.rejects)


def _add_rows(dst: np.ndarray, src: np.ndarray, codes: IntArray, n: int) -> np.ndarray:
    """``dst`` grown to the driver's ``n`` codes, with ``src``'s rows added at their driver codes."""
    dst = grow_counts(dst, n) if dst.ndim == 1 else dst
    if dst.ndim == 2 and len(dst) < n:
        dst = np.vstack([dst, np.zeros((n - len(dst), dst.shape[1]), dst.dtype)])
    k = len(src)
    if k:
        dst[codes[:k]] += src
    return dst


def _add_lengths(dst: LengthAccumulator, src: LengthAccumulator, codes: IntArray, n_groups: int) -> None:
    dst.grow(n_groups)
    k = len(src.tokens)
    if k:
        dst.hist[codes[:k]] += src.hist
        dst.tokens[codes[:k]] += src.tokens
        dst.maxima[codes[:k]] = np.maximum(dst.maxima[codes[:k]], src.maxima)


def merge_profiles(builder: ProfileBuilder, part: ShardProfile) -> None:
    """Fold one shard's counters into the driver's builder (shards must come in source order)."""
    s = part.state
    models = np.asarray([builder.models.id_of(m) for m in part.models], dtype=np.int64)
    languages = np.asarray([builder.languages.id_of(x) for x in part.languages], dtype=np.int64)
    n_models = len(builder.models)
    builder.rows += int(s["rows"])  # type: ignore[call-overload]
    builder.user_turns += int(s["user_turns"])  # type: ignore[call-overload]
    builder.labeled += int(s["labeled"])  # type: ignore[call-overload]
    builder.has_language = builder.has_language or bool(s["has_language"])
    builder.users.update(s["users"])  # type: ignore[arg-type]
    builder.label_sums = builder.label_sums + s["label_sums"]  # type: ignore[operator]
    builder.rows_per_model = _add_rows(builder.rows_per_model, s["rows_per_model"], models, n_models)  # type: ignore[arg-type]
    builder.games = _add_rows(builder.games, s["games"], models, n_models)  # type: ignore[arg-type]
    builder.results = _add_rows(builder.results, s["results"], models, n_models)  # type: ignore[arg-type]
    builder.rows_per_language = _add_rows(
        builder.rows_per_language,
        s["rows_per_language"],  # type: ignore[arg-type]
        languages,
        len(builder.languages),
    )
    zero = np.zeros(1, dtype=np.int64)
    _add_lengths(builder.prompt_all, s["prompt_all"], zero, 1)  # type: ignore[arg-type]
    _add_lengths(builder.response_all, s["response_all"], zero, 1)  # type: ignore[arg-type]
    _add_lengths(builder.prompt_by_model, s["prompt_by_model"], models, n_models)  # type: ignore[arg-type]
    _add_lengths(builder.response_by_model, s["response_by_model"], models, n_models)  # type: ignore[arg-type]


def profile_source_with(executor: Executor, source: Source, tokenizer: str = DEFAULT_TOKENIZER) -> Profile:
    """``profile.profile_source`` with every file of the source profiled as one block on ``executor``.

    Each file's rejects are added to ``source.rejects``, as a sequential read would have.
    """
    start = time.perf_counter()
    builder = ProfileBuilder(source.kind, tokenizer)
    work = partial(profile_shard, kind=source.kind, tokenizer=tokenizer)
    for part in executor.imap(work, shards_of(source)):
        merge_profiles(builder, part)
        source.rejects.extend(part.rejects)
    seconds = time.perf_counter() - start
    return builder.finish(source.name, str(source.path), source.format, source.rejects, seconds)


def profile_paths_with(
    executor: Executor,
    paths: Sequence[str | Path],
    format: str | None = None,
    tokenizer: str = DEFAULT_TOKENIZER,
) -> list[Profile]:
    """``profile.profile_paths`` on ``executor``; every path is opened (and checked) before any is read."""
    load_tokenizer(tokenizer)
    sources = [open_source(p, format) for p in paths]
    return [profile_source_with(executor, s, tokenizer) for s in sources]
