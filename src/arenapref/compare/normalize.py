"""Prompt normalisation and placeholder-aware prompt keys, shared by compare, mining and the leakage guard.

Why a key and not the raw text: the same request arrives with cosmetic differences (full-width letters,
case, doubled spaces, "!!!" versus "!"), and LMSYS-Chat-1M replaced personal names by ``NAME_1``,
``NAME_2``... so "Write a poem for NAME_1" and "Write a poem for Maria" are one request. A key folds those
differences away so that equal keys mean "the same prompt".

The pipeline (identical for the scalar and the vectorised functions, because the scalar ones run the
vectorised code on a one-element array). Every matcher (compare's keys and near-duplicates, the leakage
guard's prefix keys, containment and name spans, mining's grouping) cuts its text from this one function,
so a variant folded here is folded everywhere:

0. HTML character references are decoded (``&quot;`` -> ``"``, ``&lt;div&gt;`` -> ``<div>``, ``&#39;``):
   prompts scraped from web pages carry them. Only rows holding ``&`` or a backslash are decoded (in
   Python; two byte scans find them).
   Escaped control sequences are decoded: a literal backslash-n/r/t becomes whitespace and ``\\"``,
   ``\\'``, ``\\\\`` lose their backslash (code prompts copied through JSON twice).
1. Unicode NFKC (full-width and compatibility forms become plain ones); format and invisible characters
   (zero-width spaces, BOM, soft hyphen, bidi marks, variation selectors, the combining grapheme joiner)
   are removed; blank look-alikes (braille blank, Hangul fillers) and control characters become spaces;
   typographic quotes, primes and dashes fold to ``'``, ``"`` and ``-``.
2. With ``mask=True``: every ``<TYPE>_<k>`` placeholder (``NAME_1``, ``ORGANIZATION_2``, ``EMAIL_1``...)
   becomes one mask token. With ``mask_pii=True`` also URLs, e-mail addresses, phone numbers and capitalised
   personal first names (a compact embedded list, plus a capitalised surname right after one) become the
   mask token. Adjacent mask tokens merge, so "NAME_1 NAME_2", "NAME_1" and "Maria Garcia" agree. (Names
   outside the list are matched by the guard's name-span rule, ``compare.guard``.)
3. Case folding (``str.casefold`` semantics: lower case plus the extra folds such as ß -> ss), then the
   confusables skeleton: Cyrillic and Greek letters that look like Latin ones (а, е, о, р, с, х, ο, ν...)
   become those Latin letters, so a prompt with look-alikes spliced in keys like the plain one. The map
   is applied to every row (as Unicode's UTS #39 skeleton is), so a Cyrillic prompt and the same prompt
   inside a mixed-script turn still agree; two texts merge only if they differ by look-alikes alone.
4. A run of punctuation characters becomes its first character ("?!!" -> "?", "..." -> ".").
5. Whitespace runs become one space; leading/trailing space and one trailing sentence mark are dropped.

``plain_and_masked`` gives both normalisations of the same strings (the guard's plain and masked texts)
at little more than the cost of one. Steps 1 and 3's extras run on non-ASCII rows only (they cannot
change ASCII text), which keeps the cost on typical English logs to the ASCII steps.

``text_sizes`` measures normalised text for the guard's minimum: a Han, kana or Hangul character counts
as several (``WIDE_WEIGHT``), because in those scripts one character is about a word.

Keys are the first 16 bytes of BLAKE2b over the UTF-8 normalised text, as 32 hex characters. Why this
choice: it is stable across processes, Python and library versions (unlike Python's ``hash`` or Polars'
hash), short enough that 1M keys cost ~40 MB in an Arrow string column, and at 128 bits accidental
collisions are out of the question at any realistic size. Null, empty and whitespace-only prompts all get
``EMPTY_KEY``; callers that must not treat empty prompts as matching each other (the guard, compare)
skip that key.

``turns_key`` joins the normalised user turns with a separator that cannot survive normalisation
(U+001F), so ``turns_key([t]) == prompt_key(t)`` and a multi-turn key never equals a single-turn one by
accident.
"""

