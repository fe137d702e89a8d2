"""Competition-shaped battles: prompts, two answers, labels from a hidden rule, raw Kaggle CSVs.

The hidden rule: every answer has a latent quality made of visible things (length with diminishing
returns, Markdown lists, headers, code blocks where code is asked for, bold notes; refusals lower it) plus
the model's hidden strength; a small hidden per-battle noise is added; P(A), P(B), P(tie) come from a
Davidson (Bradley-Terry with ties) model with a slight position bias toward A. The label is sampled from
those probabilities, which the truth file records, so the best achievable log loss is known.
Degenerate battles (an empty side, two empty sides, identical answers) get near-fixed probabilities.
"""

from __future__ import annotations

import csv
import json
import re
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq
from numpy.typing import NDArray

from arenapref.synth.lmsys import (
    CTX0_MU,
    CTX0_SIGMA,
    LANGUAGE_NAMES,
    TOPIC_WEIGHTS,
    LmsysPlan,
    distinct_first_turns,
    language_probs,
)
from arenapref.synth.text import (
    F64,
    AnswerFeatures,
    AnswerStyle,
    TextBank,
    Turns,
    jaccard,
    small_edit,
    spread_short_prompts,
    subset,
)
from arenapref.synth.topics import FIRST_NAMES, TOPICS
from arenapref.synth.vocab import COMPETITION_MODELS

# Davidson tie parameter and hidden noise: tuned so ties are about 31% and the class mix near 35/34/31.
TIE_NU = 1.1
POSITION_BIAS = 0.03
HIDDEN_NOISE = 0.2
COMPETITION_ENGLISH = 0.86
# Weight of the hidden model strength in quality: small, so a model that sees only the text (test.csv has
# no model names) can get close to the best possible log loss.
STRENGTH_WEIGHT = 0.5

OVERLAP_KINDS = ("exact", "placeholder", "near")
OVERLAP_MIX = (0.45, 0.25, 0.30)
TRAIN_MALFORMED = ("lone_surrogate", "stray_escape", "truncated_json", "labels_not_one_hot", "empty_cell")
TEST_MALFORMED = ("lone_surrogate", "stray_escape", "truncated_json", "empty_cell")

# (p_a, p_b, p_tie) for degenerate battles.
P_ONE_EMPTY_WINNER = (0.82, 0.08, 0.10)  # for the non-empty side, the empty side, tie
P_BOTH_EMPTY = (0.2, 0.2, 0.6)
P_IDENTICAL = (0.22, 0.22, 0.56)

TRAIN_HEADER = "id,model_a,model_b,prompt,response_a,response_b,winner_model_a,winner_model_b,winner_tie\n"
TEST_HEADER = "id,prompt,response_a,response_b\n"

_NAME_PH = re.compile(r"\bNAME_(\d+)\b")

TRUTH_BATTLES_SCHEMA = pa.schema(
    [
        ("id", pa.string()),
        ("split", pa.string()),
        ("topic_id", pa.int32()),
        ("topic_name", pa.string()),
        ("language", pa.string()),
        ("n_turns", pa.int32()),
        ("model_a", pa.string()),
        ("model_b", pa.string()),
        ("quality_a", pa.float64()),
        ("quality_b", pa.float64()),
        ("special", pa.string()),
        ("p_a", pa.float64()),
        ("p_b", pa.float64()),
        ("p_tie", pa.float64()),
        ("label", pa.string()),
        ("overlap", pa.string()),
        ("lmsys_conversation_id", pa.string()),
        ("lmsys_prompt_group", pa.int64()),
        ("overlap_jaccard", pa.float64()),
        ("malformed_kind", pa.string()),
    ]
)


@dataclass
class CompetitionStats:
    """Counts and figures of the written competition files."""

    n_train: int
    n_test: int
    overlap_counts: dict[str, int]
    malformed_counts: dict[str, int]
    label_mix: dict[str, float]
    tie_share: float
    expected_log_loss: float
    realized_log_loss: float
    uniform_log_loss: float


