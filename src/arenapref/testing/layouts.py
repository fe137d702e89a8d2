"""Small files in the public layouts of preference sets and Arena releases, built from their published
schemas (the real sets are downloads this project never makes at run time).

Tests read them to check each reader; ``bench/bench_read.py`` writes them at a million rows to time the
readers. ``write(layout, path, n)`` writes ``n`` records; ``records(layout, n)`` returns them. Texts are
long enough for every leakage-guard rule (first user turn over 64 characters) and every prompt is
distinct, so a planted copy of one is a real test of the guard.
"""

from __future__ import annotations

import itertools
import json
import random
from collections.abc import Callable, Iterator
from pathlib import Path

import pyarrow as pa
import pyarrow.csv as pacsv
import pyarrow.parquet as pq

WORDS = [
    "river",
    "model",
    "answer",
    "prompt",
    "compare",
    "vector",
    "python",
    "summary",
    "winter",
    "theorem",
    "garden",
    "network",
    "history",
    "language",
    "budget",
    "protein",
    "orbit",
    "recipe",
    "contract",
    "weather",
    "museum",
    "algebra",
    "signal",
    "harbor",
    "poetry",
]
MODELS = ("gpt-4-0613", "claude-2.1", "llama-2-70b-chat", "mixtral-8x7b-instruct", "gemini-pro")


_BITS = len(WORDS).bit_length()


def _text(rng: random.Random, words: int, tag: str) -> str:
    """``tag`` and ``words`` words drawn as ``rng.choice(WORDS)`` draws them (the same bits, rejecting draws
    past the list), three times faster: a million records of a layout are written for the benchmark."""
    bits, n = rng.getrandbits, len(WORDS)
    out: list[str] = []
    while len(out) < words:
        r = bits(_BITS)
        if r < n:
            out.append(WORDS[r])
    return f"{tag} " + " ".join(out)


def _prompt(rng: random.Random, i: int) -> str:
    return _text(rng, 40, f"Question {i}: please explain")


def _answer(rng: random.Random, i: int, side: str) -> str:
    return _text(rng, 200, f"Answer {side}{i}.")


def _msgs(turns: list[tuple[str, str]]) -> list[dict[str, str]]:
    return [{"role": r, "content": c} for r, c in turns]


def ultrafeedback_binarized(rng: random.Random, i: int) -> dict[str, object]:
    p = _prompt(rng, i)
    chosen, rejected = _answer(rng, i, "c"), _answer(rng, i, "r")
    return {
        "prompt": p,
        "prompt_id": f"{i:064x}",
        "chosen": _msgs([("user", p), ("assistant", chosen)]),
        "rejected": _msgs([("user", p), ("assistant", rejected)]),
        "messages": _msgs([("user", p), ("assistant", chosen)]),
        "score_chosen": 8.0,
        "score_rejected": 8.0 if i % 10 == 0 else 5.0,
    }


def capybara(rng: random.Random, i: int) -> dict[str, object]:
    """Capybara-Preferences: multi-turn, models and ratings beside the conversations, a system message."""
    p1, p2 = _prompt(rng, i), _text(rng, 12, "Follow-up:")
    a1 = _answer(rng, i, "shared")
    shared = [("system", "You are a helpful assistant."), ("user", p1), ("assistant", a1), ("user", p2)]
    return {
        "source": "Airoboros",
        "prompt": p1,
        "chosen": _msgs([*shared, ("assistant", _answer(rng, i, "c"))]),
        "chosen_rating": 5,
        "chosen_model": MODELS[0],
        "rejected": _msgs([*shared, ("assistant", _answer(rng, i, "r"))]),
        "rejected_rating": 2,
        "rejected_model": MODELS[i % 4 + 1],
    }


def skywork(rng: random.Random, i: int) -> dict[str, object]:
    """Skywork-Reward-Preference / RLHFlow "-standard": the two conversations only."""
    p = _prompt(rng, i)
    return {
        "chosen": _msgs([("user", p), ("assistant", _answer(rng, i, "c"))]),
        "rejected": _msgs([("user", p), ("assistant", _answer(rng, i, "r"))]),
        "source": "skywork",
    }


def hh_rlhf(rng: random.Random, i: int) -> dict[str, object]:
    p1, p2, a1 = _prompt(rng, i), _text(rng, 10, "And then?"), _answer(rng, i, "shared")
    head = f"\n\nHuman: {p1}\n\nAssistant: {a1}\n\nHuman: {p2}\n\nAssistant: "
    return {"chosen": head + _answer(rng, i, "c"), "rejected": head + _answer(rng, i, "r")}


def ultrafeedback(rng: random.Random, i: int) -> dict[str, object]:
    """openbmb/UltraFeedback: four rated completions per instruction (one tie, one unrated at i % 7 == 0)."""
    scores = [7.5, 6.0, 6.0, 3.5]
    comps: list[dict[str, object]] = [
        {
            "model": MODELS[k],
            "principle": "helpfulness",
            "custom_system_prompt": "",
            "response": _answer(rng, i, f"k{k}"),
            "annotations": {"helpfulness": {"Rating": "4"}},
            "critique": "fine",
            "overall_score": scores[k] if not (i % 7 == 0 and k == 3) else None,
            "fine-grained_score": None,
        }
        for k in range(4)
    ]
    return {
        "source": "evol_instruct",
        "instruction": _prompt(rng, i),
        "models": list(MODELS[:4]),
        "completions": comps,
        "correct_answers": ["None"],
        "incorrect_answers": ["None"],
    }


