"""LMSYS-Chat-1M-shaped conversations: the plan (numbers only) and the shard writer (text).

The plan decides, in numpy, every group and conversation property: prompt groups (the same request sent
to several models), planted near-duplicate variants, placeholders, moderation flags, redaction, exact
duplicate records and models. The writer renders text shard by shard from the plan's keys, so memory is
bounded by the shard size while any prompt can be rendered again wherever it is needed.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq
from numpy.typing import NDArray

from arenapref.synth.text import (
    F64,
    I64,
    U64,
    AnswerStyle,
    TextBank,
    Turns,
    expand,
    h,
    jaccard,
    small_edit,
    spread_short_prompts,
    structure_keys,
    subset,
    uniform,
)
from arenapref.synth.topics import TOPICS
from arenapref.synth.vocab import ENGLISH_WEIGHT, LANGUAGES, LMSYS_MODELS

B = NDArray[np.bool_]

MODERATION_CATEGORIES = (
    "harassment",
    "harassment/threatening",
    "hate",
    "hate/threatening",
    "self-harm",
    "self-harm/instructions",
    "self-harm/intent",
    "sexual",
    "sexual/minors",
    "violence",
    "violence/graphic",
)
# Which category a flagged message gets (weights over MODERATION_CATEGORIES).
_FLAG_WEIGHTS = np.array([0.16, 0.02, 0.04, 0.01, 0.03, 0.01, 0.01, 0.5, 0.04, 0.15, 0.03])

TOPIC_WEIGHTS = np.array(
    [1.5, 0.7, 1.0, 1.2, 1.0, 0.6, 0.5, 0.6, 0.9, 0.7, 0.7, 0.8, 0.5, 0.5, 0.9, 0.4, 0.5, 0.4, 0.5, 0.6]
)

# Context sentences after the first request: lognormal, tuned for ~70 cl100k tokens per user turn.
CTX0_MU = 1.35
CTX0_SIGMA = 1.05

LMSYS_SCHEMA = pa.schema(
    [
        ("conversation_id", pa.string()),
        ("model", pa.string()),
        ("conversation", pa.list_(pa.struct([("content", pa.string()), ("role", pa.string())]))),
        ("turn", pa.int64()),
        ("language", pa.string()),
        (
            "openai_moderation",
            pa.list_(
                pa.struct(
                    [
                        ("categories", pa.struct([(c, pa.bool_()) for c in MODERATION_CATEGORIES])),
                        ("category_scores", pa.struct([(c, pa.float64()) for c in MODERATION_CATEGORIES])),
                        ("flagged", pa.bool_()),
                    ]
                )
            ),
        ),
        ("redacted", pa.bool_()),
    ]
)

TRUTH_CONVERSATIONS_SCHEMA = pa.schema(
    [
        ("conversation_id", pa.string()),
        ("model", pa.string()),
        ("prompt_group", pa.int64()),
        ("topic_id", pa.int32()),
        ("topic_name", pa.string()),
        ("language", pa.string()),
        ("n_turns", pa.int32()),
        ("near_dup_group", pa.int64()),
        ("is_near_dup_variant", pa.bool_()),
        ("near_dup_jaccard", pa.float64()),
        ("is_exact_dup_record", pa.bool_()),
        ("dup_of", pa.string()),
        ("has_placeholder", pa.bool_()),
        ("flagged", pa.bool_()),
        ("redacted", pa.bool_()),
        ("error_answer", pa.bool_()),
        ("empty_answer", pa.bool_()),
        ("keep_for_mining", pa.bool_()),
    ]
)

# Dictionary-encode only the low-cardinality columns (trying it on the text costs time and gains nothing).
DICT_COLUMNS = ["model", "language", "conversation.list.element.role"]

LANGUAGE_NAMES = ("English", *(lang.name for lang in LANGUAGES))


def language_probs(english: float) -> F64:
    """Probabilities over LANGUAGE_NAMES: ``english`` for English, the rest by the table's weights."""
    w = np.array([lang.weight for lang in LANGUAGES])
    return np.concatenate([[english], (1.0 - english) * w / w.sum()])