def davidson(d: F64, nu: float = TIE_NU) -> tuple[F64, F64, F64]:
    """P(A), P(B), P(tie) for quality difference d = q_a - q_b (Davidson 1970)."""
    ea: F64 = np.exp(d / 2.0)
    eb: F64 = np.exp(-d / 2.0)
    z: F64 = ea + eb + nu
    return ea / z, eb / z, np.full_like(d, nu) / z


def quality(feats: AnswerFeatures, strength: F64, code_topic: NDArray[np.bool_]) -> F64:
    """Latent answer quality from visible features plus the model's hidden strength."""
    tokens = feats.chars / 4.0
    q: F64 = (
        STRENGTH_WEIGHT * strength
        + 1.3 * np.log1p(tokens / 80.0)
        + 0.5 * feats.has_list
        + 0.3 * feats.has_header
        + 0.45 * (feats.has_code & code_topic)
        + 0.2 * feats.has_bold
        - 1.6 * feats.refusal
    )
    return q


def _pick_sources(rng: np.random.Generator, eligible: NDArray[np.bool_], k: int, used: set[int]) -> list[int]:
    cand = rng.permutation(np.flatnonzero(eligible)).tolist()
    out: list[int] = []
    for g in cand:
        if len(out) == k:
            break
        if g not in used:
            used.add(g)
            out.append(g)
    return out


