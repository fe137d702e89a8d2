"""Text rendering for the synthetic data: counter-based randomness and pre-built sentence pools.

Why counter-based: every prompt and answer is a pure function of a 64-bit key (a splitmix64 hash of the
key, the turn and a salt gives each random choice). A prompt group can therefore be rendered again in any
shard, an exact-duplicate record can reuse another record's answer key, and the competition CSVs can copy an
LMSYS prompt, all without keeping text in memory. The per-choice randomness is vectorised in numpy; the
only Python loop is one string join per turn over pre-built sentences (no per-word loops).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from itertools import filterfalse

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
from numpy.typing import NDArray

from arenapref.synth.topics import (
    ANSWER_FRAMES,
    APOLOGIES,
    CODE_LINES,
    CONTEXT_FRAMES,
    ERROR_TEXTS,
    FIRST_NAMES,
    FOLLOW_UPS,
    HEADERS,
    NAME_PREFIXES,
    OPENERS,
    OTHER_PLACEHOLDERS,
    REFUSALS,
    TOPICS,
)
from arenapref.synth.vocab import LANGUAGES

U64 = NDArray[np.uint64]
I64 = NDArray[np.int64]
F64 = NDArray[np.float64]

_GOLDEN = np.uint64(0x9E3779B97F4A7C15)
_M1 = np.uint64(0xBF58476D1CE4E5B9)
_M2 = np.uint64(0x94D049BB133111EB)

CTX_POOL = 4000
ANS_POOL = 4000
LANG_POOL = 1500
MAX_CTX = 60
MAX_SENT = 120
LANG_CAP_SAMPLE = 300

# Salts: one per independent random choice, so choices never share bits.
S_TMPL, S_A, S_B, S_C, S_CTXN, S_CTX, S_FOLLOW, S_NAME1, S_NAME2, S_NOUN = range(1, 11)
S_KIND, S_NSENT, S_NSENT2, S_LIST, S_HEAD, S_CODE, S_BOLD, S_OPEN, S_REF, S_SENT, S_ERR, S_NCODE = range(
    20, 32
)
S_EDIT_OP, S_EDIT_POS, S_EDIT_WORD, S_EDIT_COS = range(40, 44)

EDIT_WORDS = ("please", "really", "quickly", "also", "just", "now", "exactly", "simple", "detailed", "short")
# Punctuation of every script the generator writes (ASCII and CJK), folded to spaces by str.translate.
_PUNCT = str.maketrans({c: " " for c in "!\"#$%&'()*+,-./:;<=>?@[\\]^_`{|}~\n\t。、，！？：；«»“”„…—–·¿¡"})
# Tokens a placeholder-aware key may mask: first names and the words/digits of `<TYPE>_<k>` placeholders.
_MASKABLE = frozenset(
    [n.lower() for n in FIRST_NAMES]
    + ["name", "organization", "location", "email", "address", "phone", "number"]
    + [str(i) for i in range(10)]
)
_M64 = (1 << 64) - 1


def mix(x: U64) -> U64:
    """splitmix64 finaliser, vectorised (numpy uint64 arithmetic wraps, which is what we want)."""
    with np.errstate(over="ignore"):
        z = x + _GOLDEN
        z = (z ^ (z >> np.uint64(30))) * _M1
        z = (z ^ (z >> np.uint64(27))) * _M2
        return z ^ (z >> np.uint64(31))


def h(keys: U64, salt: int, *parts: NDArray[np.int64] | int) -> U64:
    """A 64-bit hash of (key, salt, parts...) per element."""
    with np.errstate(over="ignore"):
        z = mix(keys ^ (np.uint64(salt) * _M1))
        for p in parts:
            z = mix(z ^ np.asarray(p).astype(np.uint64))
    return z


def uniform(keys: U64, salt: int, *parts: NDArray[np.int64] | int) -> F64:
    """Uniform [0, 1) per element, from the hash."""
    return (h(keys, salt, *parts) >> np.uint64(11)).astype(np.float64) * (1.0 / 9007199254740992.0)


def normal(keys: U64, salt: int, *parts: NDArray[np.int64] | int) -> F64:
    """Standard normal per element (Box-Muller over two hashed uniforms)."""
    u1 = uniform(keys, salt, *parts)
    u2 = uniform(keys, salt + 1000, *parts)
    return np.sqrt(-2.0 * np.log1p(-u1)) * np.cos(2.0 * np.pi * u2)


def pick(keys: U64, salt: int, n: int | NDArray[np.int64], *parts: NDArray[np.int64] | int) -> I64:
    """Integer in [0, n) per element."""
    return (h(keys, salt, *parts) % np.asarray(n).astype(np.uint64)).astype(np.int64)


def expand(counts: I64) -> tuple[I64, I64]:
    """For counts [2, 1, 3]: owner [0, 0, 1, 2, 2, 2] and position within owner [0, 1, 0, 0, 1, 2]."""
    owner = np.repeat(np.arange(len(counts), dtype=np.int64), counts)
    starts = np.cumsum(counts) - counts
    pos = np.arange(len(owner), dtype=np.int64) - np.repeat(starts, counts)
    return owner, pos


def norm_key(text: str) -> str:
    """A strict prompt key: case, punctuation and whitespace folded, names and placeholder parts dropped.

    Used to keep accidental collisions out of the data, so every exact match a later stage finds (with or
    without placeholder masking) is one the truth files record.
    """
    return " ".join(filterfalse(_MASKABLE.__contains__, text.lower().translate(_PUNCT).split()))


def py_hash(key: int, salt: int) -> int:
    """splitmix64 of (key, salt) on Python ints, for the few scalar draws (numpy scalars are slow)."""
    z = (key ^ (salt * 0xBF58476D1CE4E5B9)) & _M64
    z = (z + 0x9E3779B97F4A7C15) & _M64
    z = ((z ^ (z >> 30)) * 0xBF58476D1CE4E5B9) & _M64
    z = ((z ^ (z >> 27)) * 0x94D049BB133111EB) & _M64
    return z ^ (z >> 31)


def shingles(text: str, k: int = 5) -> set[str]:
    """Character k-grams of the lower-cased, whitespace-collapsed text (the truth's Jaccard basis)."""
    t = " ".join(text.lower().split())
    return {t[i : i + k] for i in range(max(1, len(t) - k + 1))}


def jaccard(a: str, b: str) -> float:
    """Jaccard similarity of character 5-gram shingles."""
    sa, sb = shingles(a), shingles(b)
    return len(sa & sb) / len(sa | sb) if sa or sb else 1.0


def small_edit(text: str, key: int) -> str:
    """A near-duplicate of ``text``: one word replaced, inserted or deleted, sometimes also a cosmetic change.

    At least one word-level change is always made, so the edited text never collapses onto the original
    under case/punctuation normalisation (the truth says "near", and a near match is what it must be).
    """
    words = text.split(" ")
    op = py_hash(key, S_EDIT_OP) % 3
    pos = py_hash(key, S_EDIT_POS) % max(1, len(words))
    word = EDIT_WORDS[py_hash(key, S_EDIT_WORD) % len(EDIT_WORDS)]
    if op == 0 and words[pos].strip(".,!?") != word:
        words[pos] = word
    elif op == 2 and len(words) > 6:
        del words[pos]
    else:
        words.insert(pos, word)
    out = " ".join(words)
    cos = py_hash(key, S_EDIT_COS) % 6
    if cos == 0:
        out = out.lower()
    elif cos == 1:
        out = out.rstrip(".?!") if out[-1:] in ".?!" else out + "?"
    elif cos == 2:
        out = out.replace(", ", " ", 1) if ", " in out else out + "!"
    if norm_key(out) == norm_key(text):  # e.g. replaced a word by itself after case folding
        out = out + " " + ("thanks" if word != "thanks" else "ok")
    return out


@dataclass(frozen=True, slots=True)
class Turns:
    """User turns to render: one row per prompt (group or battle)."""

    key: U64
    topic: I64
    lang: I64  # 0 = English, i + 1 = LANGUAGES[i]
    n_turns: I64
    ctx0: I64  # context sentences after the first request
    has_name: NDArray[np.bool_]
    name_prefix: NDArray[np.bool_]
    ph_other: NDArray[np.bool_]


@dataclass(frozen=True, slots=True)
class AnswerStyle:
    """Per-answer style parameters (one row per answer, i.e. per conversation or battle side)."""

    key: U64
    topic: I64
    lang: I64
    n_turns: I64
    length: F64
    markdown: F64
    refusal: F64


@dataclass(frozen=True, slots=True)
class AnswerFeatures:
    """Visible properties of rendered answers, per answer (all turns together)."""

    chars: I64
    has_list: NDArray[np.bool_]
    has_header: NDArray[np.bool_]
    has_code: NDArray[np.bool_]
    has_bold: NDArray[np.bool_]
    refusal: NDArray[np.bool_]
    error: NDArray[np.bool_]
    empty: NDArray[np.bool_]


class TextBank:
    """Pre-built sentence pools per topic and language, built once per seed."""

    def __init__(self, seed: int) -> None:
        rng = np.random.default_rng([seed, 7177])
        bank: list[str] = []
        self.ctx_off = np.zeros(len(TOPICS), dtype=np.int64)
        self.ans_off = np.zeros(len(TOPICS), dtype=np.int64)
        for t, topic in enumerate(TOPICS):
            for frames, size, offs in (
                (CONTEXT_FRAMES, CTX_POOL, self.ctx_off),
                (ANSWER_FRAMES, ANS_POOL, self.ans_off),
            ):
                offs[t] = len(bank)
                draw = 2 * size
                fi = rng.integers(0, len(frames), draw)
                n1 = rng.integers(0, len(topic.nouns), draw)
                n2 = (n1 + rng.integers(1, len(topic.nouns), draw)) % len(topic.nouns)
                vi = rng.integers(0, len(topic.verbs), draw)
                ji = rng.integers(0, len(topic.adjs), draw)
                pool = dict.fromkeys(
                    frames[f].format(n1=topic.nouns[a], n2=topic.nouns[b], v=topic.verbs[v], j=topic.adjs[j])
                    for f, a, b, v, j in zip(
                        fi.tolist(), n1.tolist(), n2.tolist(), vi.tolist(), ji.tolist(), strict=True
                    )
                )
                bank.extend(list(pool)[:size])  # distinct sentences: different picks, different text
        self.lang_off = np.zeros(len(LANGUAGES) + 1, dtype=np.int64)
        for li, lang in enumerate(LANGUAGES, start=1):
            self.lang_off[li] = len(bank)
            lens = rng.integers(5, 13, LANG_POOL + 100)
            idx = rng.integers(0, len(lang.words), int(lens.sum())).tolist()
            sep = " " if lang.spaced else ""
            pos = 0
            sents: dict[str, None] = {}
            for n in lens.tolist():
                words = [lang.words[i] for i in idx[pos : pos + n]]
                pos += n
                s = sep.join(words)
                sents[s[:1].upper() + s[1:] + lang.stop] = None
            bank.extend(list(sents)[:LANG_POOL])
        self.lang_max_ctx = _lang_max_ctx(bank, self.lang_off)
        self.bank = bank
        self.bank_arr = pa.array(bank, pa.string())
        self.head_arr = pa.array(_head_table(), pa.string())
        self.tail_arr = pa.array(_tail_table(), pa.string())
        self.prefix_arr = pa.array(["", " ", "\n\n1. "] + [f"\n{j + 1}. " for j in range(1, MAX_SENT + 1)])
        self.name_tmpl = [tuple(x for x in t.templates if "{name}" in x) for t in TOPICS]
        self.plain_tmpl = [tuple(x for x in t.templates if "{name}" not in x) for t in TOPICS]
        self.spaced = np.array([True] + [lang.spaced for lang in LANGUAGES])
        n_t = len(TOPICS)
        self.n_tmpl = np.array(
            [[len(self.plain_tmpl[i]), max(1, len(self.name_tmpl[i]))] for i in range(n_t)]
        )
        self.n_slot = np.array([[len(t.a), len(t.b), len(t.c)] for t in TOPICS])
        self.n_nouns = np.array([len(t.nouns) for t in TOPICS])
        width = int(self.n_tmpl.max())
        self.slot_used = np.zeros((n_t, 2, width, 3), dtype=bool)
        for i in range(n_t):
            for kind, templates in enumerate((self.plain_tmpl[i], self.name_tmpl[i])):
                for j, tmpl in enumerate(templates):
                    for q, slot in enumerate(("{a}", "{b}", "{c}")):
                        self.slot_used[i, kind, j, q] = slot in tmpl

    # ------------------------------------------------------------------ prompts
    def ctx_caps(self, lang: I64, n_turns: I64) -> tuple[I64, I64]:
        """Most context sentences of a first and of a later user turn, per row (see ``_lang_max_ctx``).

        A non-English prompt's turns share its language's cap (a later turn keeps at least one sentence, a
        first turn at least SHORT_CTX + 1), so a many-turn prompt is not longer than a one-turn one.
        """
        cap = self.lang_max_ctx[lang]
        later = np.where(lang == 0, MAX_CTX, np.maximum(1, cap // n_turns))
        first = np.where(lang == 0, MAX_CTX, np.maximum(SHORT_CTX + 1, cap - (n_turns - 1) * later))
        return first, later

    def user_turns(self, spec: Turns, names: bool) -> Flat:
        """Render the user turns of every row. ``names``: real first names instead of NAME_k placeholders."""
        owner, turn = expand(spec.n_turns)
        key = spec.key[owner]
        topic = spec.topic[owner]
        lang = spec.lang[owner]
        first = turn == 0
        ctx_n = np.where(
            first,
            spec.ctx0[owner],
            np.clip(np.floor(np.exp(1.0 + 1.0 * normal(key, S_CTXN, turn))) - 1, 0, MAX_CTX).astype(np.int64),
        )
        ctx_n = np.where(first, ctx_n, np.minimum(ctx_n, self.ctx_caps(lang, spec.n_turns[owner])[1]))
        c_owner, c_pos = expand(ctx_n)
        c_key, c_turn, c_topic, c_lang = key[c_owner], turn[c_owner], topic[c_owner], lang[c_owner]
        ctx_idx = np.where(
            c_lang == 0,
            self.ctx_off[c_topic] + pick(c_key, S_CTX, CTX_POOL, c_turn, c_pos),
            self.lang_off[c_lang] + pick(c_key, S_CTX, LANG_POOL, c_turn, c_pos),
        )
        ctx_all = list(map(self.bank.__getitem__, ctx_idx.tolist()))
        ctx_end = np.cumsum(ctx_n)
        ctx_start = (ctx_end - ctx_n).tolist()
        ctx_end_l = ctx_end.tolist()
        r_t = h(key, S_TMPL, turn).tolist()
        r_a = h(key, S_A, turn).tolist()
        r_b = h(key, S_B, turn).tolist()
        r_c = h(key, S_C, turn).tolist()
        r_f = h(key, S_FOLLOW, turn).tolist()
        r_n = h(key, S_NOUN, turn).tolist()
        n1 = pick(key, S_NAME1, len(FIRST_NAMES))
        n2 = ((n1 + 1 + pick(key, S_NAME2, len(FIRST_NAMES) - 1)) % len(FIRST_NAMES)).tolist()
        n1l = n1.tolist()
        other = pick(key, S_NAME2, len(OTHER_PLACEHOLDERS)).tolist()
        has_name = spec.has_name[owner].tolist()
        prefix = spec.name_prefix[owner].tolist()
        ph_other = spec.ph_other[owner].tolist()
        english = (lang == 0).tolist()
        bank = self.bank
        out: list[str] = []
        for i, (tn, tp, lg) in enumerate(zip(turn.tolist(), topic.tolist(), lang.tolist(), strict=True)):
            ctx = ctx_all[ctx_start[i] : ctx_end_l[i]]
            if names:
                name, name2 = FIRST_NAMES[n1l[i]], FIRST_NAMES[n2[i]]
            elif ph_other[i]:
                name, name2 = "NAME_1", OTHER_PLACEHOLDERS[other[i]]
            else:
                name, name2 = "NAME_1", "NAME_2"
            t = TOPICS[tp]
            if english[i]:
                if tn == 0:
                    pool = self.name_tmpl[tp] if has_name[i] and not prefix[i] else self.plain_tmpl[tp]
                    head = pool[r_t[i] % len(pool)].format(
                        a=t.a[r_a[i] % len(t.a)],
                        b=t.b[r_b[i] % len(t.b)],
                        c=t.c[r_c[i] % len(t.c)],
                        name=name,
                        name2=name2,
                    )
                    if prefix[i]:
                        head = NAME_PREFIXES[r_f[i] % len(NAME_PREFIXES)].format(name=name) + " " + head
                else:
                    head = FOLLOW_UPS[r_f[i] % len(FOLLOW_UPS)].format(
                        n=t.nouns[r_n[i] % len(t.nouns)], a=t.a[r_a[i] % len(t.a)]
                    )
                out.append(head + " " + " ".join(ctx) if ctx else head)
            else:
                parts = ctx if ctx else [bank[int(self.lang_off[lg]) + r_c[i] % LANG_POOL]]
                if tn == 0:
                    if r_n[i] % 2 == 0:
                        parts = [*parts, t.nouns[r_n[i] % len(t.nouns)]]
                    if has_name[i]:
                        parts = [name + ",", *parts]
                out.append((" " if self.spaced[lg] else "").join(parts))
        return Flat(out, _offsets(spec.n_turns))

    # ------------------------------------------------------------------ answers
    def answers(self, st: AnswerStyle, errors: bool) -> tuple[ArrowFlat, AnswerFeatures]:
        """Render every answer (all its assistant turns) and report its visible features.

        All string work happens in Arrow compute kernels: sentences are taken from the pool, prefixed
        (list numbering, separators), joined per turn, then wrapped in a head (opener, header, bold note,
        refusal, or an error text) and a tail (code block) picked from small pre-built tables.
        ``errors``: whether known error texts and empty turns may appear (LMSYS yes; the competition
        handles empty answers itself).
        """
        n = len(st.key)
        owner, turn = expand(st.n_turns)
        key = st.key[owner]
        topic, lang = st.topic[owner], st.lang[owner]
        u_kind = uniform(key, S_KIND, turn)
        is_err = (u_kind < 0.02) if errors else np.zeros(len(key), dtype=bool)
        is_empty = ((u_kind >= 0.02) & (u_kind < 0.025)) if errors else np.zeros(len(key), dtype=bool)
        is_ref = ~is_err & ~is_empty & (uniform(key, S_REF, turn) < st.refusal[owner])
        md = st.markdown[owner]
        mu = np.log(np.maximum(st.length[owner], 0.05) * 17.5) - 0.32
        n_sent = np.clip(np.floor(np.exp(mu + 0.8 * normal(key, S_NSENT, turn))) + 1, 1, MAX_SENT).astype(
            np.int64
        )
        n_sent = np.where(is_ref, np.minimum(n_sent, 1 + pick(key, S_NSENT2, 3, turn)), n_sent)
        n_sent = np.where(is_err | is_empty, 0, n_sent)
        has_list = (uniform(key, S_LIST, turn) < md) & (n_sent >= 3) & ~is_ref
        has_head = (uniform(key, S_HEAD, turn) < md * 0.6) & (n_sent >= 5) & ~is_ref
        code_topic = np.array([t.code for t in TOPICS])[topic]
        has_code = code_topic & (uniform(key, S_CODE, turn) < 0.35 + 0.5 * md) & (n_sent >= 2) & ~is_ref
        has_bold = (uniform(key, S_BOLD, turn) < md * 0.5) & (n_sent >= 1) & ~is_ref
        spaced = self.spaced[lang]

        # Sentences with their prefixes ("", " ", "\n\n1. ", "\n2. ", ...).
        s_owner, s_pos = expand(n_sent)
        s_key, s_turn, s_topic, s_lang = key[s_owner], turn[s_owner], topic[s_owner], lang[s_owner]
        sent_idx = np.where(
            s_lang == 0,
            self.ans_off[s_topic] + pick(s_key, S_SENT, ANS_POOL, s_turn, s_pos),
            self.lang_off[s_lang] + pick(s_key, S_SENT, LANG_POOL, s_turn, s_pos),
        )
        k = np.maximum(1, n_sent // 3)[s_owner]
        plain = np.where(s_pos == 0, 0, spaced[s_owner].astype(np.int64))
        listed = np.where(s_pos < k, plain, 2 + (s_pos - k))
        prefix = np.where(has_list[s_owner], listed, plain)
        pieces = pc.binary_join_element_wise(self.prefix_arr.take(prefix), self.bank_arr.take(sent_idx), "")
        body = pc.binary_join(
            pa.ListArray.from_arrays(pa.array(_offsets(n_sent).astype(np.int32)), pieces), ""
        )

        # Head: opener (or an apology on later turns), header, bold note, refusal; or an error text.
        n_open = len(OPENERS) + len(APOLOGIES)
        opener = np.where(lang == 0, pick(key, S_OPEN, len(OPENERS), turn), len(OPENERS) - 1)
        apology = (pick(key, S_OPEN + 100, 12, turn) == 0) & (turn > 0)
        opener = np.where(apology, len(OPENERS) + opener % len(APOLOGIES), opener)
        header = np.where(has_head, 1 + pick(key, S_HEAD + 100, len(HEADERS), turn), 0)
        refusal = np.where(is_ref, 1 + pick(key, S_REF + 100, len(REFUSALS), turn), 0)
        head = ((opener * (len(HEADERS) + 1) + header) * 2 + has_bold) * (len(REFUSALS) + 1) + refusal
        base = n_open * (len(HEADERS) + 1) * 2 * (len(REFUSALS) + 1)
        head = np.where(is_err, base + pick(key, S_ERR, len(ERROR_TEXTS), turn), head)
        head = np.where(is_empty, base + len(ERROR_TEXTS), head)
        tail = np.where(has_code, 1 + pick(key, S_NCODE, len(CODE_LINES), turn), 0)
        texts = pc.binary_join_element_wise(self.head_arr.take(head), body, self.tail_arr.take(tail), "")
        chars = np.bincount(owner, weights=pc.utf8_length(texts).to_numpy().astype(np.float64), minlength=n)

        def any_of(mask: NDArray[np.bool_]) -> NDArray[np.bool_]:
            return np.bincount(owner, weights=mask.astype(np.float64), minlength=n) > 0

        feats = AnswerFeatures(
            chars=chars.astype(np.int64),
            has_list=any_of(has_list),
            has_header=any_of(has_head),
            has_code=any_of(has_code),
            has_bold=any_of(has_bold),
            refusal=any_of(is_ref),
            error=any_of(is_err),
            empty=any_of(is_empty),
        )
        return ArrowFlat(texts, _offsets(st.n_turns)), feats


def _lang_max_ctx(bank: list[str], lang_off: I64) -> I64:
    """Most context sentences a turn may have, per language (index 0, English: MAX_CTX).

    Why: compare shingles bytes, and a script of 3-byte characters with a small word list has only a few
    hundred distinct byte 5-grams; two long random texts in it cover most of them and look like
    near-duplicates although they are different prompts. A turn is kept under the number of sentences
    that together hold as many distinct 5-grams as the language's whole pool (measured on its first
    LANG_CAP_SAMPLE sentences), so different groups stay well below the 0.8 threshold.
    """
    caps = np.full(len(lang_off), MAX_CTX, dtype=np.int64)
    for li in range(1, len(lang_off)):
        seen: set[bytes] = set()
        total = 0
        for s in bank[int(lang_off[li]) : int(lang_off[li]) + LANG_CAP_SAMPLE]:
            b = s.lower().encode("utf-8")
            grams = {b[i : i + 5] for i in range(len(b) - 4)}
            seen |= grams
            total += len(grams)
        caps[li] = min(MAX_CTX, max(SHORT_CTX + 1, len(seen) * LANG_CAP_SAMPLE // max(total, 1)))
    return caps


def _head_table() -> list[str]:
    """Every head combination (opener x header x bold x refusal), then error texts, then the empty answer."""
    out = []
    for o in (*OPENERS, *APOLOGIES):
        for hd in ("", *HEADERS):
            for bold in (False, True):
                for ref in ("", *REFUSALS):
                    out.append(
                        (o + " " if o else "")
                        + ("## " + hd + "\n\n" if hd else "")
                        + ("**Note:** " if bold else "")
                        + (ref + " " if ref else "")
                    )
    return [*out, *ERROR_TEXTS, ""]


def _tail_table() -> list[str]:
    """No code block, or a four-line code block starting at each line of CODE_LINES."""
    blocks = [
        "\n".join(CODE_LINES[(c + j) % len(CODE_LINES)] for j in range(4)) for c in range(len(CODE_LINES))
    ]
    return ["", *("\n\n```\n" + b + "\n```" for b in blocks)]


@dataclass(frozen=True, slots=True)
class ArrowFlat:
    """Like Flat, with the texts in an Arrow string array."""

    texts: pa.Array
    offsets: I64

    def rows(self) -> list[list[str]]:
        t = self.texts.to_pylist()
        o = self.offsets.tolist()
        return [t[o[i] : o[i + 1]] for i in range(len(o) - 1)]


@dataclass(frozen=True, slots=True)
class Flat:
    """Texts of many rows in one list: row i owns ``texts[offsets[i]:offsets[i + 1]]`` (one per turn)."""

    texts: list[str]
    offsets: I64

    def rows(self) -> list[list[str]]:
        """One list per row (for the few places that need them: CSV cells, edits)."""
        o = self.offsets.tolist()
        t = self.texts
        return [t[o[i] : o[i + 1]] for i in range(len(o) - 1)]


def _offsets(counts: I64) -> I64:
    out = np.zeros(len(counts) + 1, dtype=np.int64)
    np.cumsum(counts, out=out[1:])
    return out


def subset(spec: Turns, idx: Sequence[int] | NDArray[np.int64]) -> Turns:
    """Rows ``idx`` of a Turns spec."""
    ix = np.asarray(idx, dtype=np.int64)
    return Turns(
        spec.key[ix],
        spec.topic[ix],
        spec.lang[ix],
        spec.n_turns[ix],
        spec.ctx0[ix],
        spec.has_name[ix],
        spec.name_prefix[ix],
        spec.ph_other[ix],
    )


SHORT_CTX = 2


def request_signatures(bank: TextBank, spec: Turns) -> U64:
    """A hash of what a first turn's request is made of: topic, template and the slot values it uses.

    Two short prompts (at most SHORT_CTX context sentences) with the same signature would be accidental
    near-duplicates; callers lengthen all but the first of them (see ``spread_short_prompts``).
    """
    t_kind = np.where(spec.has_name & ~spec.name_prefix, 1, 0)
    tmpl = (h(spec.key, S_TMPL, 0) % bank.n_tmpl[spec.topic, t_kind].astype(np.uint64)).astype(np.int64)
    sig = mix(spec.topic.astype(np.uint64) ^ (t_kind.astype(np.uint64) << np.uint64(8)))
    sig = mix(sig ^ tmpl.astype(np.uint64) ^ (spec.name_prefix.astype(np.uint64) << np.uint64(16)))
    for j, salt in enumerate((S_A, S_B, S_C)):
        val = (h(spec.key, salt, 0) % bank.n_slot[spec.topic, j].astype(np.uint64)).astype(np.int64)
        sig = mix(sig ^ np.where(bank.slot_used[spec.topic, t_kind, tmpl, j], val, -1).astype(np.uint64))
    return sig


def structure_keys(bank: TextBank, spec: Turns) -> U64:
    """A hash of everything a first user turn's text is built from, names and placeholders left out.

    Equal keys mean equal text after masking names; pools hold no duplicate sentences, so different keys
    mean different text. This is how groups are kept distinct without rendering and normalising text.
    """
    english = spec.lang == 0
    owner, pos = expand(spec.ctx0)
    k, lang_o, topic_o = spec.key[owner], spec.lang[owner], spec.topic[owner]
    idx = np.where(
        lang_o == 0,
        bank.ctx_off[topic_o] + pick(k, S_CTX, CTX_POOL, 0, pos),
        bank.lang_off[lang_o] + pick(k, S_CTX, LANG_POOL, 0, pos),
    )
    ctx = np.zeros(len(spec.key), dtype=np.uint64)
    np.add.at(ctx, owner, mix(idx.astype(np.uint64) ^ (pos.astype(np.uint64) * _M1)))
    r_n = h(spec.key, S_NOUN, 0)
    noun = np.where(r_n % np.uint64(2) == 0, r_n % bank.n_nouns[spec.topic].astype(np.uint64), np.uint64(999))
    other = mix(
        spec.lang.astype(np.uint64)
        ^ (noun << np.uint64(16))
        ^ (spec.has_name.astype(np.uint64) << np.uint64(32))
    )
    base = np.where(english, request_signatures(bank, spec), mix(other ^ spec.topic.astype(np.uint64)))
    return mix(base ^ mix(ctx ^ spec.ctx0.astype(np.uint64)))


def spread_short_prompts(bank: TextBank, spec: Turns, rows: I64, taken: set[int]) -> None:
    """Give every short English first turn a request no other short prompt has; lengthen the rest.

    Short prompts are where accidental near-duplicates come from (same request, one similar context
    sentence), and the truth must list only planted ones. ``taken``: signatures already in use (updated).
    Non-English first turns always get at least three context sentences for the same reason.
    """
    non_en = rows[spec.lang[rows] != 0]
    spec.ctx0[non_en] = np.maximum(spec.ctx0[non_en], SHORT_CTX + 1)
    short = rows[(spec.lang[rows] == 0) & (spec.ctx0[rows] <= SHORT_CTX)]
    if len(short) == 0:
        return
    sig = request_signatures(bank, subset(spec, short)).tolist()
    for r, s in zip(short.tolist(), sig, strict=True):
        if s in taken:
            spec.ctx0[r] += SHORT_CTX
        else:
            taken.add(s)