@dataclass
class LmsysPlan:
    """Every decision about the LMSYS-shaped data, as arrays; text is rendered later from the keys."""

    groups: Turns  # one row per prompt group; key is the text key (a variant shares its source's)
    g_variant: B
    g_edit_key: U64
    g_near: I64  # near-duplicate cluster id (the source group's id) or -1
    g_jaccard: F64  # variant vs source first turn, NaN elsewhere
    g_redacted: B
    g_flagged: B
    g_first_conv: I64  # output index of the group's first conversation
    c_group: I64  # per conversation, in output order
    c_model: I64
    c_answer_key: U64
    c_flag_extra: B
    c_dup_of: I64  # output index of the original record, or -1
    c_id_key: U64
    prompt_keys: U64  # structure keys of all groups' first turns, to keep other prompts distinct
    short_signatures: set[int]  # request signatures of short first turns (see text.spread_short_prompts)

    @property
    def n_conversations(self) -> int:
        return len(self.c_group)

    @property
    def n_groups(self) -> int:
        return len(self.groups.key)

    def conversation_ids(self, idx: I64) -> pa.StringArray:
        """32-hex conversation ids for output rows ``idx`` (built as one buffer, no per-id formatting)."""
        k = self.c_id_key[idx]
        raw = np.stack([h(k, 901), h(k, 902)], axis=1).astype(">u8").tobytes().hex().encode("ascii")
        offsets = np.arange(0, 32 * (len(k) + 1), 32, dtype=np.int32)
        return pa.StringArray.from_buffers(len(k), pa.py_buffer(offsets.tobytes()), pa.py_buffer(raw))


def _group_sizes(rng: np.random.Generator, n: int) -> I64:
    """Sizes of prompt groups summing to n: most 1, many 2-5, a few popular prompts sent 5-250 times."""
    if n == 0:
        return np.zeros(0, dtype=np.int64)
    est = n + 16
    u = rng.random(est)
    mid = 1 + rng.geometric(0.6, est)
    popular = 5 + np.floor(np.exp(rng.uniform(0.0, np.log(250.0), est)))
    sizes = np.where(u < 0.58, 1, np.where(u < 0.993, mid, popular)).astype(np.int64)
    cum = np.cumsum(sizes)
    g = int(np.searchsorted(cum, n)) + 1
    sizes = sizes[:g].copy()
    sizes[-1] -= int(cum[g - 1]) - n
    return sizes


