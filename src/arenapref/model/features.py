"""Engineered features of a battle, laid out so that swapping A and B is a column permutation.

Every battle is described by three blocks:

* ``response_a`` / ``response_b``: the same per-answer features (lengths, Markdown structure, refusals,
  overlap with the prompt, ...) computed for each answer by the same function;
* ``pair``: features that do not change when A and B swap (similarity of the answers, both empty, ...);
* ``prompt``: features of the prompt alone.

``design_matrix(f)`` lays these out as ``[A, B, A-B, log-ratio(A, B), pair, prompt]`` and
``design_matrix(f, swap=True)`` as ``[B, A, B-A, log-ratio(B, A), pair, prompt]``: the swapped battle's
features, without recomputing anything. Training on both orders (swap augmentation) and averaging the
prediction over both orders (test-time swap) then makes the model exactly antisymmetric in A and B.

Text work is vectorised in polars (Rust, multi-threaded) and token counts come from quicktok, because at
57k battles a per-row Python loop over regexes would dominate training time.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import polars as pl
import pyarrow as pa
import quicktok

from arenapref.errors import InputFormatError

#: Bumped whenever a feature's meaning changes, so an old saved model refuses to load against new features.
FEATURE_VERSION = 1

_REFUSAL = (
    r"(?i)\b(?:i can(?:no|')t (?:help|assist|provide|fulfill|comply|do that|create|write|generate)"
    r"|i(?:'m| am) (?:not able|unable) to|i (?:will|won')t (?:be able to )?(?:help|provide|create|write)"
    r"|as an ai\b|as a language model|as an ai language model|i must decline|not appropriate"
    r"|against my (?:programming|guidelines)|i(?:'m| am) not (?:programmed|allowed))"
)
_APOLOGY = r"(?i)\b(?:i(?:'m| am) sorry|i apologi[sz]e|my apologies|sorry,|unfortunately)"

# name -> regex counted in each answer
_COUNT_PATTERNS: dict[str, str] = {
    "words": r"\S+",
    "lines": r"\n",
    "paragraphs": r"\n\s*\n",
    "headers": r"(?m)^\s{0,3}#{1,6}\s",
    "list_items": r"(?m)^\s*(?:[-*+•]|\d{1,3}[.)])\s",
    "code_fences": r"```",
    "inline_code": r"`[^`\n]+`",
    "bold": r"\*\*[^*\n]+\*\*|__[^_\n]+__",
    "table_rows": r"(?m)^\s*\|.*\|\s*$",
    "links": r"https?://",
    "questions": r"\?",
    "exclamations": r"!",
    "digits": r"\d",
    "sentences": r"[.!?](?:\s|$)",
    "refusals": _REFUSAL,
    "apologies": _APOLOGY,
}

RESPONSE_FEATURES: tuple[str, ...] = (
    "chars",
    "tokens",
    *_COUNT_PATTERNS,
    "turns",
    "null_turns",
    "empty",
    "refusal_start",
    "unique_words",
    "unique_word_ratio",
    "prompt_recall",
    "prompt_precision",
    "ends_cleanly",
)
#: Per-answer features that are counts: their A/B log-ratio is informative (a ratio of flags is not).
_RATIO_FEATURES: tuple[str, ...] = ("chars", "tokens", *_COUNT_PATTERNS, "unique_words")
PAIR_FEATURES: tuple[str, ...] = (
    "answers_jaccard",
    "answers_identical",
    "both_empty",
    "length_min_max",
)
PROMPT_FEATURES: tuple[str, ...] = (
    "prompt_chars",
    "prompt_tokens",
    "prompt_words",
    "prompt_turns",
    "prompt_code",
)

_ENCODING_NAME = "cl100k_base"


@dataclass(frozen=True)
class BattleFeatures:
    """Features of n battles, in blocks (see the module docstring); float64 arrays."""

    response_a: np.ndarray
    response_b: np.ndarray
    pair: np.ndarray
    prompt: np.ndarray
    response_names: tuple[str, ...] = RESPONSE_FEATURES
    pair_names: tuple[str, ...] = PAIR_FEATURES

    def __len__(self) -> int:
        return int(self.pair.shape[0])

    def take(self, rows: np.ndarray) -> BattleFeatures:
        """The features of a subset of battles (row indices or a boolean mask)."""
        return BattleFeatures(
            self.response_a[rows],
            self.response_b[rows],
            self.pair[rows],
            self.prompt[rows],
            self.response_names,
            self.pair_names,
        )

    def with_extra(
        self,
        response_a: np.ndarray,
        response_b: np.ndarray,
        pair: np.ndarray,
        response_names: tuple[str, ...],
        pair_names: tuple[str, ...],
    ) -> BattleFeatures:
        """Append more columns (e.g. embedding similarities) keeping the A/B block structure."""
        return BattleFeatures(
            np.hstack([self.response_a, response_a]),
            np.hstack([self.response_b, response_b]),
            np.hstack([self.pair, pair]),
            self.prompt,
            self.response_names + response_names,
            self.pair_names + pair_names,
        )


def _joined(col: str) -> pl.Expr:
    """All turns of a list<string> column joined by a newline; null turns count as empty text."""
    return pl.col(col).list.eval(pl.element().fill_null("")).list.join("\n").fill_null("")


def battle_texts(table: pa.Table) -> pl.DataFrame:
    """prompt / response_a / response_b as plain strings plus their turn counts.

    Raises ``InputFormatError`` when the table is not a battle table.
    """
    missing = [c for c in ("prompt", "response_a", "response_b") if c not in table.column_names]
    if missing:
        raise InputFormatError(f"the table has no {', '.join(missing)} column; battles are needed")
    df = pl.DataFrame(table.select(["prompt", "response_a", "response_b"]))
    return df.select(
        _joined("prompt").alias("prompt"),
        _joined("response_a").alias("a"),
        _joined("response_b").alias("b"),
        pl.col("prompt").list.len().fill_null(0).alias("prompt_turns"),
        pl.col("response_a").list.len().fill_null(0).alias("a_turns"),
        pl.col("response_b").list.len().fill_null(0).alias("b_turns"),
        pl.col("response_a").list.eval(pl.element().is_null()).list.sum().fill_null(0).alias("a_null_turns"),
        pl.col("response_b").list.eval(pl.element().is_null()).list.sum().fill_null(0).alias("b_null_turns"),
    )


def _words(col: str) -> pl.Expr:
    return pl.col(col).str.to_lowercase().str.extract_all(r"\w+").list.unique()


def _token_counts(texts: pl.Series) -> np.ndarray:
    enc = quicktok.get_encoding(_ENCODING_NAME)
    return np.asarray(quicktok.count_batch(enc, texts.to_list()), dtype=np.float64)


def _response_block(df: pl.DataFrame, side: str) -> np.ndarray:
    """The per-answer features of one side ("a" or "b") in RESPONSE_FEATURES order."""
    text = pl.col(side)
    words = pl.col(f"{side}_words")
    n_words = words.list.len().cast(pl.Float64)
    prompt_n = pl.col("prompt_words").list.len().cast(pl.Float64)
    shared = words.list.set_intersection(pl.col("prompt_words")).list.len().cast(pl.Float64)
    exprs: list[pl.Expr] = [text.str.len_chars().cast(pl.Float64).alias("chars")]
    exprs += [text.str.count_matches(p).cast(pl.Float64).alias(n) for n, p in _COUNT_PATTERNS.items()]
    exprs += [
        pl.col(f"{side}_turns").cast(pl.Float64).alias("turns"),
        pl.col(f"{side}_null_turns").cast(pl.Float64).alias("null_turns"),
        (text.str.strip_chars().str.len_chars() == 0).cast(pl.Float64).alias("empty"),
        text.str.slice(0, 160).str.contains(f"{_REFUSAL}|{_APOLOGY}").cast(pl.Float64).alias("refusal_start"),
        n_words.alias("unique_words"),
        (n_words / (text.str.count_matches(r"\w+").cast(pl.Float64) + 1.0)).alias("unique_word_ratio"),
        (shared / (prompt_n + 1.0)).alias("prompt_recall"),
        (shared / (n_words + 1.0)).alias("prompt_precision"),
        text.str.strip_chars().str.contains(r"[.!?:)\]`*\"'。！？]$").cast(pl.Float64).alias("ends_cleanly"),
    ]
    block = df.select(exprs)
    tokens = _token_counts(df.get_column(side))
    cols = [block.get_column(n).to_numpy() if n != "tokens" else tokens for n in RESPONSE_FEATURES]
    return np.column_stack(cols).astype(np.float64)


def extract_features(table: pa.Table) -> BattleFeatures:
    """Per-answer, pair and prompt features of every battle in ``table`` (BATTLE_SCHEMA columns)."""
    df = battle_texts(table)
    df = df.with_columns(
        _words("prompt").alias("prompt_words"),
        _words("a").alias("a_words"),
        _words("b").alias("b_words"),
    )
    ra = _response_block(df, "a")
    rb = _response_block(df, "b")
    inter = pl.col("a_words").list.set_intersection(pl.col("b_words")).list.len().cast(pl.Float64)
    union = pl.col("a_words").list.set_union(pl.col("b_words")).list.len().cast(pl.Float64)
    a_len = pl.col("a").str.len_chars().cast(pl.Float64)
    b_len = pl.col("b").str.len_chars().cast(pl.Float64)
    pair = df.select(
        pl.when(union > 0).then(inter / union).otherwise(1.0).alias("answers_jaccard"),
        (pl.col("a").str.strip_chars() == pl.col("b").str.strip_chars()).cast(pl.Float64).alias("identical"),
        ((a_len == 0) & (b_len == 0)).cast(pl.Float64).alias("both_empty"),
        (pl.min_horizontal(a_len, b_len) / (pl.max_horizontal(a_len, b_len) + 1.0)).alias("length_min_max"),
    ).to_numpy()
    prompt = np.column_stack(
        [
            df.get_column("prompt").str.len_chars().cast(pl.Float64).to_numpy(),
            _token_counts(df.get_column("prompt")),
            df.get_column("prompt_words").list.len().cast(pl.Float64).to_numpy(),
            df.get_column("prompt_turns").cast(pl.Float64).to_numpy(),
            df.get_column("prompt").str.count_matches("```").cast(pl.Float64).to_numpy(),
        ]
    )
    return BattleFeatures(ra, rb, pair.astype(np.float64), prompt.astype(np.float64))


def _ratio_index(names: tuple[str, ...]) -> list[int]:
    return [i for i, n in enumerate(names) if n in _RATIO_FEATURES]


def design_matrix(f: BattleFeatures, swap: bool = False) -> np.ndarray:
    """``[A, B, A-B, log1p(A)-log1p(B) for counts, pair, prompt]``, or the same for the swapped battle.

    The swapped matrix is a permutation (and sign flip) of the original's columns, which is what makes
    swap augmentation and test-time swap exact.
    """
    first, second = (f.response_b, f.response_a) if swap else (f.response_a, f.response_b)
    idx = _ratio_index(f.response_names)
    log_ratio = np.log1p(first[:, idx]) - np.log1p(second[:, idx])
    return np.hstack([first, second, first - second, log_ratio, f.pair, f.prompt]).astype(np.float32)


def design_names(f: BattleFeatures) -> list[str]:
    """Column names of ``design_matrix(f)`` (for feature importances and debugging)."""
    r = f.response_names
    ratio = [r[i] for i in _ratio_index(r)]
    return (
        [f"a_{n}" for n in r]
        + [f"b_{n}" for n in r]
        + [f"diff_{n}" for n in r]
        + [f"logratio_{n}" for n in ratio]
        + list(f.pair_names)
        + list(PROMPT_FEATURES)
    )


__all__ = [
    "FEATURE_VERSION",
    "PAIR_FEATURES",
    "PROMPT_FEATURES",
    "RESPONSE_FEATURES",
    "BattleFeatures",
    "battle_texts",
    "design_matrix",
    "design_names",
    "extract_features",
]
