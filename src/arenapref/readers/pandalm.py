"""PandaLM's human-annotated test set (``testset-v1.json``): ``idx``, ``cmp_key`` (``modelA_modelB``),
``instruction``, ``input``, ``response1``, ``response2``, ``annotator1..3`` (0 = tie, 1 = response1
better, 2 = response2 better).

The three votes become a soft label: each vote is a third of the probability mass (three votes for
response1 give (1, 0, 0); two for response1 and a tie give (2/3, 0, 1/3)). A missing or unreadable vote
rejects the record rather than re-weighting the others. ``input``, when present, is appended to the
instruction (the model saw both; one record of the real file has only an input). The models
come from ``cmp_key`` when it splits into two names.
"""

from __future__ import annotations

from arenapref.readers.base import Peek, ReadOptions, battle, record_id, record_reader
from arenapref.readers.files import JSON_SUFFIXES, TABLE_SUFFIXES
from arenapref.readers.jsoncells import CellError, content_text

COLUMNS = ("instruction", "response1", "response2", "annotator1", "annotator2", "annotator3")
VOTES = ("annotator1", "annotator2", "annotator3")


def soft_label(votes: list[object]) -> tuple[float, float, float] | str:
    """Votes (0 tie, 1 first, 2 second) as probabilities, or the reason they cannot be."""
    counts = [0, 0, 0]  # A, B, tie
    for name, v in zip(VOTES, votes, strict=True):
        if isinstance(v, bool) or v not in (0, 1, 2, "0", "1", "2"):
            return f"{name}: vote {v!r} is not 0 (tie), 1 or 2"
        counts[{1: 0, 2: 1, 0: 2}[int(v)]] += 1
    n = len(votes)
    return (counts[0] / n, counts[1] / n, counts[2] / n)


def _row(rec: dict[str, object], row_no: int, opts: ReadOptions) -> dict[str, object] | str:
    label = soft_label([rec.get(v) for v in VOTES])
    if isinstance(label, str):
        return label
    try:
        instruction = content_text(rec.get("instruction"), "instruction")
        extra = content_text(rec.get("input"), "input")
        resp_a = content_text(rec.get("response1"), "response1")
        resp_b = content_text(rec.get("response2"), "response2")
    except CellError as exc:
        return str(exc)
    prompt = "\n\n".join(t for t in (instruction, extra) if t and t.strip())
    if not prompt:
        return "empty instruction and input"
    key = rec.get("cmp_key")
    models = str(key).split("_") if isinstance(key, str) else []
    model_a, model_b = models if len(models) == 2 else (None, None)
    rid = record_id(rec, ("idx", "id"), opts.where, row_no)
    return battle(rid, [prompt], [resp_a], [resp_b], model_a, model_b, label, "pandalm", [])


def _sniff(p: Peek) -> bool:
    return p.has(*COLUMNS)


READER = record_reader("pandalm", JSON_SUFFIXES + TABLE_SUFFIXES, COLUMNS, _sniff, _row)