def plan_lmsys(bank: TextBank, n: int, seed: int) -> LmsysPlan:
    """Decide all groups and conversations for ``n`` LMSYS-shaped conversations."""
    rng = np.random.default_rng([seed, 1])
    sizes = _group_sizes(rng, n)
    g_n = len(sizes)
    key = rng.integers(0, 2**63, g_n, dtype=np.int64).astype(np.uint64)
    topic = rng.choice(len(TOPICS), g_n, p=TOPIC_WEIGHTS / TOPIC_WEIGHTS.sum()).astype(np.int64)
    lang = rng.choice(len(LANGUAGE_NAMES), g_n, p=language_probs(ENGLISH_WEIGHT)).astype(np.int64)
    u_t = rng.random(g_n)
    n_turns = np.where(u_t < 0.6, 1, 1 + rng.geometric(0.4, g_n)).astype(np.int64)
    n_turns = np.minimum(n_turns, 30)
    ctx0 = np.clip(np.floor(np.exp(CTX0_MU + CTX0_SIGMA * rng.standard_normal(g_n))), 1, 60).astype(np.int64)
    ctx0 = np.minimum(ctx0, bank.ctx_caps(lang, n_turns)[0])
    has_name_tmpl = np.array([len(t) > 0 for t in bank.name_tmpl])[topic]
    name_prefix = rng.random(g_n) < 0.04
    has_name = name_prefix | (has_name_tmpl & (rng.random(g_n) < 0.5))
    ph_other = has_name & (rng.random(g_n) < 0.1)
    redacted = has_name & (rng.random(g_n) < 0.07)
    flagged = rng.random(g_n) < 0.025

    # Planted near-duplicates: some groups are small edits of another group's prompt.
    g_variant = np.zeros(g_n, dtype=bool)
    g_near = np.full(g_n, -1, dtype=np.int64)
    spaced = bank.spaced[lang]
    if g_n >= 10:
        n_var = round(0.03 * g_n)
        order = rng.permutation(g_n)
        variants = np.sort(order[:n_var])
        g_variant[variants] = True
        cand = order[n_var:]
        cand = cand[spaced[cand]]
        n_src = max(1, round(n_var / 1.5))
        sources = cand[:n_src]
        src_of = sources[rng.integers(0, len(sources), n_var)] if len(sources) else variants
        ctx0[sources] = np.maximum(ctx0[sources], 3)
        for arr in (key, topic, lang, n_turns, ctx0, has_name, name_prefix, ph_other, redacted):
            arr[variants] = arr[src_of]
        g_near[sources] = sources
        g_near[variants] = src_of
    groups = Turns(key, topic, lang, n_turns, ctx0, has_name, name_prefix, ph_other)
    g_edit_key = rng.integers(0, 2**63, g_n, dtype=np.int64).astype(np.uint64)

    # Keep every group's first turn distinct under a strict normalised key (no accidental exact matches),
    # and short prompts distinct in what they ask (no accidental near-duplicates).
    short_sigs: set[int] = set()
    spread_short_prompts(bank, groups, np.flatnonzero(~g_variant), short_sigs)
    prompt_keys = distinct_first_turns(bank, groups, np.flatnonzero(~g_variant), rng, np.zeros(0, np.uint64))
    key[g_variant] = key[g_near[g_variant]]  # re-keyed sources take their variants along
    g_jaccard = np.full(g_n, np.nan)
    var_idx = np.flatnonzero(g_variant)
    one_turn = Turns(key, topic, lang, np.ones_like(n_turns), ctx0, has_name, name_prefix, ph_other)
    for g, src in zip(
        var_idx.tolist(), bank.user_turns(subset(one_turn, var_idx), names=False).texts, strict=True
    ):
        g_jaccard[g] = jaccard(src, small_edit(src, int(g_edit_key[g])))

    # Conversations: members of groups, with models, exact duplicate records, then shuffled.
    c_group = np.repeat(np.arange(g_n, dtype=np.int64), sizes)
    _, rank = expand(sizes)
    w = np.array([m.weight for m in LMSYS_MODELS])
    c_model = rng.choice(len(LMSYS_MODELS), n, p=w / w.sum()).astype(np.int64)
    c_answer_key = rng.integers(0, 2**63, n, dtype=np.int64).astype(np.uint64)
    c_flag_extra = rng.random(n) < 0.005
    is_copy = (rank > 0) & (rng.random(n) < 0.035)
    start = np.repeat(np.cumsum(sizes) - sizes, sizes)
    c_dup_src = np.where(is_copy, start, -1)
    for arr in (c_model, c_answer_key, c_flag_extra):
        arr[is_copy] = arr[start[is_copy]]
    perm = rng.permutation(n)
    inv = np.empty(n, dtype=np.int64)
    inv[perm] = np.arange(n)
    c_group = c_group[perm]
    c_model = c_model[perm]
    c_answer_key = c_answer_key[perm]
    c_flag_extra = c_flag_extra[perm]
    dup = c_dup_src[perm]
    c_dup_of = np.where(dup >= 0, inv[np.maximum(dup, 0)], -1)
    first = np.full(g_n, n, dtype=np.int64)
    np.minimum.at(first, c_group, np.arange(n, dtype=np.int64))
    # The original must come before its copies in output order: the earliest of a set is the original.
    c_dup_of = _reorder_dups(c_dup_of)
    c_id_key = rng.integers(0, 2**63, n, dtype=np.int64).astype(np.uint64)
    return LmsysPlan(
        groups=groups,
        g_variant=g_variant,
        g_edit_key=g_edit_key,
        g_near=g_near,
        g_jaccard=g_jaccard,
        g_redacted=redacted,
        g_flagged=flagged,
        g_first_conv=first,
        c_group=c_group,
        c_model=c_model,
        c_answer_key=c_answer_key,
        c_flag_extra=c_flag_extra,
        c_dup_of=c_dup_of,
        c_id_key=c_id_key,
        prompt_keys=prompt_keys,
        short_signatures=short_sigs,
    )


def _reorder_dups(dup_of: I64) -> I64:
    """Point every copy at the earliest record of its identical set, so 'dup_of' always looks back."""
    n = len(dup_of)
    root = np.where(dup_of >= 0, dup_of, np.arange(n))
    earliest = np.full(n, n, dtype=np.int64)
    np.minimum.at(earliest, root, np.arange(n, dtype=np.int64))
    e = earliest[root]
    return np.where(e == np.arange(n), -1, e)


def distinct_first_turns(bank: TextBank, spec: Turns, rows: I64, rng: np.random.Generator, taken: U64) -> U64:
    """Re-key ``rows`` whose first turn would equal another's (names masked); return all keys in use.

    ``taken``: structure keys already used elsewhere (the LMSYS groups, when placing competition prompts).
    """
    todo = rows
    seen = taken
    for _ in range(50):
        if len(todo) == 0:
            break
        keys = structure_keys(bank, subset(spec, todo))
        _, first = np.unique(keys, return_index=True)
        keep = np.zeros(len(todo), dtype=bool)
        keep[first] = True
        keep &= ~np.isin(keys, seen)
        seen = np.concatenate([seen, keys[keep]])
        todo = todo[~keep]
        spec.key[todo] = rng.integers(0, 2**63, len(todo), dtype=np.int64).astype(np.uint64)
    return seen


