"""The dataset profile: the LMSYS-Chat-1M paper's overview table, computed for any source.

The profile streams ``Source.batches()`` and folds each Arrow batch into fixed-size counters with
vectorised pyarrow/numpy operations (flatten the turns, mask by role, count tokens for a whole batch
at once, ``bincount`` by model and language code), so 1M conversations profile in seconds with memory
that does not grow with the input (only with the number of distinct models, languages and users).

Definitions follow the paper: *turns per sample* is user turns per record; *tokens per prompt* is
tokens per user message and *tokens per response* tokens per assistant message. For battles the prompt
is the prompt turns and the responses are both answers' turns. A null message counts as 0 tokens.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import asdict, dataclass
from functools import partial
from pathlib import Path
from typing import Any

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
import quicktok

from arenapref.display import NotebookResult
from arenapref.errors import ArenaprefError
from arenapref.executors.base import BlockStep, Executor, run_step
from arenapref.executors.shards import Shard, shards_of
from arenapref.profile.lengths import Histogram, IntArray, LengthAccumulator, LengthStats
from arenapref.profile.settings import DEFAULT_TOKENIZER, TOKENIZERS
from arenapref.readers import DEFAULT_BATCH, Source, open_source
from arenapref.records import Kind, kind_of
from arenapref.rejects import RejectLog

UNKNOWN = "(unknown)"

# The LMSYS-Chat-1M paper's Table 1 (Zheng et al., 2023): the reference column of the overview.
PAPER_LMSYS: dict[str, float] = {
    "rows": 1_000_000,
    "models": 25,
    "users": 210_479,
    "languages": 154,
    "turns_per_sample": 2.0,
    "tokens_per_prompt": 69.5,
    "tokens_per_response": 214.5,
}


@dataclass(frozen=True, slots=True)
class ModelStats:
    """One model's share of a source: records, message lengths and, for battles, its results.

    ``rows`` counts conversations, or battle appearances (as model A or B). Results are summed over
    labeled battles with soft labels counted as fractions; ``win_rate`` counts a tie as half a win.
    """

    model: str
    rows: int
    prompt: LengthStats
    response: LengthStats
    games: int | None = None
    wins: float | None = None
    losses: float | None = None
    ties: float | None = None
    win_rate: float | None = None


@dataclass(frozen=True, slots=True)
class LabelMix:
    """Shares of A wins, B wins and ties over labeled battles (soft labels summed)."""

    labeled: int
    unlabeled: int
    a: float | None
    b: float | None
    tie: float | None


PER_MODEL_SCHEMA = pa.schema(
    [
        ("model", pa.string()),
        ("rows", pa.int64()),
        ("prompt_tokens_p50", pa.int64()),
        ("response_tokens_p50", pa.int64()),
        ("games", pa.int64()),
        ("win_rate", pa.float64()),
    ]
)


@dataclass(frozen=True, slots=True, repr=False)
class Profile(NotebookResult):
    """Everything ``arenapref profile`` reports about one source; ``to_dict()`` is the JSON form.

    ``to_arrow()`` is the per-model table (records, median lengths and, for battles, results).

    ``users`` and ``languages`` are None where the source carries no user ids or languages, so
    "not known" is never confused with zero.
    """

    name: str
    path: str
    format: str
    kind: Kind
    tokenizer: str
    rows: int
    models: int
    users: int | None
    languages: int | None
    user_turns: int
    turns_per_sample: float | None
    prompt: LengthStats
    response: LengthStats
    prompt_histogram: Histogram
    response_histogram: Histogram
    per_model: list[ModelStats]
    per_language: dict[str, int] | None
    label_mix: LabelMix | None
    rejected: dict[str, int]
    recovered: dict[str, int]
    rejects_summary: str
    seconds: float

    @property
    def is_lmsys(self) -> bool:
        """Whether the paper's published figures are a fair reference for this source."""
        return self.format == "lmsys"

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)

    def to_arrow(self) -> pa.Table:
        rows = [
            {
                "model": m.model,
                "rows": m.rows,
                "prompt_tokens_p50": m.prompt.p50,
                "response_tokens_p50": m.response.p50,
                "games": m.games,
                "win_rate": m.win_rate,
            }
            for m in self.per_model
        ]
        return pa.Table.from_pylist(rows, schema=PER_MODEL_SCHEMA)

    def summary_lines(self) -> list[str]:
        out = [
            f"{self.name}: {self.format} {self.kind}, {self.rows:,} rows, {self.models} models, "
            f"{self.user_turns:,} user turns",
            f"prompt tokens: mean {self.prompt.mean or 0:.1f}, p50 {self.prompt.p50}, p90 {self.prompt.p90}; "
            f"response tokens: mean {self.response.mean or 0:.1f}, p50 {self.response.p50}, "
            f"p90 {self.response.p90}",
        ]
        if self.label_mix is not None:
            m = self.label_mix
            shares = ", ".join(
                f"{k} {v:.3f}" for k, v in (("A", m.a), ("B", m.b), ("tie", m.tie)) if v is not None
            )
            out.append(f"labels: {m.labeled:,} labeled ({shares}), {m.unlabeled:,} not")
        if self.rejected:
            out.append(f"rejected: {self.rejects_summary}")
        return out