def write_competition(
    bank: TextBank,
    plan: LmsysPlan,
    out_dir: Path,
    truth_path: Path,
    battles: int,
    seed: int,
    test_share: float,
    overlap_share: float,
    malformed_share: float,
) -> CompetitionStats:
    """Generate ``battles`` battles, write train/test/sample_submission CSVs and truth/battles.parquet."""
    rng = np.random.default_rng([seed, 2])
    m = battles
    n_test = round(m * test_share)
    split = np.array(["train"] * (m - n_test) + ["test"] * n_test, dtype=object)
    ids_all = rng.choice(4_294_000_000 - 30_000, m, replace=False).astype(np.int64) + 30_000
    ids_all = rng.permutation(ids_all)

    # Which rows copy an LMSYS prompt, and how.
    overlap = np.array(["none"] * m, dtype=object)
    src_group = np.full(m, -1, dtype=np.int64)
    n_ov = round(m * overlap_share) if plan.n_groups else 0
    ov_rows = rng.permutation(m)[:n_ov]
    counts = np.floor(np.array(OVERLAP_MIX) * n_ov).astype(int)
    counts[0] += n_ov - counts.sum()
    g = plan.groups
    base = plan.g_near < 0
    eligible = {
        "exact": base,
        "placeholder": base & g.has_name & ~g.ph_other,
        "near": base & bank.spaced[g.lang] & (g.ctx0 >= 3),
    }
    used: set[int] = set()
    pos = 0
    for kind, c in zip(OVERLAP_KINDS, counts.tolist(), strict=True):
        chosen = _pick_sources(rng, eligible[kind], c, used)
        rows = ov_rows[pos : pos + len(chosen)]
        pos += c
        overlap[rows] = kind
        src_group[rows] = chosen

    # Prompts of non-overlap rows: fresh keys from the same topic generator, real names.
    key = rng.integers(0, 2**63, m, dtype=np.int64).astype(np.uint64)
    topic = rng.choice(len(TOPICS), m, p=TOPIC_WEIGHTS / TOPIC_WEIGHTS.sum()).astype(np.int64)
    lang = rng.choice(len(LANGUAGE_NAMES), m, p=language_probs(COMPETITION_ENGLISH)).astype(np.int64)
    n_turns = np.where(rng.random(m) < 0.87, 1, 1 + rng.geometric(0.55, m)).astype(np.int64)
    ctx0 = np.clip(np.floor(np.exp(CTX0_MU + CTX0_SIGMA * rng.standard_normal(m))), 1, 60).astype(np.int64)
    ctx0 = np.minimum(ctx0, bank.ctx_caps(lang, n_turns)[0])
    has_tmpl = np.array([len(t) > 0 for t in bank.name_tmpl])[topic]
    has_name = has_tmpl & (rng.random(m) < 0.5)
    fresh = Turns(key, topic, lang, n_turns, ctx0, has_name, np.zeros(m, dtype=bool), np.zeros(m, dtype=bool))
    is_src = src_group >= 0
    sg = np.maximum(src_group, 0)
    for arr, src in ((topic, g.topic), (lang, g.lang), (n_turns, g.n_turns)):
        arr[is_src] = src[sg[is_src]]
    fresh_rows = np.flatnonzero(~is_src)
    spread_short_prompts(bank, fresh, fresh_rows, set(plan.short_signatures))
    distinct_first_turns(bank, fresh, fresh_rows, rng, plan.prompt_keys)
    prompts: list[list[str]] = [[] for _ in range(m)]
    for r, turns in zip(
        fresh_rows.tolist(), bank.user_turns(subset(fresh, fresh_rows), names=True).rows(), strict=True
    ):
        prompts[r] = turns
    src_rows = np.flatnonzero(is_src)
    jac = np.full(m, np.nan)
    src_turns = bank.user_turns(subset(g, src_group[src_rows]), names=False).rows()
    for r, turns in zip(src_rows.tolist(), src_turns, strict=True):
        kind = overlap[r]
        if kind == "placeholder":
            first = int(key[r] % np.uint64(len(FIRST_NAMES)))
            names = [FIRST_NAMES[(first + i * 7) % len(FIRST_NAMES)] for i in range(8)]
            turns = [_swap_names(t, names) for t in turns]
        elif kind == "near":
            edited = small_edit(turns[0], int(key[r]))
            jac[r] = jaccard(turns[0], edited)
            turns = [edited, *turns[1:]]
        prompts[r] = turns

    # Two answers per battle from two different competition models.
    w = np.array([x.weight for x in COMPETITION_MODELS])
    w = w / w.sum()
    ma = rng.choice(len(w), m, p=w)
    mb = rng.choice(len(w), m, p=w)
    for _ in range(100):
        same = ma == mb
        if not same.any():
            break
        mb[same] = rng.choice(len(w), int(same.sum()), p=w)
    ln = np.array([x.length for x in COMPETITION_MODELS])
    md = np.array([x.markdown for x in COMPETITION_MODELS])
    rf = np.array([x.refusal for x in COMPETITION_MODELS])
    strength = np.array([x.strength for x in COMPETITION_MODELS])
    ka = rng.integers(0, 2**63, m, dtype=np.int64).astype(np.uint64)
    kb = rng.integers(0, 2**63, m, dtype=np.int64).astype(np.uint64)
    flat_a, fa = bank.answers(AnswerStyle(ka, topic, lang, n_turns, ln[ma], md[ma], rf[ma]), errors=False)
    flat_b, fb = bank.answers(AnswerStyle(kb, topic, lang, n_turns, ln[mb], md[mb], rf[mb]), errors=False)
    resp_a, resp_b = flat_a.rows(), flat_b.rows()
    code_topic = np.array([t.code for t in TOPICS])[topic]
    qa = quality(fa, strength[ma], code_topic)
    qb = quality(fb, strength[mb], code_topic)
    diff = qa - qb + POSITION_BIAS + HIDDEN_NOISE * rng.standard_normal(m)
    p_a, p_b, p_tie = davidson(diff)

    # Degenerate battles.
    u = rng.random(m)
    special = np.array(["none"] * m, dtype=object)
    special[u < 0.006] = "empty_a"
    special[(u >= 0.006) & (u < 0.012)] = "empty_b"
    special[(u >= 0.012) & (u < 0.0135)] = "empty_both"
    special[(u >= 0.0135) & (u < 0.0235)] = "identical"
    null_style = rng.random(m) < 0.6
    out_a: list[list[str | None]] = []
    out_b: list[list[str | None]] = []
    for r in range(m):
        side_a: list[str | None] = list(resp_a[r])
        side_b: list[str | None] = list(resp_b[r])
        sp = special[r]
        empty: list[str | None] = [None if null_style[r] else ""] * len(side_a)
        if sp in ("empty_a", "empty_both"):
            side_a = list(empty)
        if sp in ("empty_b", "empty_both"):
            side_b = list(empty)
        if sp == "identical":
            side_b = list(side_a)
        out_a.append(side_a)
        out_b.append(side_b)
    for name, fixed in (
        ("empty_a", (P_ONE_EMPTY_WINNER[1], P_ONE_EMPTY_WINNER[0], P_ONE_EMPTY_WINNER[2])),
        ("empty_b", P_ONE_EMPTY_WINNER),
        ("empty_both", P_BOTH_EMPTY),
        ("identical", P_IDENTICAL),
    ):
        sel = special == name
        p_a[sel], p_b[sel], p_tie[sel] = fixed
    qb = np.where(special == "identical", qa, qb)
    probs = np.stack([p_a, p_b, p_tie], axis=1)
    cum = np.cumsum(probs, axis=1)
    label_idx = np.minimum((rng.random(m)[:, None] > cum).sum(axis=1), 2)
    labels = np.array(["model_a", "model_b", "tie"], dtype=object)[label_idx]

    # Malformed rows, like the few hundred that real files hold.
    malformed = np.array([None] * m, dtype=object)
    n_bad = round(m * malformed_share)
    if n_bad:
        bad_rows = rng.permutation(m)[:n_bad]
        kinds_pick = rng.random(n_bad)
        for r, kp in zip(bad_rows.tolist(), kinds_pick.tolist(), strict=True):
            kinds = TRAIN_MALFORMED if split[r] == "train" else TEST_MALFORMED
            malformed[r] = kinds[int(kp * len(kinds))]

    out_dir.mkdir(parents=True, exist_ok=True)
    ids = [str(i) for i in ids_all.tolist()]
    model_names = [x.name for x in COMPETITION_MODELS]
    train_lines = [TRAIN_HEADER]
    test_lines = [TEST_HEADER]
    for r in range(m):
        cells = [json.dumps(prompts[r]), json.dumps(out_a[r]), json.dumps(out_b[r])]
        onehot = [int(label_idx[r] == 0), int(label_idx[r] == 1), int(label_idx[r] == 2)]
        kind = malformed[r]
        if kind is not None:
            cells, onehot = _corrupt(kind, cells, onehot, int(key[r]))
        quoted = ",".join(map(csv_field, cells))
        if split[r] == "train":
            labels_txt = f"{onehot[0]},{onehot[1]},{onehot[2]}"
            train_lines.append(f"{ids[r]},{model_names[ma[r]]},{model_names[mb[r]]},{quoted},{labels_txt}\n")
        else:
            test_lines.append(f"{ids[r]},{quoted}\n")
    (out_dir / "train.csv").write_text("".join(train_lines), encoding="utf-8")
    (out_dir / "test.csv").write_text("".join(test_lines), encoding="utf-8")
    test_ids = [ids[r] for r in range(m) if split[r] == "test"]
    with (out_dir / "sample_submission.csv").open("w", newline="", encoding="utf-8") as f:
        ww = csv.writer(f, lineterminator="\n")
        ww.writerow(["id", "winner_model_a", "winner_model_b", "winner_tie"])
        third = repr(1 / 3)
        for i in test_ids:
            ww.writerow([i, third, third, third])

    src_ids = plan.conversation_ids(plan.g_first_conv[sg]).to_pylist() if plan.n_groups else [None] * m
    topic_names = np.array([t.name for t in TOPICS], dtype=object)
    truth = pa.table(
        [
            pa.array(ids, pa.string()),
            pa.array(split, pa.string()),
            pa.array(topic, pa.int32()),
            pa.array(topic_names[topic], pa.string()),
            pa.array(np.array(LANGUAGE_NAMES, dtype=object)[lang], pa.string()),
            pa.array(n_turns, pa.int32()),
            pa.array([model_names[i] for i in ma.tolist()], pa.string()),
            pa.array([model_names[i] for i in mb.tolist()], pa.string()),
            pa.array(qa),
            pa.array(qb),
            pa.array(special, pa.string()),
            pa.array(p_a),
            pa.array(p_b),
            pa.array(p_tie),
            pa.array(labels, pa.string()),
            pa.array(overlap, pa.string()),
            pa.array(
                [s if k >= 0 else None for s, k in zip(src_ids, src_group.tolist(), strict=True)], pa.string()
            ),
            pa.array(src_group, pa.int64(), mask=src_group < 0),
            pa.array(jac, pa.float64(), mask=np.isnan(jac)),
            pa.array(malformed, pa.string()),
        ],
        schema=TRUTH_BATTLES_SCHEMA,
    )
    pq.write_table(truth, truth_path, compression="zstd")

    eps = 1e-15
    ent = -(probs * np.log(np.clip(probs, eps, 1.0))).sum(axis=1)
    realized = -np.log(np.clip(probs[np.arange(m), label_idx], eps, 1.0))
    mix = {k: float(np.mean(labels == k)) if m else 0.0 for k in ("model_a", "model_b", "tie")}
    return CompetitionStats(
        n_train=m - n_test,
        n_test=n_test,
        overlap_counts={k: int(np.sum(overlap == k)) for k in ("none", *OVERLAP_KINDS)},
        malformed_counts={k: int(np.sum(malformed == k)) for k in TRAIN_MALFORMED},
        label_mix=mix,
        tie_share=float(np.mean(p_tie)) if m else 0.0,
        expected_log_loss=float(ent.mean()) if m else 0.0,
        realized_log_loss=float(realized.mean()) if m else 0.0,
        uniform_log_loss=float(np.log(3.0)),
    )