from __future__ import annotations

import hashlib
import html
import re
from collections.abc import Sequence
from dataclasses import dataclass

import polars as pl
import pyarrow as pa
import pyarrow.compute as pc

__all__ = [
    "EMPTY_KEY",
    "MASK",
    "TURN_SEPARATOR",
    "WIDE_RANGES",
    "WIDE_WEIGHT",
    "normalize_text",
    "normalize_texts",
    "normalize_turns",
    "plain_and_masked",
    "prompt_key",
    "prompt_keys",
    "text_sizes",
    "turns_key",
    "turns_keys",
]

MASK = "\ue000"
"""The mask token: a private-use code point, so it survives every later step and is never typed by users."""

TURN_SEPARATOR = "\x1f"
"""Joins normalised turns in ``turns_key``; control characters are turned into spaces before, so no turn
can contain it."""

KEY_BYTES = 16

# `<TYPE>_<k>` placeholders as released in LMSYS-Chat-1M (NAME_1) and the related styles (ORGANIZATION_2,
# EMAIL_ADDRESS_1). Two or more capitals keep ordinary identifiers such as `x_1` out.
_PLACEHOLDER = r"(?-u:\b)[A-Z]{2,}(?:_[A-Z]+)*_[0-9]+(?-u:\b)"
_URL = r"(?i)\b(?:https?://|ftp://|www\.)[^\s<>\"'`]+"
_EMAIL = r"(?i)\b[a-z0-9][a-z0-9._%+-]*@[a-z0-9-]+(?:\.[a-z0-9-]+)*\.[a-z]{2,}\b"
# Phone numbers need separators between digit groups so that plain numbers (years, amounts) stay. ASCII
# digits and word boundaries: the Unicode classes made this the slowest pattern by far.
_PHONE = (
    r"(?:\+[0-9]{1,3}[ .-]?)?(?:\([0-9]{2,4}\)[ .-]?)?"
    r"(?-u:\b)[0-9]{3,4}[ .-][0-9]{3,4}(?:[ .-][0-9]{2,4})?(?-u:\b)"
)