def load_tokenizer(name: str) -> quicktok.Tokenizer:
    """A bundled quicktok encoding; an unknown name is a user mistake, not a crash."""
    try:
        return quicktok.get_encoding(name)
    except RuntimeError as exc:
        raise ArenaprefError(f"unknown tokenizer {name!r}; choose one of {', '.join(TOKENIZERS)}") from exc


class _Vocab:
    """Stable integer codes for strings (models, languages) across batches, so counts can be bincounts."""

    def __init__(self) -> None:
        self.index: dict[str | None, int] = {}
        self.names: list[str | None] = []

    def __len__(self) -> int:
        return len(self.names)

    def id_of(self, name: str | None) -> int:
        """The code of ``name``, assigned on first sight."""
        code = self.index.get(name)
        if code is None:
            code = self.index[name] = len(self.names)
            self.names.append(name)
        return code

    def codes(self, values: pa.Array | pa.ChunkedArray) -> IntArray:
        """The code of every value; nulls get the code of ``None``."""
        if isinstance(values, pa.ChunkedArray):
            values = values.combine_chunks()
        if not pa.types.is_string(values.type):
            values = values.cast(pa.string())
        encoded = pc.dictionary_encode(values)
        lookup = [self.id_of(v) for v in encoded.dictionary.to_pylist()]
        if encoded.null_count:
            lookup.append(self.id_of(None))
        indices = pc.fill_null(encoded.indices, len(lookup) - 1).to_numpy(zero_copy_only=False)
        codes: IntArray = np.asarray(lookup, dtype=np.int64)[indices]
        return codes


def grow_counts(counts: np.ndarray[Any, Any], n: int) -> np.ndarray[Any, Any]:
    """``counts`` padded with zeros to length ``n`` (batches add categories the earlier ones lacked)."""
    return counts if len(counts) >= n else np.concatenate([counts, np.zeros(n - len(counts), counts.dtype)])


def _bincount(
    acc: np.ndarray[Any, Any], codes: IntArray, n: int, weights: Any = None
) -> np.ndarray[Any, Any]:
    """Add ``bincount(codes)`` to a counter that grows with the vocabulary."""
    acc = grow_counts(acc, n)
    if len(codes):
        acc += np.bincount(codes, weights=weights, minlength=n).astype(acc.dtype)
    return acc