def csv_field(value: str) -> str:
    """One CSV field quoted like Python's csv module / pandas ``to_csv`` (QUOTE_MINIMAL), without its cost.

    The csv writer scans every character of multi-kilobyte JSON cells; a few substring tests and one
    ``replace`` give the same bytes.
    """
    if '"' in value or "," in value or "\n" in value:  # csv quotes \r only if it is in lineterminator
        return '"' + value.replace('"', '""') + '"'
    return value


def _swap_names(text: str, names: list[str]) -> str:
    """NAME_k placeholders back to first names (NAME_1 -> names[0], ...)."""
    return _NAME_PH.sub(lambda mt: names[(int(mt.group(1)) - 1) % len(names)], text)


def _corrupt(kind: str, cells: list[str], onehot: list[int], key: int) -> tuple[list[str], list[int]]:
    """Damage one row the way real competition files are damaged."""
    cells = list(cells)
    target = 1 if cells[1].startswith('["') else 0
    if kind == "lone_surrogate":
        c = cells[target]
        cells[target] = c[:2] + "\\ud83d" + c[2:]
    elif kind == "stray_escape":
        c = cells[target]
        cells[target] = c[:2] + "see \\q " + c[2:]
    elif kind == "truncated_json":
        c = cells[target]
        cells[target] = c[: max(3, len(c) // 2)].rstrip('"]')
    elif kind == "labels_not_one_hot":
        onehot = [1, 1, 0] if key % 2 == 0 else [0, 0, 0]
    elif kind == "empty_cell":
        cells[2] = ""
    return cells, onehot