# Common first names across the languages seen in Arena logs. Names that are also ordinary capitalised
# English words at the start of a sentence (Will, May, Mark, Grace, Hope, Bill, Rose, June, Joy, Art, Max,
# Page, Frank, Jack, Sky, Faith, Summer, Lily) are deliberately left out: masking them would merge
# prompts that differ in meaning.
_FIRST_NAMES = """
Aaron Abdul Abigail Adam Adrian Agnieszka Ahmed Aisha Alan Albert Alejandro Alex Alexander Alexandra Alexei
Ali Alice Alicia Alina Amanda Amara Amelia Amir Amit Amy Ana Andrea Andreas Andrew Andrei Andrey Angela
Anna Anne Anthony Antonio Anya Arjun Ashley Audrey Barbara Benjamin Bernard Beth Betty Bob Brandon Brenda
Brian Bruno Camila Carl Carla Carlos Carmen Carol Caroline Catherine Charles Charlie Charlotte Chen Chloe
Chris
Christian Christina Christine Christopher Claire Claudia Cynthia Daniel Daniela David Deborah Dennis Diana
Diego Dmitri Dmitry Donald Donna Dorothy Douglas Dylan Edward Elena Eli Elizabeth Ella Emily Emma Eric Erik
Ethan Eva Evelyn Fatima Felipe Fernando Fiona Francesca Francisco Gabriel Gabriela Gary George Giorgio
Giulia Giuseppe Gloria Greg Gregory Hana Hannah Hans Harry Helen Henry Hiroshi Hugo Ian Igor Irina Isabel
Isabella Ivan Jacob James Jane Janet Jason Javier Jean Jennifer Jeremy Jessica Jim Joan Joe John Jonathan
Jorge Jose Joseph Joshua Juan Julia Julian Julie Justin Karen Katherine Kathleen Kate Kelly Kenji Kenneth
Kevin Kim Kyle Laura Lauren Leo Li Linda Lisa Liu Lorenzo Louis Lucas Lucia Luis Luca Luke Maria Marie
Marina Mario Marta Martha Martin Mary Matthew Maxim Megan Mehmet Melissa Michael Michelle Miguel Mike
Mohamed Mohammed Muhammad Nancy Natalia Natasha Nathan Nicholas Nicole Nikita Nina Noah Oleg Olga Oliver
Olivia Omar Oscar Pablo Pamela Patricia Patrick Paul Paula Pedro Peter Pierre Priya Rachel Rahul Raj
Ralph Raymond Rebecca Ricardo Richard Robert Roberto Roger Ronald Ryan Sakura Sam Samantha Samuel Sandra
Sara Sarah Scott Sebastian Sergei Sergey Sharon Sofia Sophia Sophie Stephanie Stephen Steven Susan Takeshi
Tanaka Thomas Timothy Tom Tyler Valentina Victor Victoria Vincent Virginia Walter Wang Wei William Xavier
Yuki Yusuf Zhang Zoe
""".split()  # noqa: SIM905  (a word list reads better as text)
_NAMES = r"\b(?:" + "|".join(sorted(set(_FIRST_NAMES))) + r")\b"
# A capitalised word right after a masked name is taken as its surname, whichever way the name was masked,
# so "Maria Garcia", "NAME_1 Garcia" and "NAME_1 NAME_2" all end as one mask token.
_SURNAME = MASK + r"[ \t]+[A-Z][a-z]+(?:-[A-Z][a-z]+)?\b"
_MASK_RUN = MASK + r"(?:[\s,&]*(?:and\s+)?" + MASK + ")+"


# Step 0: an HTML character reference (named, decimal or hexadecimal), and escaped control sequences.
_HTML_REF = re.compile(r"&(?:#[0-9]{1,7}|#[xX][0-9a-fA-F]{1,6}|[A-Za-z][A-Za-z0-9]{1,31});")
_ESCAPED_CONTROL = re.compile(r"\\[nrt]")
_ESCAPED_QUOTE = re.compile(r"\\([\"'\\/])")
# Step 1: characters that render as nothing (removed) and blanks that are not Unicode spaces (a space).
# \p{Cf} covers zero-width spaces and joiners, BOM, soft hyphen and bidi marks.
_INVISIBLE = r"[\p{Cf}\x{034F}\x{FE00}-\x{FE0F}\x{E0100}-\x{E01EF}" + MASK + "]"
_BLANKS = r"[\x{2800}\x{3164}\x{FFA0}\x{115F}\x{1160}]"
_TYPOGRAPHIC = {
    "'": "\u2018\u2019\u201a\u201b\u2032\u2035\u02bc\u02b9\u00b4",
    '"': "\u201c\u201d\u201e\u201f\u2033\u2036\u00ab\u00bb\u2039\u203a\u02ba",
    "-": "\u2010\u2011\u2012\u2013\u2014\u2015\u2212\u2043\ufe58\ufe63",
}
# Step 3: the confusables skeleton, on case-folded text. Lower-case Cyrillic and Greek letters that look
# like a Latin letter, plus the lower case of capitals that do (В -> в -> b), as in Unicode's
# confusables.txt restricted to letters.
_CONFUSABLES = dict(
    zip(
        "аеорсухѕіјԁһԛԝӏвкмнтԍɡαονριυκτχεηβζμ",
        "aeopcyxsijdhqwlbkmhtggaovpiuktxehbzm",
        strict=True,
    )
)
WIDE_WEIGHT = 3
"""How many characters a Han, kana or Hangul character counts as in ``text_sizes``: about the letters of
one word of a spaced script, since one such character is about a word."""
WIDE_RANGES = (
    "\u1100-\u11ff\u2e80-\u2fdf\u3040-\u30ff\u3100-\u31ff\u3400-\u4dbf\u4e00-\u9fff\uac00-\ud7af"
    "\uf900-\ufaff\U00020000-\U0002fa1f"
)
"""Han, kana, Hangul and their extensions, as character-class ranges (for RE2 and Python's ``re``)."""
_WIDE = "[" + WIDE_RANGES + "]"