class ProfileBuilder:
    """Folds batches of one kind into counters; ``finish`` turns them into a ``Profile``."""

    def __init__(self, kind: Kind, tokenizer: str) -> None:
        self.kind = kind
        self.tokenizer_name = tokenizer
        self.encoder = load_tokenizer(tokenizer)
        self.rows = 0
        self.user_turns = 0
        self.models = _Vocab()
        self.languages = _Vocab()
        self.has_language = False
        self.users: set[str] = set()
        self.rows_per_model: IntArray = np.zeros(0, np.int64)
        self.rows_per_language: IntArray = np.zeros(0, np.int64)
        self.prompt_all = LengthAccumulator()
        self.response_all = LengthAccumulator()
        self.prompt_by_model = LengthAccumulator()
        self.response_by_model = LengthAccumulator()
        # Battle results per model: wins, losses, ties (float: soft labels) and labeled games.
        self.results = np.zeros((0, 3), np.float64)
        self.games: IntArray = np.zeros(0, np.int64)
        self.label_sums = np.zeros(3, np.float64)
        self.labeled = 0

    def count_tokens(self, texts: pa.Array) -> IntArray:
        """Tokens of every message (null is 0 tokens), each distinct text tokenized once.

        Tokenizing is nearly all of a profile's cost, and chat logs repeat texts (the same prompt sent
        to many models, greetings), so the batch is dictionary-encoded first and only its distinct
        texts go through quicktok's threaded ``count_batch``.
        """
        if not len(texts):
            return np.zeros(0, np.int64)
        encoded = pc.dictionary_encode(pc.fill_null(texts, ""))
        counts = np.asarray(
            quicktok.count_batch(self.encoder, encoded.dictionary.to_pylist()), dtype=np.int64
        )
        per_text: IntArray = counts[encoded.indices.to_numpy(zero_copy_only=False)]
        return per_text

    def _add_lengths(
        self, overall: LengthAccumulator, by_model: LengthAccumulator, groups: IntArray, tokens: IntArray
    ) -> None:
        overall.add(np.zeros(len(tokens), np.int64), tokens, 1)
        by_model.add(groups, tokens, len(self.models))

    def add(self, batch: pa.RecordBatch) -> None:
        self.rows += batch.num_rows
        if self.kind == "conversations":
            self._add_conversations(batch)
        else:
            self._add_battles(batch)
        names = batch.schema.names
        if "language" in names:
            codes = self.languages.codes(batch.column("language"))
            self.rows_per_language = _bincount(self.rows_per_language, codes, len(self.languages))
            self.has_language = self.has_language or batch.column("language").null_count < batch.num_rows
        if "user_id" in names:
            self.users.update(pc.drop_null(pc.unique(batch.column("user_id"))).to_pylist())

    def _add_conversations(self, batch: pa.RecordBatch) -> None:
        turns = batch.column("turns")
        model = self.models.codes(batch.column("model"))
        self.rows_per_model = _bincount(self.rows_per_model, model, len(self.models))
        flat = pc.list_flatten(turns)
        parents = pc.list_parent_indices(turns).to_numpy(zero_copy_only=False)
        role = pc.struct_field(flat, "role")
        content = pc.struct_field(flat, "content")
        for role_name, overall, by_model in (
            ("user", self.prompt_all, self.prompt_by_model),
            ("assistant", self.response_all, self.response_by_model),
        ):
            mask = pc.fill_null(pc.equal(role, role_name), False)
            tokens = self.count_tokens(pc.filter(content, mask))
            owners = model[parents[mask.to_numpy(zero_copy_only=False)]]
            self._add_lengths(overall, by_model, owners, tokens)
            if role_name == "user":
                self.user_turns += len(tokens)

    def _add_battles(self, batch: pa.RecordBatch) -> None:
        model_a = self.models.codes(batch.column("model_a"))
        model_b = self.models.codes(batch.column("model_b"))
        n_models = len(self.models)
        self.rows_per_model = _bincount(self.rows_per_model, np.concatenate([model_a, model_b]), n_models)

        prompt = batch.column("prompt")
        prompt_tokens = self.count_tokens(pc.list_flatten(prompt))
        owner = pc.list_parent_indices(prompt).to_numpy(zero_copy_only=False)
        self.user_turns += len(prompt_tokens)
        # Each prompt message is one message overall, but belongs to both models' distributions.
        self.prompt_all.add(np.zeros(len(prompt_tokens), np.int64), prompt_tokens, 1)
        self.prompt_by_model.add(
            np.concatenate([model_a[owner], model_b[owner]]), np.tile(prompt_tokens, 2), n_models
        )
        for column, model in (("response_a", model_a), ("response_b", model_b)):
            answers = batch.column(column)
            tokens = self.count_tokens(pc.list_flatten(answers))
            owner = pc.list_parent_indices(answers).to_numpy(zero_copy_only=False)
            self._add_lengths(self.response_all, self.response_by_model, model[owner], tokens)

        probs = np.column_stack(
            [
                batch.column(c).to_numpy(zero_copy_only=False).astype(np.float64)
                for c in ("p_a", "p_b", "p_tie")
            ]
        )
        labeled = ~np.isnan(probs).any(axis=1)
        probs = probs[labeled]
        self.labeled += int(labeled.sum())
        self.label_sums += probs.sum(axis=0)
        ma, mb = model_a[labeled], model_b[labeled]
        self.results = np.vstack([self.results, np.zeros((n_models - len(self.results), 3))])
        self.games = _bincount(self.games, np.concatenate([ma, mb]), n_models)
        # Model A scores (p_a, p_b, p_tie) as (win, loss, tie); model B the same with A and B swapped.
        for col, (pa_col, pb_col) in enumerate(((0, 1), (1, 0), (2, 2))):
            self.results[:, col] += np.bincount(ma, weights=probs[:, pa_col], minlength=n_models)
            self.results[:, col] += np.bincount(mb, weights=probs[:, pb_col], minlength=n_models)

    def finish(self, name: str, path: str, format: str, rejects: RejectLog, seconds: float) -> Profile:
        n_models = len(self.models)
        self.rows_per_model = grow_counts(self.rows_per_model, n_models)
        per_model = [self._model_stats(code) for code in np.argsort(-self.rows_per_model, kind="stable")]
        per_language = None
        if self.has_language:
            order = np.argsort(-self.rows_per_language, kind="stable")
            per_language = {
                _label(self.languages.names[i]): int(self.rows_per_language[i])
                for i in order
                if self.rows_per_language[i]
            }
        mix = None
        if self.kind == "battles":
            total = float(self.label_sums.sum())
            shares = [float(s / total) if total > 0 else None for s in self.label_sums]
            mix = LabelMix(self.labeled, self.rows - self.labeled, shares[0], shares[1], shares[2])
        known_models = sum(
            1 for i, m in enumerate(self.models.names) if m is not None and self.rows_per_model[i]
        )
        return Profile(
            name=name,
            path=path,
            format=format,
            kind=self.kind,
            tokenizer=self.tokenizer_name,
            rows=self.rows,
            models=known_models,
            users=len(self.users) if self.users else None,
            languages=sum(1 for k in per_language if k != UNKNOWN) if per_language else None,
            user_turns=self.user_turns,
            turns_per_sample=self.user_turns / self.rows if self.rows else None,
            prompt=self.prompt_all.stats(0),
            response=self.response_all.stats(0),
            prompt_histogram=self.prompt_all.histogram(0),
            response_histogram=self.response_all.histogram(0),
            per_model=per_model,
            per_language=per_language,
            label_mix=mix,
            rejected=dict(rejects.counts.most_common()),
            recovered=dict(rejects.recovered.most_common()),
            rejects_summary=rejects.summary(),
            seconds=seconds,
        )

    def _model_stats(self, code: int) -> ModelStats:
        stats = ModelStats(
            model=_label(self.models.names[code]),
            rows=int(self.rows_per_model[code]),
            prompt=self.prompt_by_model.stats(code),
            response=self.response_by_model.stats(code),
        )
        if self.kind != "battles":
            return stats
        games = int(self.games[code]) if code < len(self.games) else 0
        wins, losses, ties = (
            (float(x) for x in self.results[code]) if code < len(self.results) else (0.0,) * 3
        )
        return ModelStats(
            stats.model,
            stats.rows,
            stats.prompt,
            stats.response,
            games=games,
            wins=wins,
            losses=losses,
            ties=ties,
            win_rate=(wins + ties / 2) / games if games else None,
        )


