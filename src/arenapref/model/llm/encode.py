"""Battles as token sequences: prompt, answer A and answer B under one token budget.

One sequence per battle and order: ``[specials] Prompt: <prompt> Response A: <a> Response B: <b> [specials]``.
The classification head reads the last token, so the whole battle must fit in ``max_length``; how the
tokens are shared is ``split_budget``'s job (see ``LLMParams`` for the rule), and which turns of a long
conversation survive is the ``truncation`` rule's (``last_turn`` or ``per_part``, below). The parts are
tokenized once and the swapped order is assembled from the same parts, so the model sees exactly the same
tokens with A and B exchanged (test-time swap averaging relies on that).

No torch here: this module works on lists of token ids and any Hugging Face tokenizer.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import pyarrow as pa

from arenapref.errors import ArenaprefError

PROMPT_MARK = "Prompt:\n"
ANSWER_A_MARK = "\n\nResponse A:\n"
ANSWER_B_MARK = "\n\nResponse B:\n"
TURN_SEPARATOR = "\n\n"


@dataclass(frozen=True)
class Layout:
    """The fixed token ids around the three parts, found once per tokenizer."""

    prefix: list[int]  # the tokenizer's own leading specials (e.g. <bos>) followed by the prompt mark
    mark_a: list[int]
    mark_b: list[int]
    separator: list[int]
    suffix: list[int]  # the tokenizer's own trailing specials, if any

    @property
    def fixed(self) -> int:
        return len(self.prefix) + len(self.mark_a) + len(self.mark_b) + len(self.suffix)


@dataclass(frozen=True)
class EncodedBattle:
    """A battle's three parts after truncation; ``ids(swap)`` assembles either order."""

    prompt: list[int]
    answer_a: list[int]
    answer_b: list[int]

    def ids(self, layout: Layout, swap: bool = False) -> list[int]:
        first, second = (self.answer_b, self.answer_a) if swap else (self.answer_a, self.answer_b)
        return [*layout.prefix, *self.prompt, *layout.mark_a, *first, *layout.mark_b, *second, *layout.suffix]


def _plain_ids(tokenizer: Any, text: str) -> list[int]:
    return list(tokenizer(text, add_special_tokens=False)["input_ids"])


def make_layout(tokenizer: Any) -> Layout:
    """The marks, and the specials the tokenizer adds itself (found by tokenizing with and without)."""
    mark = _plain_ids(tokenizer, PROMPT_MARK)
    with_specials = list(tokenizer(PROMPT_MARK, add_special_tokens=True)["input_ids"])
    head, tail = with_specials, []
    for i in range(len(with_specials) - len(mark) + 1):
        if with_specials[i : i + len(mark)] == mark:
            head, tail = with_specials[:i], with_specials[i + len(mark) :]
            break
    else:  # the tokenizer merges its specials with the text; use the text alone
        head = []
    return Layout(
        prefix=[*head, *mark],
        mark_a=_plain_ids(tokenizer, ANSWER_A_MARK),
        mark_b=_plain_ids(tokenizer, ANSWER_B_MARK),
        separator=_plain_ids(tokenizer, TURN_SEPARATOR),
        suffix=tail,
    )


def split_budget(need: tuple[int, int, int], total: int, prompt_fraction: float) -> tuple[int, int, int]:
    """Token budgets (prompt, A, B) summing to at most ``total``.

    The prompt is capped at ``prompt_fraction`` of ``total`` and each answer at half the rest; budget a
    part does not need is shared equally among the parts that need more, until none is left or every
    part fits. A and B are treated alike (remainders are dropped, not handed to one side), so the split
    of a swapped battle is the mirror image of the original's.
    """
    if total <= 0:
        return 0, 0, 0
    cap_p = int(total * prompt_fraction)
    cap_ans = (total - cap_p) // 2
    alloc = [min(need[0], cap_p), min(need[1], cap_ans), min(need[2], cap_ans)]
    left = total - sum(alloc)
    while left > 0:
        hungry = [k for k in range(3) if need[k] > alloc[k]]
        if not hungry:
            break
        share = left // len(hungry)
        if share == 0:
            break
        for k in hungry:
            alloc[k] += min(share, need[k] - alloc[k])
        left = total - sum(alloc)
    return alloc[0], alloc[1], alloc[2]


