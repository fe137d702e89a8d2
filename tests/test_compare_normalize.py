"""Prompt normalisation and placeholder-aware keys (arenapref.compare.normalize)."""

from __future__ import annotations

import re
from pathlib import Path

import pyarrow as pa
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from arenapref.compare.normalize import (
    EMPTY_KEY,
    MASK,
    normalize_text,
    normalize_texts,
    normalize_turns,
    plain_and_masked,
    prompt_key,
    prompt_keys,
    turns_key,
    turns_keys,
)
from arenapref.readers import read_table
from arenapref.records import user_turns


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ("Ｈｅｌｌｏ  ＷＯＲＬＤ", "hello world"),  # NFKC full-width, case
        ("Straße", "strasse"),  # casefold, not just lower()
        ("ΣΑΣ", "σaσ"),  # final sigma folds like casefold; α is a look-alike of a (the skeleton)
        ("  many\t\tspaces\n\nhere  ", "many spaces here"),
        ("Really?!!! Yes...", "really? yes"),  # punctuation runs, one trailing mark dropped
        ("zero\u200bwidth\ufeff", "zerowidth"),  # format characters removed
        ("ctrl\x01char", "ctrl char"),
        ("&quot;carpe diem&quot; &lt;div&gt; &#39;x&#39;", "\"carpe diem\" <div> 'x'"),  # HTML references
        ("What\u2019s \u201cthis\u201d \u2014 don\u2019t", "what's \"this\" - don't"),  # typography
        ('a\\nb\\tc \\"q\\"', 'a b c "q"'),  # escaped control sequences and quotes
        ("soft\u00adhy\u2060phen\ufe0f", "softhyphen"),  # invisible characters
        ("braille\u2800blank\u3164filler", "braille blank filler"),  # blank look-alikes
        ("h\u0435ll\u043e w\u043erld", "hello world"),  # Cyrillic look-alikes (the skeleton)
        ("", ""),
        (None, ""),
    ],
)
def test_normalize_text(raw: str | None, expected: str) -> None:
    assert normalize_text(raw) == expected


def test_placeholders_become_one_mask_token() -> None:
    assert normalize_text("Write a poem for NAME_1.", mask=True) == f"write a poem for {MASK}"
    # Several placeholder styles, and adjacent ones merge into one token.
    assert normalize_text("NAME_1 NAME_2 works at ORGANIZATION_2", mask=True) == f"{MASK} works at {MASK}"
    assert normalize_text("mail EMAIL_ADDRESS_1 now", mask=True) == f"mail {MASK} now"
    # Without masking, placeholders are ordinary text; lower-case identifiers are never placeholders.
    assert normalize_text("NAME_1", mask=False) == "name_1"
    assert normalize_text("x_1 = y_2", mask=True) == "x_1 = y_2"


def test_keys_with_and_without_masking() -> None:
    a, b = "Write a poem for NAME_1", "write a poem for  NAME_7!"
    assert prompt_key(a) == prompt_key(b)
    assert prompt_key(a, mask=False) != prompt_key(b, mask=False)
    assert prompt_key("Write a poem for Maria") != prompt_key(a)  # names only with mask_pii
    assert prompt_key("Write a poem for Maria", mask_pii=True) == prompt_key(a, mask_pii=True)
    assert len(prompt_key(a)) == 32 and re.fullmatch(r"[0-9a-f]{32}", prompt_key(a))


@pytest.mark.parametrize(
    ("left", "right"),
    [
        ("Write to Maria Garcia today", "Write to NAME_1 NAME_2 today"),
        ("Write to NAME_1 Garcia today", "Write to NAME_1 today"),
        ("Contact bob.smith@example.com please", "Contact EMAIL_ADDRESS_1 please"),
        ("Call +1 555 123 4567 now", "Call PHONE_NUMBER_1 now"),
        ("See https://example.org/a?b=c for details", "See www.other.net for details"),
    ],
)
def test_pii_masking_merges(left: str, right: str) -> None:
    assert prompt_key(left, mask_pii=True) == prompt_key(right, mask_pii=True)
    assert prompt_key(left, mask_pii=False) != prompt_key(right, mask_pii=False)


def test_pii_masking_keeps_ordinary_words_and_numbers() -> None:
    # Names that are also sentence-initial English words are not in the list; plain numbers stay.
    assert MASK not in normalize_text("Will you help Mark with the May report?", mask_pii=True)
    assert normalize_text("The year 2023 had 365 days", mask_pii=True) == "the year 2023 had 365 days"


def test_vectorised_matches_scalar_and_handles_nulls_and_slices() -> None:
    texts = ["Hello NAME_1!", None, "", "Ünïcödé  Straße", "Write for Maria"]
    arr = pa.array(texts, pa.string())
    assert prompt_keys(arr, mask_pii=True).to_pylist() == [prompt_key(t, mask_pii=True) for t in texts]
    assert prompt_keys(arr.slice(2)).to_pylist() == [prompt_key(t) for t in texts[2:]]
    assert prompt_keys(pa.chunked_array([arr[:2], arr[2:]])).to_pylist() == prompt_keys(arr).to_pylist()
    assert prompt_key(None) == prompt_key("   ") == EMPTY_KEY
    assert normalize_texts(pa.array(["A", None])).to_pylist() == ["a", ""]