def _label(name: str | None) -> str:
    return UNKNOWN if name is None else name


def profile_batches(
    batches: Iterable[pa.RecordBatch],
    *,
    kind: Kind | None = None,
    name: str = "table",
    path: str = "",
    format: str = "native",
    tokenizer: str = DEFAULT_TOKENIZER,
    rejects: RejectLog | None = None,
) -> Profile:
    """Profile a stream of batches in the shared schema (kind taken from the first batch if not given).

    ``rejects`` is read after the stream is exhausted, so a reader's drops and recoveries are complete.
    """
    start = time.perf_counter()
    builder: ProfileBuilder | None = ProfileBuilder(kind, tokenizer) if kind else None
    for batch in batches:
        if builder is None:
            builder = ProfileBuilder(kind_of(batch.schema), tokenizer)
        builder.add(batch)
    if builder is None:
        builder = ProfileBuilder("conversations", tokenizer)
    log = rejects if rejects is not None else RejectLog()
    return builder.finish(name, path, format, log, time.perf_counter() - start)


def profile_table(table: pa.Table, name: str = "table", tokenizer: str = DEFAULT_TOKENIZER) -> Profile:
    """Profile an in-memory table (a notebook's convenience; sources should stream instead)."""
    return profile_batches(table.to_batches(), kind=kind_of(table.schema), name=name, tokenizer=tokenizer)