def _casefold_extras() -> dict[str, str]:
    """Characters that are already lower case but that ``str.casefold`` still changes (ß, ς, ſ, ...).

    Polars lowercases; this table finishes the job so the result equals Python's ``casefold``. All such
    characters lie in the Basic Multilingual Plane, so the scan is short (~30 ms at import).
    """
    out = {}
    for i in range(0x10000):
        if 0xD800 <= i < 0xE000:
            continue
        c = chr(i)
        if c.lower() == c and c.casefold() != c:
            out[c] = c.casefold()
    return out


_CASEFOLD_EXTRAS = _casefold_extras()


def _run(arr: pa.Array, expr: pl.Expr) -> pa.Array:
    """Apply one Polars expression (on column ``t``) to a string array; vectorised, runs in Rust."""
    frame = pl.DataFrame({"t": pl.Series("t", arr, dtype=pl.String)})
    return frame.select(expr).to_series().to_arrow().cast(pa.string())


def _fold_unicode(t: pl.Expr) -> pl.Expr:
    """Step 1 for non-ASCII rows only: NFKC, invisible characters, blank look-alikes, typography."""
    e = t.str.normalize("NFKC").str.replace_all(_INVISIBLE, "").str.replace_all(_BLANKS, " ")
    return e.str.replace_many(
        [c for cs in _TYPOGRAPHIC.values() for c in cs],
        [k for k, cs in _TYPOGRAPHIC.items() for _ in cs],
    )


def _main_expr(t: pl.Expr, mask: bool, mask_pii: bool) -> pl.Expr:
    """Steps 1 (control characters), 2, 3 (lower case), 4 and 5, for every row."""
    # Runs of whitespace and control characters become one space; single spaces are left alone because
    # rewriting every space costs several times more.
    e = t.str.replace_all(r"[\s\p{Cc}]{2,}|[\s\p{Cc}--\x20]", " ")
    if mask or mask_pii:
        e = e.str.replace_all(_PLACEHOLDER, MASK)
    if mask_pii:
        for pattern in (_URL, _EMAIL, _PHONE, _NAMES, _SURNAME):
            e = e.str.replace_all(pattern, MASK)
    if mask or mask_pii:
        e = e.str.replace_all(_MASK_RUN, MASK)
    e = e.str.to_lowercase().str.replace_all(r"(\p{P})\p{P}+", "${1}").str.strip_chars(" ")
    return e.str.replace_all(r" ?[.!?。！？]$", "")


def _casefold_rest(t: pl.Expr) -> pl.Expr:
    """Step 3 for non-ASCII rows: the folds ``str.casefold`` adds to lower case, then the skeleton."""
    folds = {**_CASEFOLD_EXTRAS, **_CONFUSABLES}
    return t.str.replace_many(list(folds), list(folds.values()))


def _decode(text: str) -> str:
    """Step 0 on one text: escaped control sequences, escaped quotes, HTML character references."""
    text = _ESCAPED_QUOTE.sub(r"\1", _ESCAPED_CONTROL.sub(" ", text))
    return html.unescape(text) if _HTML_REF.search(text) else text