def test_turns_keys() -> None:
    rows = [["First", "Second NAME_2"], ["First"], [], None, [None], ["first", "second NAME_9"]]
    arr = pa.array(rows, pa.list_(pa.string()))
    keys = turns_keys(arr).to_pylist()
    assert keys == [turns_key(r or []) for r in rows]
    assert keys[1] == prompt_key("First")  # one turn: same key as the prompt itself
    assert keys[0] == keys[5] != keys[1]  # case and placeholder number do not matter; turn count does
    assert keys[2] == keys[3] == keys[4] == EMPTY_KEY
    assert turns_keys(arr.slice(1, 2)).to_pylist() == keys[1:3]
    assert normalize_turns(arr).to_pylist()[0] == f"first\x1fsecond {MASK}"


@settings(max_examples=60, deadline=None)
@given(st.lists(st.one_of(st.none(), st.text(max_size=40)), min_size=1, max_size=8))
def test_vectorised_equals_scalar_on_any_text(texts: list[str | None]) -> None:
    arr = pa.array(texts, pa.string())
    assert normalize_texts(arr, mask=True).to_pylist() == [normalize_text(t, mask=True) for t in texts]


PAIR_TEXTS = [
    "Write a poem for NAME_1 and NAME_2",
    "Ask Maria Garcia at maria@example.com or +1 555 123 4567, see https://x.org",
    "no mask here at all",
    "Ｈｅｌｌｏ NAME_3\u200b &quot;q&quot;",
    "h\u0435llo ORGANIZATION_2!!!",
    "\ue000 a stray mask code point",
    "",
    None,
]


@pytest.mark.parametrize("mask_pii", [False, True])
def test_plain_and_masked_equal_the_two_normalisations(mask_pii: bool) -> None:
    arr = pa.array(PAIR_TEXTS, pa.string())
    plain, masked = plain_and_masked(arr, mask_pii)
    assert plain.to_pylist() == normalize_texts(arr).to_pylist()
    assert masked.to_pylist() == normalize_texts(arr, mask=True, mask_pii=mask_pii).to_pylist()
    assert plain.to_pylist()[2] == masked.to_pylist()[2] == "no mask here at all"


@settings(max_examples=60, deadline=None)
@given(st.lists(st.one_of(st.none(), st.text(max_size=40), st.sampled_from(PAIR_TEXTS)), max_size=8))
def test_plain_and_masked_on_any_text(texts: list[str | None]) -> None:
    arr = pa.array(texts, pa.string())
    plain, masked = plain_and_masked(arr, mask_pii=True)
    assert plain.to_pylist() == normalize_texts(arr).to_pylist()
    assert masked.to_pylist() == normalize_texts(arr, mask=True, mask_pii=True).to_pylist()


NAMES = ["Maria", "John", "Olga", "Carlos", "Emma", "Ahmed", "Sofia", "Wei", "Ivan", "Laura"]
PLACEHOLDER = re.compile(r"\bNAME_(\d+)\b")


def real_name_k_prompts(shared_data: Path) -> tuple[list[list[str | None]], list[list[str | None]]]:
    """User turns of the real LMSYS sample that contain NAME_k, and a copy with real first names."""
    table = read_table(shared_data / "lmsys_chat_1m_sample")
    turns = [t for t in user_turns(table).to_pylist() if any(x and PLACEHOLDER.search(x) for x in t)]

    def fill(text: str | None) -> str | None:
        if text is None:
            return None
        return PLACEHOLDER.sub(lambda m: NAMES[(int(m.group(1)) - 1) % len(NAMES)], text)

    return turns, [[fill(x) for x in t] for t in turns]


def test_real_name_k_prompts_match_only_with_masking(shared_data: Path) -> None:
    original, named = real_name_k_prompts(shared_data)
    assert len(original) >= 20  # the sample holds dozens of conversations with NAME_k placeholders
    a, b = pa.array(original), pa.array(named)
    masked_equal = [
        x == y
        for x, y in zip(
            turns_keys(a, mask_pii=True).to_pylist(), turns_keys(b, mask_pii=True).to_pylist(), strict=True
        )
    ]
    plain_equal = [
        x == y
        for x, y in zip(
            turns_keys(a, mask=False).to_pylist(), turns_keys(b, mask=False).to_pylist(), strict=True
        )
    ]
    assert all(masked_equal)
    assert not any(plain_equal)


def test_text_sizes_weigh_wide_scripts() -> None:
    """A Han, kana or Hangul character counts WIDE_WEIGHT characters; other text its characters."""
    from arenapref.compare.normalize import WIDE_WEIGHT, text_sizes

    got = text_sizes(pa.array(["abc", "日本語のテキスト abc", "한국어", "été", None])).to_pylist()
    assert got == [3, 8 * WIDE_WEIGHT + 4, 3 * WIDE_WEIGHT, 3, 0]