def helpsteer(rng: random.Random, i: int) -> list[dict[str, object]]:
    """nvidia/HelpSteer: one rated response per row, two or three rows per prompt."""
    p = _prompt(rng, i)
    return [
        {
            "prompt": p,
            "response": _answer(rng, i, f"h{k}"),
            "helpfulness": (3, 4, 3)[k],
            "correctness": 3,
            "coherence": 4,
            "complexity": 2,
            "verbosity": 2,
        }
        for k in range(2 + i % 2)
    ]


def pandalm(rng: random.Random, i: int) -> dict[str, object]:
    votes = [(1, 1, 1), (2, 2, 0), (0, 0, 0), (1, 2, 1)][i % 4]
    return {
        "idx": i,
        "motivation_app": "Grammarly",
        "cmp_key": "bloom-7b_llama-7b",
        "instruction": _prompt(rng, i),
        "input": "" if i % 2 else _text(rng, 8, "Input:"),
        "response1": _answer(rng, i, "1"),
        "response2": _answer(rng, i, "2"),
        "annotator1": votes[0],
        "annotator2": votes[1],
        "annotator3": votes[2],
    }


def ppe(rng: random.Random, i: int) -> dict[str, object]:
    return {
        "question_id": f"ppe{i}",
        "prompt": _prompt(rng, i),
        "response_1": _answer(rng, i, "1"),
        "response_2": _answer(rng, i, "2"),
        "model_a": MODELS[i % 5],
        "model_b": MODELS[(i + 1) % 5],
        "winner": ("model_a", "model_b", "tie", "tie (bothbad)")[i % 4],
        "language": "English",
    }


def pku_saferlhf(rng: random.Random, i: int) -> dict[str, object]:
    """PKU-Alignment/PKU-SafeRLHF: two sampled answers, the better (helpfulness) and the safer one."""
    return {
        "prompt": _prompt(rng, i),
        "response_0": _answer(rng, i, "0"),
        "response_1": _answer(rng, i, "1"),
        "prompt_source": "BeaverTails",
        "response_0_source": "Alpaca-7B",
        "response_1_source": "Alpaca2-7B",
        "is_response_0_safe": bool(i % 2),
        "is_response_1_safe": True,
        "better_response_id": i % 2,
        "safer_response_id": 1,
    }


def _arena_conv(turns: list[tuple[str, str]], parts: bool) -> list[dict[str, object]]:
    if not parts:
        return [{"role": r, "content": c} for r, c in turns]
    return [
        {
            "role": r,
            "content": [{"type": "text", "text": c, "image": None, "mimeType": None}],
            "num_tokens": len(c) // 4,
        }
        for r, c in turns
    ]


def arena_140k(rng: random.Random, i: int) -> dict[str, object]:
    """lmarena-ai/arena-human-preference-140k: content as parts, ``both_bad``, an ``id`` column."""
    p1 = _prompt(rng, i)
    p2 = _text(rng, 10, "Second turn:")
    a = [
        ("user", p1),
        ("assistant", _answer(rng, i, "a")),
        ("user", p2),
        ("assistant", _answer(rng, i, "a2")),
    ]
    b = [
        ("user", p1),
        ("assistant", _answer(rng, i, "b")),
        ("user", p2),
        ("assistant", _answer(rng, i, "b2")),
    ]
    return {
        "id": f"c4b9710c-{i:012d}",
        "model_a": MODELS[i % 5],
        "model_b": MODELS[(i + 2) % 5],
        "winner": ("model_a", "model_b", "tie", "both_bad")[i % 4],
        "conversation_a": _arena_conv(a, True),
        "conversation_b": _arena_conv(b, True),
        "language": "en",
        "is_code": False,
        "evaluation_order": 1,
    }


def arena_33k(rng: random.Random, i: int) -> dict[str, object]:
    """lmsys/chatbot_arena_conversations (and arena-human-preference-100k): plain-string content."""
    p = _prompt(rng, i)
    return {
        "question_id": f"q{i}",
        "model_a": MODELS[i % 5],
        "model_b": MODELS[(i + 1) % 5],
        "winner": ("model_a", "model_b", "tie", "tie (bothbad)")[i % 4],
        "judge": f"arena_user_{i}",
        "conversation_a": _arena_conv([("user", p), ("assistant", _answer(rng, i, "a"))], False),
        "conversation_b": _arena_conv([("user", p), ("assistant", _answer(rng, i, "b"))], False),
        "turn": 1,
        "anony": True,
        "language": "English",
        "tstamp": 1682351591.1 + i,
    }