def _decode_rows(arr: pa.Array) -> pa.Array:
    """Step 0, in Python for the (few) rows holding a backslash or an ampersand; two byte scans find
    them, so rows without either cost next to nothing."""
    has = pc.or_(pc.match_substring(arr, "&"), pc.match_substring(arr, "\\"))
    if not pc.any(has).as_py():
        return arr
    rows = pc.filter(arr, has).to_pylist()
    return pc.replace_with_mask(arr, has, pa.array([_decode(r) for r in rows], pa.string()))


def _as_string_array(arr: pa.Array | pa.ChunkedArray) -> pa.Array:
    if isinstance(arr, pa.ChunkedArray):
        arr = arr.combine_chunks() if arr.num_chunks else pa.array([], pa.string())
    if pa.types.is_large_string(arr.type) or pa.types.is_string_view(arr.type):
        return arr.cast(pa.string())
    if not pa.types.is_string(arr.type) and not pa.types.is_null(arr.type):
        raise TypeError(f"expected a string array, got {arr.type}")
    return arr.cast(pa.string())


@dataclass(frozen=True)
class _Folded:
    """Texts after steps 0 and 1 (decoding and Unicode folding), which do not depend on the masks."""

    texts: pa.Array
    non_ascii: pa.Array  # rows that were not ASCII before folding (the only ones step 3's extras touch)

    def filter(self, rows: pa.Array) -> _Folded:
        return _Folded(pc.filter(self.texts, rows), pc.filter(self.non_ascii, rows))


def _fold(arr: pa.Array | pa.ChunkedArray) -> _Folded:
    """Steps 0 and 1 of every string of ``arr`` (nulls become "")."""
    arr = _decode_rows(pc.fill_null(_as_string_array(arr), ""))
    non_ascii = pc.invert(pc.string_is_ascii(arr))
    if pc.any(non_ascii).as_py():
        arr = pc.replace_with_mask(
            arr, non_ascii, _run(pc.filter(arr, non_ascii), _fold_unicode(pl.col("t")))
        )
    return _Folded(arr, non_ascii)


def _finish(folded: _Folded, mask: bool, mask_pii: bool) -> pa.Array:
    """Steps 1 (control characters) to 5 of folded texts."""
    out = _run(folded.texts, _main_expr(pl.col("t"), mask, mask_pii))
    non_ascii = folded.non_ascii
    if pc.any(non_ascii).as_py():
        out = pc.replace_with_mask(
            out, non_ascii, _run(pc.filter(out, non_ascii), _casefold_rest(pl.col("t")))
        )
    return out


def normalize_texts(arr: pa.Array | pa.ChunkedArray, mask: bool = False, mask_pii: bool = False) -> pa.Array:
    """Normalise every string of ``arr`` (nulls become ""); see the module docstring for the steps.

    This is the text that keys hash and that near-duplicate shingles are cut from. ASCII rows skip the
    Unicode steps (NFKC and the extra case folds cannot change them), which halves the time on typical
    logs.
    """
    return _finish(_fold(arr), mask, mask_pii)


def plain_and_masked(arr: pa.Array | pa.ChunkedArray, mask_pii: bool = False) -> tuple[pa.Array, pa.Array]:
    """``normalize_texts(arr)`` and ``normalize_texts(arr, mask=True, mask_pii=mask_pii)`` at little more
    than the cost of one, for a caller that needs both (the guard).

    Steps 0 and 1 run once. The plain text is computed only where the masked one holds a mask token:
    elsewhere no mask pattern matched (the input holds no mask code point after step 1, and no later
    step removes one), so the two are equal.
    """
    folded = _fold(arr)
    masked = _finish(folded, True, mask_pii)
    changed = pc.match_substring(masked, MASK)
    if not pc.any(changed).as_py():
        return masked, masked
    plain = pc.replace_with_mask(masked, changed, _finish(folded.filter(changed), False, False))
    return plain, masked