@dataclass
class LmsysStats:
    """What the shard writer produced."""

    shards: list[Path]
    n_conversations: int
    keepable_codes: I64  # group * 64 + model for every keepable record


def write_lmsys(
    bank: TextBank, plan: LmsysPlan, out_dir: Path, truth_path: Path, shard_rows: int
) -> LmsysStats:
    """Render and write the parquet shards and the per-conversation truth, one shard at a time."""
    out_dir.mkdir(parents=True, exist_ok=True)
    for old in out_dir.glob("part-*.parquet"):
        old.unlink()
    n = plan.n_conversations
    strength_len = np.array([m.length for m in LMSYS_MODELS])
    md = np.array([m.markdown for m in LMSYS_MODELS])
    ref = np.array([m.refusal for m in LMSYS_MODELS])
    model_names = np.array([m.name for m in LMSYS_MODELS], dtype=object)
    lang_names = np.array(LANGUAGE_NAMES, dtype=object)
    topic_names = np.array([t.name for t in TOPICS], dtype=object)
    shards: list[Path] = []
    keep_codes: list[I64] = []
    writer = pq.ParquetWriter(truth_path, TRUTH_CONVERSATIONS_SCHEMA)
    try:
        for s, lo in enumerate(range(0, max(n, 1), shard_rows)):
            if n == 0:
                break
            idx = np.arange(lo, min(n, lo + shard_rows), dtype=np.int64)
            table, truth, keep = _render_shard(
                bank, plan, idx, strength_len, md, ref, model_names, lang_names, topic_names
            )
            path = out_dir / f"part-{s:05d}.parquet"
            pq.write_table(
                table, path, compression="snappy", use_dictionary=DICT_COLUMNS, write_statistics=False
            )
            shards.append(path)
            writer.write_table(truth)
            keep_codes.append(keep)
    finally:
        writer.close()
    codes = np.concatenate(keep_codes) if keep_codes else np.zeros(0, dtype=np.int64)
    return LmsysStats(shards=shards, n_conversations=n, keepable_codes=codes)