def _fit_turns(turns: list[list[int]], budget: int, separator: list[int]) -> list[int]:
    """The newest turns that fit ``budget`` (oldest dropped first); a newest turn too long keeps its head."""
    if budget <= 0 or not turns:
        return []
    kept: list[list[int]] = []
    used = 0
    for turn in reversed(turns):
        cost = len(turn) + (len(separator) if kept else 0)
        if used + cost > budget:
            break
        kept.append(turn)
        used += cost
    if not kept:
        return turns[-1][:budget]
    out: list[int] = []
    for k, turn in enumerate(reversed(kept)):
        if k:
            out.extend(separator)
        out.extend(turn)
    return out


def _joined_length(turns: list[list[int]], separator: list[int]) -> int:
    return sum(len(t) for t in turns) + len(separator) * max(len(turns) - 1, 0)


def _per_part(
    p_turns: list[list[int]],
    a_turns: list[list[int]],
    b_turns: list[list[int]],
    budget: int,
    fraction: float,
    sep: list[int],
) -> EncodedBattle:
    """Each part budgeted over all its turns, then each part drops its own oldest turns."""
    need = (_joined_length(p_turns, sep), _joined_length(a_turns, sep), _joined_length(b_turns, sep))
    bp, ba, bb = split_budget(need, budget, fraction)
    return EncodedBattle(
        _fit_turns(p_turns, bp, sep), _fit_turns(a_turns, ba, sep), _fit_turns(b_turns, bb, sep)
    )


def _last_turn(
    p_turns: list[list[int]],
    a_turns: list[list[int]],
    b_turns: list[list[int]],
    budget: int,
    fraction: float,
    sep: list[int],
) -> EncodedBattle:
    """Left truncation: the last turn first, then whole earlier turns (prompt and both answers), newest first.

    The last turn's prompt and answers share the budget by ``split_budget``, so neither side's history can
    crowd out the other side's last answer. Earlier turns are aligned from the end (turn -2 of the prompt
    with turn -2 of each answer) and kept whole, all three parts together, while they fit; the first that
    does not fit is dropped with everything older, so both answers always keep the same turns. A
    single-turn battle is cut exactly as by ``per_part``.
    """
    parts = (p_turns, a_turns, b_turns)
    last = tuple(t[-1] if t else [] for t in parts)
    bp, ba, bb = split_budget((len(last[0]), len(last[1]), len(last[2])), budget, fraction)
    kept = [[last[0][:bp]], [last[1][:ba]], [last[2][:bb]]]
    # History only behind a whole last turn: context before a cut-off turn would be read as its end.
    whole = (bp, ba, bb) == tuple(len(x) for x in last)
    left = budget - sum(len(k[0]) for k in kept) if whole else 0
    for back in range(2, max(len(t) for t in parts) + 1):
        turn = [t[-back] if len(t) >= back else None for t in parts]
        cost = sum(len(x) + len(sep) for x in turn if x is not None)
        if cost > left:
            break
        for k, x in zip(kept, turn, strict=True):
            if x is not None:
                k.insert(0, x)
        left -= cost
    out = []
    for k in kept:
        joined: list[int] = []
        for i, turn_ids in enumerate(k):
            joined.extend([*sep, *turn_ids] if i else turn_ids)
        out.append(joined)
    return EncodedBattle(out[0], out[1], out[2])


_RULES = {"last_turn": _last_turn, "per_part": _per_part}


def _turn_lists(column: pa.ChunkedArray | pa.Array) -> list[list[str]]:
    return [[t if t is not None else "" for t in (row or [])] for row in column.to_pylist()]


def encode_battles(
    tokenizer: Any,
    layout: Layout,
    table: pa.Table,
    max_length: int,
    prompt_fraction: float,
    truncation: str = "last_turn",
) -> list[EncodedBattle]:
    """Tokenize every battle's parts in one batched call and truncate them to the budget by ``truncation``."""
    budget = max_length - layout.fixed
    if budget < 3:
        raise ArenaprefError(
            f"-p max_length={max_length}: the markers alone take {layout.fixed} tokens; "
            "use a larger max_length"
        )
    parts = [_turn_lists(table.column(c)) for c in ("prompt", "response_a", "response_b")]
    flat = [t for part in parts for row in part for t in row]
    ids = list(tokenizer(flat, add_special_tokens=False)["input_ids"]) if flat else []
    pos = 0
    tokenized: list[list[list[list[int]]]] = []
    for part in parts:
        rows = []
        for row in part:
            rows.append([list(x) for x in ids[pos : pos + len(row)]])
            pos += len(row)
        tokenized.append(rows)
    rule = _RULES[truncation]
    sep = layout.separator
    return [rule(p, a, b, budget, prompt_fraction, sep) for p, a, b in zip(*tokenized, strict=True)]


__all__ = ["EncodedBattle", "Layout", "encode_battles", "make_layout", "split_budget"]