def profile_source(
    source: object,
    tokenizer: str = DEFAULT_TOKENIZER,
    batch_size: int = DEFAULT_BATCH,
    executor: Executor | None = None,
) -> Profile:
    """Stream one source through the profile, with the reader's rejects and recoveries attached.

    ``source`` is anything ``open_source`` reads (a path, a Source, a Table, a pandas/polars DataFrame, a
    Hugging Face Dataset), so a notebook can profile the frame it already holds. ``executor``: profile
    each file of the source as one block there (``ProfileStep``); the same figures.
    """
    return run_step(ProfileStep(open_source(source), tokenizer, batch_size), executor)


def profile_paths(
    paths: Sequence[str | Path],
    format: str | None = None,
    tokenizer: str = DEFAULT_TOKENIZER,
    executor: Executor | None = None,
) -> list[Profile]:
    """Profile several files or folders; every path is opened (and checked) before any is read."""
    load_tokenizer(tokenizer)
    sources = [open_source(p, format) for p in paths]
    return [profile_source(s, tokenizer, executor=executor) for s in sources]


@dataclass
class ShardProfile:
    """A builder's counters without its tokenizer (which does not pickle), plus the shard's rejects."""

    models: list[str | None]
    languages: list[str | None]
    state: dict[str, object]
    rejects: RejectLog


def profile_shard(shard: Shard, kind: Kind, tokenizer: str, batch_size: int = DEFAULT_BATCH) -> ShardProfile:
    """The per-block work of ``profile``: one file through the profile's counters."""
    source = shard.open()
    builder = ProfileBuilder(kind, tokenizer)
    for batch in source.batches(batch_size):
        builder.add(batch)
    state = {name: getattr(builder, name) for name in _MERGED_FIELDS}
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
    """Fold one shard's counters into the driver's builder (shards must come in source order).

    Every counter is a sum, a maximum or a set union, so partial profiles merge exactly. Each block
    numbers models and languages in its own order of first appearance; merged in block order, the
    driver's numbering is the one a single pass would give, so sorting ties break the same way. The float
    sums (battle results, label mix) differ from a single pass at most by rounding, about 1e-12 relative.
    """
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


class ProfileStep(BlockStep[Shard, ShardProfile, Profile]):
    """``profile`` per file: each block folds its file into counters, the driver adds them up.

    Each file's rejects are added to ``source.rejects``, as a sequential read would have.
    """

    def __init__(self, source: Source, tokenizer: str, batch_size: int = DEFAULT_BATCH) -> None:
        self.source, self.tokenizer, self.batch_size = source, tokenizer, batch_size
        self.started = time.perf_counter()

    def blocks(self, workers: int) -> list[Shard]:
        return shards_of(self.source)

    @property
    def work(self) -> Callable[[Shard], ShardProfile]:
        return partial(
            profile_shard, kind=self.source.kind, tokenizer=self.tokenizer, batch_size=self.batch_size
        )

    def merge(self, parts: Iterator[ShardProfile]) -> Profile:
        source = self.source
        builder = ProfileBuilder(source.kind, self.tokenizer)
        for part in parts:
            merge_profiles(builder, part)
            source.rejects.extend(part.rejects)
        seconds = time.perf_counter() - self.started
        return builder.finish(source.name, str(source.path), source.format, source.rejects, seconds)

    def whole(self) -> Profile:
        source = self.source
        return profile_batches(
            source.batches(self.batch_size),
            kind=source.kind,
            name=source.name,
            path=str(source.path),
            format=source.format,
            tokenizer=self.tokenizer,
            rejects=source.rejects,
        )


#: The builder's counters a block sends back (everything but its tokenizer and vocabularies).
_MERGED_FIELDS = (
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