def _render_shard(
    bank: TextBank,
    plan: LmsysPlan,
    idx: I64,
    length: F64,
    md: F64,
    ref: F64,
    model_names: NDArray[np.object_],
    lang_names: NDArray[np.object_],
    topic_names: NDArray[np.object_],
) -> tuple[pa.Table, pa.Table, I64]:
    g = plan.groups
    cg = plan.c_group[idx]
    ug, inv = np.unique(cg, return_inverse=True)
    uflat = bank.user_turns(subset(g, ug), names=False)
    utexts = uflat.texts
    for j, grp in enumerate(ug.tolist()):
        if plan.g_variant[grp]:
            o = int(uflat.offsets[j])
            utexts[o] = small_edit(utexts[o], int(plan.g_edit_key[grp]))
    model = plan.c_model[idx]
    n_turns = g.n_turns[cg]
    style = AnswerStyle(
        key=plan.c_answer_key[idx],
        topic=g.topic[cg],
        lang=g.lang[cg],
        n_turns=n_turns,
        length=length[model],
        markdown=md[model],
        refusal=ref[model],
    )
    answers, feats = bank.answers(style, errors=True)
    # Interleave user and assistant turns in Arrow (no Python loop over messages).
    t_owner, t_turn = expand(n_turns)
    n_ct = len(t_owner)
    user_arr = pa.array(utexts, pa.string()).take(pa.array(uflat.offsets[inv[t_owner]] + t_turn))
    both = pa.concat_arrays([user_arr, answers.texts])
    inter = np.empty(2 * n_ct, dtype=np.int64)
    inter[0::2] = np.arange(n_ct)
    inter[1::2] = n_ct + np.arange(n_ct)
    content = both.take(pa.array(inter))
    n_msg = 2 * n_turns
    offsets = np.zeros(len(idx) + 1, dtype=np.int32)
    np.cumsum(n_msg, out=offsets[1:])
    roles = pa.DictionaryArray.from_arrays(
        pa.array(np.tile(np.array([0, 1], dtype=np.int8), n_ct)), pa.array(["user", "assistant"])
    ).cast(pa.string())
    msgs = pa.StructArray.from_arrays([content, roles], names=["content", "role"])
    conversation = pa.ListArray.from_arrays(pa.array(offsets), msgs)

    # Moderation, one entry per message; copies share answer keys, so identical records flag alike.
    m_owner, m_pos = expand(n_msg)
    flagged_group = plan.g_flagged[cg]
    extra = plan.c_flag_extra[idx]
    msg_flag = (flagged_group[m_owner] & (m_pos == 0)) | (extra[m_owner] & (m_pos == 1))
    gkey = g.key[cg][m_owner]
    akey = plan.c_answer_key[idx][m_owner]
    mkey = np.where(m_pos % 2 == 0, gkey, akey)
    cat = np.searchsorted(
        np.cumsum(_FLAG_WEIGHTS / _FLAG_WEIGHTS.sum()), uniform(mkey, 61, m_pos), side="right"
    )
    cat = np.minimum(cat, len(MODERATION_CATEGORIES) - 1)
    cats, scores = [], []
    for ci, _name in enumerate(MODERATION_CATEGORIES):
        on = msg_flag & (cat == ci)
        base = np.exp(-uniform(mkey, 62 + ci, m_pos) * 12.0) * 0.02
        sc = np.where(on, 0.5 + 0.5 * uniform(mkey, 80 + ci, m_pos), base)
        cats.append(pa.array(on))
        scores.append(pa.array(sc))
    moderation = pa.ListArray.from_arrays(
        pa.array(offsets),
        pa.StructArray.from_arrays(
            [
                pa.StructArray.from_arrays(cats, names=list(MODERATION_CATEGORIES)),
                pa.StructArray.from_arrays(scores, names=list(MODERATION_CATEGORIES)),
                pa.array(msg_flag),
            ],
            names=["categories", "category_scores", "flagged"],
        ),
    )
    ids = plan.conversation_ids(idx)
    redacted = plan.g_redacted[cg]
    table = pa.table(
        [
            ids,
            pa.array(model_names[model], pa.string()),
            conversation,
            pa.array(n_turns, pa.int64()),
            pa.array(lang_names[g.lang[cg]], pa.string()),
            moderation,
            pa.array(redacted),
        ],
        schema=LMSYS_SCHEMA,
    )

    conv_flagged = flagged_group | extra
    keep = ~conv_flagged & ~redacted & ~feats.error & ~feats.empty
    dup = plan.c_dup_of[idx]
    dup_ids = pc.if_else(
        pa.array(dup >= 0), plan.conversation_ids(np.maximum(dup, 0)), pa.scalar(None, pa.string())
    )
    near = plan.g_near[cg]
    jac = plan.g_jaccard[cg]
    truth = pa.table(
        [
            ids,
            pa.array(model_names[model], pa.string()),
            pa.array(cg, pa.int64()),
            pa.array(g.topic[cg], pa.int32()),
            pa.array(topic_names[g.topic[cg]], pa.string()),
            pa.array(lang_names[g.lang[cg]], pa.string()),
            pa.array(n_turns, pa.int32()),
            pa.array(near, pa.int64(), mask=near < 0),
            pa.array(plan.g_variant[cg]),
            pa.array(jac, pa.float64(), mask=np.isnan(jac)),
            pa.array(dup >= 0),
            dup_ids,
            pa.array(g.has_name[cg]),
            pa.array(conv_flagged),
            pa.array(redacted),
            pa.array(feats.error),
            pa.array(feats.empty),
            pa.array(keep),
        ],
        schema=TRUTH_CONVERSATIONS_SCHEMA,
    )
    return table, truth, (cg[keep] * 64 + model[keep]).astype(np.int64)


def minable_groups_table(plan: LmsysPlan, keepable_codes: I64) -> pa.Table:
    """Per prompt group: conversations, keepable records, distinct models among them, minable flag."""
    g_n = plan.n_groups
    n_conv = np.bincount(plan.c_group, minlength=g_n)
    groups = keepable_codes // 64
    n_keep = np.bincount(groups, minlength=g_n)
    uniq = np.unique(keepable_codes)
    n_models = np.bincount(uniq // 64, minlength=g_n)
    n_all_models = np.bincount(np.unique(plan.c_group * 64 + plan.c_model) // 64, minlength=g_n)
    near = plan.g_near
    return pa.table(
        {
            "prompt_group": pa.array(np.arange(g_n, dtype=np.int64)),
            "topic_id": pa.array(plan.groups.topic.astype(np.int32)),
            "language": pa.array(np.array(LANGUAGE_NAMES, dtype=object)[plan.groups.lang], pa.string()),
            "n_turns": pa.array(plan.groups.n_turns.astype(np.int32)),
            "near_dup_group": pa.array(near, pa.int64(), mask=near < 0),
            "n_conversations": pa.array(n_conv.astype(np.int64)),
            "n_keepable": pa.array(n_keep.astype(np.int64)),
            "n_distinct_models_all": pa.array(n_all_models.astype(np.int64)),
            "n_distinct_models": pa.array(n_models.astype(np.int64)),
            "minable": pa.array(n_models >= 2),
        }
    )