def arena_55k(rng: random.Random, i: int) -> dict[str, object]:
    """lmarena-ai/arena-human-preference-55k: the competition layout (JSON-list cells, one-hot winners)."""
    win = i % 3
    return {
        "id": str(30192 + i),
        "model_a": MODELS[i % 5],
        "model_b": MODELS[(i + 1) % 5],
        "prompt": json.dumps([_prompt(rng, i)]),
        "response_a": json.dumps([_answer(rng, i, "a")]),
        "response_b": json.dumps([_answer(rng, i, "b")]),
        "winner_model_a": int(win == 0),
        "winner_model_b": int(win == 1),
        "winner_tie": int(win == 2),
    }


def wsdm_cup(rng: random.Random, i: int) -> dict[str, object]:
    """WSDM Cup 2025 (Multilingual Chatbot Arena) train.parquet: plain-string cells, winner, language."""
    return {
        "id": f"wsdm{i:05d}",
        "prompt": _prompt(rng, i),
        "response_a": _answer(rng, i, "a"),
        "response_b": _answer(rng, i, "b"),
        "winner": "model_a" if i % 2 == 0 else "model_b",
        "model_a": MODELS[i % 5],
        "model_b": MODELS[(i + 1) % 5],
        "language": "English",
    }


# name -> (record builder, file name it is published as, layout the readers detect)
LAYOUTS: dict[str, tuple[Callable[[random.Random, int], object], str, str]] = {
    "ultrafeedback-binarized": (ultrafeedback_binarized, "train_prefs.parquet", "chosen-rejected"),
    "capybara-preferences": (capybara, "capybara.jsonl", "chosen-rejected"),
    "skywork-preference": (skywork, "skywork.parquet", "chosen-rejected"),
    "hh-rlhf": (hh_rlhf, "train.jsonl", "transcript"),
    "ultrafeedback": (ultrafeedback, "ultrafeedback.jsonl", "rated"),
    "helpsteer": (helpsteer, "helpsteer.parquet", "helpsteer"),
    "pandalm": (pandalm, "testset-v1.json", "pandalm"),
    "ppe": (ppe, "ppe.parquet", "ppe"),
    "pku-saferlhf": (pku_saferlhf, "pku_train.jsonl", "saferlhf"),
    "arena-140k": (arena_140k, "arena140k.parquet", "arena"),
    "arena-33k": (arena_33k, "clean_battle_conv.json", "arena"),
    "arena-55k": (arena_55k, "train.csv", "competition"),
    "wsdm-cup-2025": (wsdm_cup, "train.parquet", "wsdm"),
}


CHUNK = 10_000  # records built and written at a time: a million-row file never sits in memory whole


def iter_records(layout: str, n: int, seed: int = 0) -> Iterator[dict[str, object]]:
    """The records of ``records(layout, n, seed)``, one at a time."""
    build = LAYOUTS[layout][0]
    rng = random.Random(seed)
    for i in range(n):
        rec = build(rng, i)
        if isinstance(rec, list):
            yield from rec
        elif isinstance(rec, dict):
            yield rec


def records(layout: str, n: int, seed: int = 0) -> list[dict[str, object]]:
    """``n`` records (prompts) of a layout; HelpSteer gives two or three rows per prompt."""
    return list(iter_records(layout, n, seed))


def _chunks(layout: str, n: int, seed: int) -> Iterator[list[dict[str, object]]]:
    it = iter_records(layout, n, seed)
    while chunk := list(itertools.islice(it, CHUNK)):
        yield chunk


def write(layout: str, folder: Path, n: int, seed: int = 0) -> Path:
    """Write ``n`` records of a layout into ``folder`` under its published file name; return the path.

    Written ``CHUNK`` records at a time, so memory stays bounded at a million rows: a table file gets one
    row group per chunk, with the column types of the first chunk (every chunk of a layout has the same
    shapes); JSON files are the bytes ``json.dumps`` gives for the whole list.
    """
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / LAYOUTS[layout][1]
    if path.suffix in (".parquet", ".csv"):
        schema: pa.Schema | None = None
        writer: pq.ParquetWriter | pacsv.CSVWriter | None = None
        try:
            for chunk in _chunks(layout, n, seed):
                table = pa.Table.from_pylist(chunk, schema=schema)
                if writer is None:
                    schema = table.schema
                    writer = (
                        pq.ParquetWriter(path, schema)
                        if path.suffix == ".parquet"
                        else pacsv.CSVWriter(path, schema)
                    )
                writer.write_table(table)
        finally:
            if writer is not None:
                writer.close()
        if writer is None:  # no records: an empty file of no columns, as a table of none writes it
            if path.suffix == ".parquet":
                pq.write_table(pa.table({}), path)
            else:
                pacsv.write_csv(pa.table({}), path)
        return path
    with path.open("w", encoding="utf-8") as fh:
        if path.suffix == ".json":
            fh.write("[")
            for k, chunk in enumerate(_chunks(layout, n, seed)):
                fh.write((", " if k else "") + ", ".join(json.dumps(r) for r in chunk))
            fh.write("]")
        else:
            for chunk in _chunks(layout, n, seed):
                fh.write("".join(json.dumps(r) + "\n" for r in chunk))
    return path