def text_sizes(texts: pa.Array | pa.ChunkedArray) -> pa.Array:
    """The size of each normalised text for a minimum length: characters, a wide-script character
    counting ``WIDE_WEIGHT`` times (so a 22-character Chinese prompt weighs like a 66-letter English one)."""
    arr = pc.fill_null(_as_string_array(texts), "")
    sizes = pc.utf8_length(arr).cast(pa.int64())
    non_ascii = pc.invert(pc.string_is_ascii(arr))
    if not pc.any(non_ascii).as_py():
        return sizes
    wide = pc.count_substring_regex(pc.filter(arr, non_ascii), _WIDE).cast(pa.int64())
    extra = pc.multiply(wide, WIDE_WEIGHT - 1)
    return pc.replace_with_mask(sizes, non_ascii, pc.add(pc.filter(sizes, non_ascii), extra))


def normalize_text(text: str | None, mask: bool = False, mask_pii: bool = False) -> str:
    """Normalise one prompt (NFKC, optional masks, casefold, punctuation runs, whitespace)."""
    return str(normalize_texts(pa.array([text], pa.string()), mask, mask_pii)[0].as_py())


def _hash_texts(texts: pa.Array) -> pa.Array:
    """BLAKE2b-128 hex of each (non-null) UTF-8 string."""
    blake = hashlib.blake2b
    return pa.array(
        [blake(t.encode("utf-8"), digest_size=KEY_BYTES).hexdigest() for t in texts.to_pylist()],
        pa.string(),
    )


EMPTY_KEY = hashlib.blake2b(b"", digest_size=KEY_BYTES).hexdigest()
"""The key of a null, empty or whitespace-only prompt."""


def prompt_keys(arr: pa.Array | pa.ChunkedArray, mask: bool = True, mask_pii: bool = False) -> pa.Array:
    """Vectorised ``prompt_key``: one 32-hex-character key per string (never null)."""
    return _hash_texts(normalize_texts(arr, mask, mask_pii))


def prompt_key(text: str | None, mask: bool = True, mask_pii: bool = False) -> str:
    """The key of one prompt: equal keys mean the same request up to case, spacing and masked PII."""
    return str(prompt_keys(pa.array([text], pa.string()), mask, mask_pii)[0].as_py())


def _as_list_array(list_arr: pa.Array | pa.ChunkedArray) -> pa.Array:
    if isinstance(list_arr, pa.ChunkedArray):
        list_arr = list_arr.combine_chunks() if list_arr.num_chunks else pa.array([], pa.list_(pa.string()))
    if not (pa.types.is_list(list_arr.type) or pa.types.is_large_list(list_arr.type)):
        raise TypeError(f"expected a list<string> array, got {list_arr.type}")
    return list_arr


def normalize_turns(
    list_arr: pa.Array | pa.ChunkedArray, mask: bool = True, mask_pii: bool = False
) -> pa.Array:
    """The normalised user turns of each row joined by ``TURN_SEPARATOR`` (a null list gives "")."""
    list_arr = _as_list_array(list_arr)
    if list_arr.offset or list_arr.null_count:
        list_arr = pc.if_else(pc.is_null(list_arr), pa.scalar([], list_arr.type), list_arr)
    norm = normalize_texts(list_arr.values, mask, mask_pii)
    rebuilt = pa.ListArray.from_arrays(list_arr.offsets, norm)
    return pc.binary_join(rebuilt, TURN_SEPARATOR)


def turns_keys(list_arr: pa.Array | pa.ChunkedArray, mask: bool = True, mask_pii: bool = False) -> pa.Array:
    """Vectorised ``turns_key`` over a ``list<string>`` array (e.g. ``records.user_turns(table)``)."""
    return _hash_texts(normalize_turns(list_arr, mask, mask_pii))


def turns_key(turns: Sequence[str | None], mask: bool = True, mask_pii: bool = False) -> str:
    """The key of a whole list of user turns; ``turns_key([t]) == prompt_key(t)``."""
    arr = pa.array([list(turns)], pa.list_(pa.string()))
    return str(turns_keys(arr, mask, mask_pii)[0].as_py())
