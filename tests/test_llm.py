"""LLM fine-tuning on CPU with tiny randomly initialised models built here (nothing downloaded).

Every test runs the real code: transformers loads a Llama / Qwen2 / Mistral / Gemma-2 folder written by
``make_tiny_base`` as a sequence classifier, peft adds LoRA, the loop trains, checkpoints, resumes, and
the saved folder predicts. Sizes are tiny (two layers, hidden size 32, max_length 64) because the CI
machine is small; what is checked is behaviour (layout, swap symmetry, resume equality, errors), not
quality.
"""

from __future__ import annotations

import json
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from arenapref.errors import ArenaprefError, MissingDependencyError
from arenapref.model.labels import battle_labels
from arenapref.model.llm import is_llm_model_dir, load_llm, parse_llm_params, predict_llm, train_llm
from arenapref.model.llm.encode import (
    _fit_turns,
    _last_turn,
    _per_part,
    encode_battles,
    make_layout,
    split_budget,
)
from arenapref.records import Battle, Conversation, Turn, battles_table, conversations_table

torch = pytest.importorskip("torch")
pytest.importorskip("transformers")
pytest.importorskip("peft")

from arenapref.model.llm.runtime import load_tokenizer  # noqa: E402
from arenapref.model.llm.tiny import make_tiny_base  # noqa: E402
from arenapref.model.llm.train import _Trainer, work_dir_for  # noqa: E402

WORDS = ["alpha", "beta", "gamma", "delta", "omega", "sigma", "tau", "rho", "kappa", "lambda"]
SWAP = [1, 0, 2]
# Small and fast: 64 tokens per sequence, no gradient checkpointing unless a test asks for it.
FAST = {
    "max_length": "64",
    "epochs": "1",
    "batch_size": "4",
    "grad_accum": "1",
    "gradient_checkpointing": "false",
}


@pytest.fixture(scope="module", autouse=True)
def _one_thread() -> Iterator[None]:
    # Eight jobs share two cores here; torch's default thread pool then spins and is 20x slower.
    before = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(before)


def _text(rng: np.random.Generator, n: int) -> str:
    return " ".join(rng.choice(WORDS, n))


def _battles(n: int, seed: int = 0, soft: bool = False) -> pa.Table:
    """Battles whose longer answer tends to win; every 4th has two turns, every 7th a null answer."""
    rng = np.random.default_rng(seed)
    out = []
    for i in range(n):
        la, lb = int(rng.integers(1, 12)), int(rng.integers(1, 12))
        soft_label = (0.8, 0.1, 0.1) if la > lb else (0.1, 0.8, 0.1) if lb > la else (0.2, 0.2, 0.6)
        label = soft_label if soft else tuple(float(v == max(soft_label)) for v in soft_label)
        turns = 2 if i % 4 == 0 else 1
        prompt: list[str | None] = [_text(rng, 4) for _ in range(turns)]
        ans_a: list[str | None] = [_text(rng, la) for _ in range(turns)]
        ans_b: list[str | None] = [_text(rng, lb) if i % 7 else None for _ in range(turns)]
        out.append(Battle(f"b{i}", prompt, ans_a, ans_b, label=(label[0], label[1], label[2])))
    return battles_table(out)


@pytest.fixture(scope="module")
def bases(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    root = tmp_path_factory.mktemp("bases")
    corpus = [" ".join(WORDS)] * 4
    return {f: make_tiny_base(root / f, corpus, family=f) for f in ("llama", "qwen2", "mistral", "gemma2")}


@pytest.fixture(scope="module")
def llama_model(
    bases: dict[str, Path], tmp_path_factory: pytest.TempPathFactory
) -> tuple[Path, dict[str, Any]]:
    out = tmp_path_factory.mktemp("llama") / "model"
    params = {**FAST, "epochs": "2", "valid_frac": "0.3", "gradient_checkpointing": "true"}
    summary = train_llm(_battles(24), out, bases["llama"], params, seed=0, progress=False)
    return out, summary


# --- settings, budget, dependencies (no model) ---------------------------------------------------


@pytest.mark.parametrize(
    ("key", "value", "words"),
    [
        ("max_length", "long", "max_length=long: expected a whole number"),
        ("max_length", "8", "max_length=8: expected at least 16"),
        ("learning_rate", "-1", "learning_rate=-1"),
        ("lora_r", "0", "lora_r=0"),
        ("precision", "fp8", "precision=fp8: expected one of auto, bf16, fp16, fp32"),
        ("gradient_checkpointing", "maybe", "gradient_checkpointing=maybe: expected true or false"),
        ("valid_frac", "1.5", "valid_frac=1.5"),
        ("lora_rank", "8", "`params` 'lora_rank': not a setting of `model`=llm"),
        ("truncation", "right", "truncation=right: expected one of last_turn, per_part"),
        ("fold_average", "median", "fold_average=median: expected one of weights, predictions"),
        ("kl_weight", "-0.5", "kl_weight=-0.5: expected a weight of zero or more"),
        ("ce_weight", "0", "ce_weight=0 leaves nothing to learn from"),
    ],
)
def test_bad_setting_is_one_sentence_naming_the_key(key: str, value: str, words: str) -> None:
    with pytest.raises(ArenaprefError) as err:
        parse_llm_params({key: value})
    assert words in str(err.value)
    assert "\n" not in str(err.value)


def test_typed_settings_from_the_cpu_parser_are_accepted() -> None:
    p = parse_llm_params({"max_length": 2048, "learning_rate": 2e-4, "swap_augment": False, "resume": True})
    assert (p.max_length, p.learning_rate, p.swap_augment, p.resume) == (2048, 2e-4, False, "true")


def test_budget_split_is_symmetric_and_gives_unused_tokens_away() -> None:
    assert split_budget((10, 10, 10), 100, 0.25) == (10, 10, 10)
    # a short prompt leaves its share to the answers, which split it equally
    p, a, b = split_budget((5, 500, 500), 100, 0.25)
    assert p == 5 and a == b and p + a + b <= 100 and a >= 37
    for need in [(300, 20, 900), (3, 77, 12), (50, 50, 51), (1000, 1000, 1000)]:
        p, a, b = split_budget(need, 128, 0.25)
        p2, b2, a2 = split_budget((need[0], need[2], need[1]), 128, 0.25)
        assert (p, a, b) == (p2, a2, b2)
        assert p + a + b <= 128 and p <= max(32, need[0]) and a <= need[1] and b <= need[2]


def test_oldest_turns_go_first_and_a_long_last_turn_keeps_its_head() -> None:
    turns = [[1, 1, 1], [2, 2], [3, 3, 3, 3]]
    assert _fit_turns(turns, 100, [0]) == [1, 1, 1, 0, 2, 2, 0, 3, 3, 3, 3]
    assert _fit_turns(turns, 7, [0]) == [2, 2, 0, 3, 3, 3, 3]
    assert _fit_turns(turns, 5, [0]) == [3, 3, 3, 3]
    assert _fit_turns(turns, 2, [0]) == [3, 3]


def test_left_truncation_keeps_both_last_answers_before_any_history() -> None:
    sep = [0]
    prompt = [[1] * 3, [2] * 3]
    # A wrote a long first answer; B's last answer is long. Left truncation keeps the whole last turn.
    ans_a, ans_b = [[3] * 60, [4] * 5], [[5] * 2, [6] * 20]
    last = _last_turn(prompt, ans_a, ans_b, 40, 0.25, sep)
    assert (last.prompt, last.answer_a, last.answer_b) == ([2] * 3, [4] * 5, [6] * 20)
    # Per part, A's long history gets A a share it cannot use, and B's last answer is cut short.
    old = _per_part(prompt, ans_a, ans_b, 40, 0.25, sep)
    assert old.answer_a == [4] * 5 and old.answer_b == [6] * 16
    # With room, earlier turns come back whole and aligned: prompt, A and B keep the same turns.
    roomy = _last_turn(prompt, [[3] * 6, [4] * 10], ans_b, 50, 0.25, sep)
    assert roomy.prompt == [1, 1, 1, 0, 2, 2, 2]
    assert roomy.answer_a == [3] * 6 + [0] + [4] * 10 and roomy.answer_b == [5, 5, 0] + [6] * 20
    # An earlier turn that does not fit whole is dropped with everything older (turn -3 would fit).
    tight = _last_turn([[7], *prompt], [[8], [3] * 6, [4] * 10], [[9], *ans_b], 45, 0.25, sep)
    assert tight.prompt == [2] * 3 and tight.answer_a == [4] * 10
    # The rule is its own mirror image, and a single turn is cut exactly as per part.
    swapped = _last_turn(prompt, ans_b, ans_a, 40, 0.25, sep)
    assert (swapped.answer_a, swapped.answer_b) == (last.answer_b, last.answer_a)
    for budget in (5, 17, 40, 200):
        one = ([list(range(30))], [list(range(50))], [list(range(9))])
        assert _last_turn(*one, budget, 0.25, sep) == _per_part(*one, budget, 0.25, sep)
    # A last turn over its budget keeps its beginning, and no history is put before a cut turn.
    cut = _last_turn([[1] * 2, [2] * 40], [[3], [4] * 40], [[5], [6] * 40], 30, 0.25, sep)
    assert cut.prompt == [2] * 7 and cut.answer_a == [4] * 11 and cut.answer_b == [6] * 11


def test_sequences_fit_max_length_and_swap_exchanges_the_answers(bases: dict[str, Path]) -> None:
    tok = load_tokenizer(bases["llama"])
    layout = make_layout(tok)
    assert layout.prefix[0] == tok.bos_token_id  # the tokenizer's own <s>, found by comparison
    table = _battles(12)
    enc = encode_battles(tok, layout, table, 48, 0.25) + encode_battles(
        tok, layout, table, 48, 0.25, "per_part"
    )
    for e in enc:
        ab, ba = e.ids(layout), e.ids(layout, swap=True)
        assert len(ab) == len(ba) <= 48
        assert sorted(ab) == sorted(ba)
    too_short = layout.fixed + 1
    with pytest.raises(ArenaprefError, match=f"max_length={too_short}: the markers alone take"):
        encode_battles(tok, layout, table, too_short, 0.25)


def test_importing_the_package_does_not_import_torch() -> None:
    code = (
        "import sys, arenapref.model.llm, arenapref.model.llm.encode, arenapref.model.llm.params;"
        "bad=[m for m in ('torch','transformers','peft','lightgbm') if m in sys.modules];"
        "print(bad); sys.exit(1 if bad else 0)"
    )
    run = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=False)
    assert run.returncode == 0, run.stdout + run.stderr


def test_missing_libraries_are_one_sentence(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.setitem(sys.modules, "peft", None)  # import peft now raises ImportError
    with pytest.raises(MissingDependencyError) as err:
        train_llm(_battles(4), tmp_path / "m", tmp_path, FAST)
    assert "torch transformers peft" in str(err.value) and "arenapref[llm]" in str(err.value)


# --- training and prediction ----------------------------------------------------------------------


def test_llama_trains_writes_the_cpu_layout_and_predicts_its_validation_rows(
    llama_model: tuple[Path, dict[str, Any]],
) -> None:
    out, summary = llama_model
    assert is_llm_model_dir(out)
    assert not work_dir_for(out).exists()  # checkpoints removed after success
    assert sorted(p.name for p in out.iterdir()) == [
        "adapters",
        "llm_config.json",
        "metrics.json",
        "oof.parquet",
        "tokenizer",
    ]
    oof = pq.read_table(out / "oof.parquet")
    assert oof.column_names == ["id", "p_a", "p_b", "p_tie", "fold"]
    metrics = json.loads((out / "metrics.json").read_text())
    assert metrics["n_labeled"] == 24 and metrics["n_validation"] == oof.num_rows > 0
    assert [h["epoch"] for h in metrics["per_fold"][0]["history"]] == [1, 2]
    assert summary["oof_log_loss"] == pytest.approx(metrics["oof_log_loss"])
    # The saved folder reproduces the validation predictions made at the end of training.
    table = _battles(24)
    valid = table.filter(pa.compute.is_in(table.column("id"), oof.column("id")))
    proba = predict_llm(out, valid)
    want = np.column_stack([oof.column(c).to_numpy() for c in ("p_a", "p_b", "p_tie")])
    np.testing.assert_allclose(proba, want, atol=1e-5)


def test_prediction_averages_both_orders_so_a_swap_mirrors_it(
    llama_model: tuple[Path, dict[str, Any]],
) -> None:
    out, _ = llama_model
    table = _battles(10, seed=5)
    swapped = table.select(["id", "prompt", "response_b", "response_a"]).rename_columns(
        ["id", "prompt", "response_a", "response_b"]
    )
    model = load_llm(out, batch_size=3)
    p = model.predict_proba(table)
    assert p.shape == (10, 3)
    np.testing.assert_allclose(p.sum(axis=1), 1.0, atol=1e-9)
    np.testing.assert_allclose(model.predict_proba(swapped), p[:, SWAP], atol=1e-5)
    # Length-sorted batches give the same numbers as batches in input order.
    np.testing.assert_allclose(model.predict_proba(table, sort_by_length=False), p, atol=1e-5)
    assert predict_llm(out, table.slice(0, 0)).shape == (0, 3)


def _teacher_column(n: int, seed: int) -> pa.Array:
    """Random probabilities (A, B, tie) per row; every 5th row unscored (null)."""
    rng = np.random.default_rng(seed)
    rows = [None if i % 5 == 0 else list(rng.dirichlet([2.0, 2.0, 1.0])) for i in range(n)]
    return pa.array(rows, pa.list_(pa.float64()))


def test_teachers_come_from_columns_and_files_joined_by_id(tmp_path: Path) -> None:
    from arenapref.model.llm.teachers import read_teachers, teacher_report

    table = _battles(6).append_column("big", _teacher_column(6, 0))
    # A label --teacher output covering rows 2-4 (and one id the training data lacks), and a submission.
    labeled = pa.table(
        {"id": ["b2", "b3", "b4", "zz"], "p_a": [0.5, 0.2, 0.1, 1.0], "p_b": [0.25, 0.2, 0.8, 0.0]}
    )
    labeled = labeled.append_column("p_tie", pa.array([0.25, 0.6, 0.1, 0.0]))
    pq.write_table(labeled, tmp_path / "labels.parquet")
    (tmp_path / "sub.csv").write_text("id,winner_model_a,winner_model_b,winner_tie\nb0,0.6,0.3,0.1\n")
    entries = ["big", str(tmp_path / "labels.parquet"), str(tmp_path / "sub.csv")]
    proba = read_teachers(table, entries)
    assert proba.shape == (6, 3, 3)
    np.testing.assert_allclose(proba[1:5, 0], np.asarray(table.column("big").to_pylist()[1:5]))
    assert np.isnan(proba[[0, 5], 0]).all()  # null cells: that teacher did not score those rows
    np.testing.assert_allclose(proba[3, 1], [0.2, 0.2, 0.6])
    assert np.isnan(proba[[0, 1, 5], 1]).all()
    np.testing.assert_allclose(proba[0, 2], [0.6, 0.3, 0.1])
    y, _ = battle_labels(table)
    report = teacher_report(entries, proba, y)
    assert [r["rows"] for r in report] == [4, 3, 1]
    assert all(isinstance(r["log_loss"], float) for r in report)

    logits = table.append_column("raw", pa.array([[2.0, -1.0, 0.5]] * 6, pa.list_(pa.float64())))
    with pytest.raises(
        ArenaprefError, match=r"teacher column 'raw', row 1: expected three probabilities .* logits"
    ):
        read_teachers(logits, ["raw"])
    with pytest.raises(
        ArenaprefError, match="'nope' is neither a column of the training data nor an existing"
    ):
        read_teachers(table, ["nope"])
    (tmp_path / "dup.csv").write_text("id,p_a,p_b,p_tie\nb1,1,0,0\nb1,0,1,0\n")
    with pytest.raises(ArenaprefError, match=r"dup\.csv, row 2: id 'b1' also on row 1"):
        read_teachers(table, [str(tmp_path / "dup.csv")])
    (tmp_path / "bare.csv").write_text("id,score\nb1,3\n")
    with pytest.raises(ArenaprefError, match="expected columns id and p_a, p_b, p_tie"):
        read_teachers(table, [str(tmp_path / "bare.csv")])


def test_distillation_loss_is_ce_plus_kl_plus_cosine_over_the_teachers_that_scored() -> None:
    from arenapref.model.llm.train import distill_loss

    logits = torch.tensor([[1.0, -0.5, 0.2], [0.3, 0.3, -1.0]])
    labels = torch.tensor([[1.0, 0.0, 0.0], [0.2, 0.7, 0.1]])
    ce = -(labels * torch.log_softmax(logits, dim=-1)).sum(dim=-1)
    p = parse_llm_params({"ce_weight": "0.5", "kl_weight": "2", "cos_weight": "3", "kl_temperature": "2"})
    # No teachers: the weighted cross-entropy alone.
    torch.testing.assert_close(distill_loss(logits, labels, torch.zeros(2, 0, 3), p), 0.5 * ce)
    # A teacher that agrees with the model adds nothing (KL 0, cosine 1), even through a shift.
    same = (torch.log_softmax(logits, dim=-1) + 4.0)[:, None, :]
    torch.testing.assert_close(distill_loss(logits, labels, same, p), 0.5 * ce)
    # By hand for one teacher, at temperature 2; an unscored (NaN) second teacher changes nothing.
    teacher = torch.log(torch.tensor([[0.6, 0.3, 0.1], [0.1, 0.1, 0.8]]))
    q_t = torch.softmax(teacher / 2, dim=-1)
    q_s = torch.softmax(logits / 2, dim=-1)
    kl = (q_t * (q_t.log() - q_s.log())).sum(dim=-1) * 4
    cos = 1 - (q_t * q_s).sum(dim=-1) / (q_t.norm(dim=-1) * q_s.norm(dim=-1))
    want = 0.5 * ce + 2 * kl + 3 * cos
    torch.testing.assert_close(distill_loss(logits, labels, teacher[:, None, :], p), want)
    unscored = torch.full((2, 1, 3), float("nan"))
    both = torch.cat([teacher[:, None, :], unscored], dim=1)
    torch.testing.assert_close(distill_loss(logits, labels, both, p), want)
    # Two teachers: the mean of their terms, and gradients stay finite with an unscored one.
    two = torch.cat([teacher[:, None, :], same], dim=1)
    torch.testing.assert_close(distill_loss(logits, labels, two, p), 0.5 * ce + (2 * kl + 3 * cos) / 2)
    leaf = logits.clone().requires_grad_(True)
    distill_loss(leaf, labels, both, p).sum().backward()
    assert leaf.grad is not None and torch.isfinite(leaf.grad).all()


def test_qwen2_folds_soft_labels_two_teachers_and_adapters_kept_apart(
    bases: dict[str, Path], tmp_path: Path
) -> None:
    # Qwen2's tokenizer has no padding token and adds no <bos>: training pads with </s>.
    table = _battles(16, seed=1, soft=True).append_column("big", _teacher_column(16, 1))
    other = pa.table({"id": [f"b{i}" for i in range(0, 16, 2)], "p_a": [0.7] * 8, "p_b": [0.2] * 8})
    pq.write_table(other.append_column("p_tie", pa.array([0.1] * 8)), tmp_path / "other.parquet")
    params = {
        **FAST,
        "teachers": f"big,{tmp_path / 'other.parquet'}",
        "kl_temperature": "2",
        "fold_average": "predictions",
        "target_modules": "q_proj,v_proj",
    }
    summary = train_llm(table, tmp_path / "q", bases["qwen2"], params, seed=1, folds=2, progress=False)
    assert summary["n_validation"] == 16 and len(summary["fold_log_loss"]) == 2
    assert [t["rows"] for t in summary["teachers"]] == [12, 8]
    cfg = json.loads((tmp_path / "q" / "llm_config.json").read_text())
    assert cfg["adapters"] == ["adapters/0", "adapters/1"] and cfg["fold_adapters_averaged"] == 0
    oof = pq.read_table(tmp_path / "q" / "oof.parquet")
    folds = oof.column("fold").to_pylist()
    assert sorted(oof.column("id").to_pylist()) == sorted(table.column("id").to_pylist())
    assert set(folds) == {0, 1}
    p = predict_llm(tmp_path / "q", table)
    assert p.shape == (16, 3) and np.isfinite(p).all()


def test_the_whole_recipe_trains_together_and_the_fold_adapters_average_exactly(
    bases: dict[str, Path], tmp_path: Path
) -> None:
    """Distillation, full swap, --weight, left truncation, 2 folds averaged into one, the temperature."""
    import peft
    import transformers

    table = _battles(16, seed=6).append_column("big", _teacher_column(16, 2))
    table = table.set_column(
        table.column_names.index("source"), "source", pa.array(["mined", "human"] * 8, pa.string())
    )
    params = {**FAST, "max_length": "48", "full_swap": "true", "teachers": "big", "keep_checkpoints": "true"}
    out = tmp_path / "m"
    summary = train_llm(table, out, bases["llama"], params, folds=2, progress=False, weights={"mined": 0.5})
    cfg = json.loads((out / "llm_config.json").read_text())
    assert cfg["adapters"] == ["adapters/mean"] and cfg["fold_adapters_averaged"] == 2
    assert cfg["params"]["truncation"] == "last_turn" and cfg["weights"] == {"mined": 0.5}
    assert summary["oof_log_loss_crossfit_temperature"] is not None and summary["teachers"][0]["rows"] == 12
    assert sorted(p.name for p in (out / "adapters").iterdir()) == ["mean"]

    def merged(adapter: Path) -> dict[str, Any]:
        base = transformers.AutoModelForSequenceClassification.from_pretrained(
            str(bases["llama"]), num_labels=3
        )
        model = peft.PeftModel.from_pretrained(base, str(adapter)).merge_and_unload()
        return {k: v.detach().clone() for k, v in model.state_dict().items()}

    folds = [merged(work_dir_for(out) / f"fold-{k}" / "done" / "adapter") for k in (0, 1)]
    mean = merged(out / "adapters" / "mean")
    changed = 0
    for key, value in mean.items():
        torch.testing.assert_close(value, (folds[0][key] + folds[1][key]) / 2, atol=1e-6, rtol=1e-5)
        changed += int(not torch.equal(folds[0][key], folds[1][key]))
    assert changed > 10  # the folds learned different weights (LoRA'd projections and the head)
    # One merged model predicts; it is symmetric under a swap like the others.
    model = load_llm(out)
    assert not hasattr(model.model, "peft_config")
    p = model.predict_proba(table)
    np.testing.assert_allclose(model.predict_proba(_swapped(table)), p[:, SWAP], atol=1e-5)


def test_a_format_1_folder_still_predicts_with_its_old_truncation(
    llama_model: tuple[Path, dict[str, Any]], tmp_path: Path
) -> None:
    import shutil

    old = tmp_path / "old"
    shutil.copytree(llama_model[0], old)
    cfg = json.loads((old / "llm_config.json").read_text())
    params = {k: v for k, v in cfg["params"].items() if k not in {"truncation", "teachers", "fold_average"}}
    params |= {"teacher_column": "teacher_logits", "kl_weight": 0.0}
    for k in ("ce_weight", "cos_weight"):
        params.pop(k)
    (old / "llm_config.json").write_text(json.dumps({**cfg, "format_version": 1, "params": params}))
    model = load_llm(old)
    assert model.params.truncation == "per_part"
    assert model.predict_proba(_battles(3)).shape == (3, 3)


@pytest.mark.parametrize("family", ["mistral", "gemma2"])
def test_other_families_train_and_predict(bases: dict[str, Path], tmp_path: Path, family: str) -> None:
    params = {**FAST, "valid_frac": "0", "target_modules": "all-linear", "swap_augment": "false"}
    if family == "gemma2":
        params["attn_implementation"] = "eager"  # what Gemma-2 training should use
    summary = train_llm(_battles(8, seed=2), tmp_path / family, bases[family], params, progress=False)
    assert summary["n_validation"] == 0 and summary["oof_log_loss"] is None
    p = predict_llm(tmp_path / family, _battles(5, seed=3))
    assert p.shape == (5, 3) and np.allclose(p.sum(axis=1), 1.0)


# --- checkpoints and resume -----------------------------------------------------------------------


def test_a_killed_run_resumes_to_the_same_model(
    bases: dict[str, Path], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    table = _battles(12, seed=4)
    params = {
        **FAST,
        "batch_size": "2",
        "epochs": "2",
        "save_steps": "2",
        "valid_frac": "0.25",
        "lora_dropout": "0.1",
    }
    reference = train_llm(table, tmp_path / "ref", bases["llama"], params, seed=3, progress=False)
    out = tmp_path / "run"
    real_save = _Trainer.save_checkpoint

    def save_then_die(self: _Trainer) -> None:
        real_save(self)
        if self.step == 4:
            raise KeyboardInterrupt  # what Ctrl-C (or a kill right after the checkpoint) leaves behind

    monkeypatch.setattr(_Trainer, "save_checkpoint", save_then_die)
    with pytest.raises(KeyboardInterrupt):
        train_llm(table, out, bases["llama"], params, seed=3, progress=False)
    monkeypatch.setattr(_Trainer, "save_checkpoint", real_save)
    assert not out.exists()  # complete or absent
    assert (work_dir_for(out) / "fold-0" / "checkpoint" / "step.json").is_file()
    # Other settings must not silently continue that checkpoint.
    with pytest.raises(ArenaprefError, match="holds checkpoints of another training run"):
        train_llm(table, out, bases["llama"], {**params, "learning_rate": "0.001"}, seed=3, progress=False)
    resumed = train_llm(table, out, bases["llama"], {**params, "resume": "true"}, seed=3, progress=False)
    assert resumed["resumed_from_step"] == [4]
    assert resumed["oof_log_loss"] == pytest.approx(reference["oof_log_loss"], abs=1e-6)
    np.testing.assert_allclose(predict_llm(out, table), predict_llm(tmp_path / "ref", table), atol=1e-5)


def test_resume_true_without_a_checkpoint_is_an_error(bases: dict[str, Path], tmp_path: Path) -> None:
    with pytest.raises(ArenaprefError, match="resume=true: there is no checkpoint"):
        train_llm(_battles(6), tmp_path / "m", bases["llama"], {**FAST, "resume": "true"}, progress=False)


def test_bad_base_and_bad_targets_are_one_sentence(bases: dict[str, Path], tmp_path: Path) -> None:
    with pytest.raises(ArenaprefError, match="no such file or folder"):
        train_llm(_battles(6), tmp_path / "m", tmp_path / "nowhere", FAST, progress=False)
    with pytest.raises(ArenaprefError, match="nor a Hugging Face model folder"):
        train_llm(_battles(6), tmp_path / "m", tmp_path, FAST, progress=False)
    # A file named .gguf is only a GGUF base when it starts with the GGUF magic bytes.
    (tmp_path / "fake.gguf").write_bytes(b"not a model")
    with pytest.raises(ArenaprefError, match="neither a GGUF file"):
        train_llm(_battles(6), tmp_path / "m", tmp_path / "fake.gguf", FAST, progress=False)
    with pytest.raises(ArenaprefError, match="-p target_modules=wq,wv"):
        train_llm(
            _battles(6), tmp_path / "m", bases["llama"], {**FAST, "target_modules": "wq,wv"}, progress=False
        )
    with pytest.raises(ArenaprefError, match="not an LLM model folder"):
        predict_llm(tmp_path, _battles(2))


# --- teacher labels for mined pairs ---------------------------------------------------------------


def test_llm_teacher_labels_mined_pairs(llama_model: tuple[Path, dict[str, Any]]) -> None:
    from arenapref.label.teacher import teacher_battles
    from arenapref.mine import mine_pairs

    rng = np.random.default_rng(9)
    convs = []
    for k in range(6):
        prompt = _text(rng, 5)
        for m in ("model-x", "model-y"):
            convs.append(
                Conversation(f"{k}-{m}", m, [Turn("user", prompt), Turn("assistant", _text(rng, 4 + k))])
            )
    pairs = mine_pairs([conversations_table(convs)]).pairs
    assert pairs.num_rows == 6
    out, _ = llama_model
    # The teacher scores each order itself (to report order consistency), so it loads without averaging.
    result = teacher_battles(pairs, load_llm(out, swap_average=False), out.name)
    labeled = result.table
    p = np.column_stack([labeled.column(c).to_numpy() for c in ("p_a", "p_b", "p_tie")])
    np.testing.assert_allclose(p, predict_llm(out, pairs), atol=1e-5)


# --- per-source weights ---------------------------------------------------------------------------


def test_source_weights_scale_the_loss(bases: dict[str, Path], tmp_path: Path) -> None:
    from safetensors.numpy import load_file

    table = _battles(8).set_column(
        _battles(8).column_names.index("source"), "source", pa.array(["mined"] * 8, pa.string())
    )
    params = {**FAST, "valid_frac": "0", "weight_decay": "0"}

    def lora_b(out: Path) -> float:
        tensors = load_file(str(out / "adapters" / "0" / "adapter_model.safetensors"))
        return float(sum(np.abs(v).sum() for k, v in tensors.items() if "lora_B" in k))

    # Weight 0: every gradient is zero, so LoRA's B matrices keep their zero initialisation.
    train_llm(table, tmp_path / "w0", bases["llama"], params, progress=False, weights={"mined": 0.0})
    train_llm(table, tmp_path / "w1", bases["llama"], params, progress=False, weights={"mined": 1.0})
    assert lora_b(tmp_path / "w0") == 0.0 and lora_b(tmp_path / "w1") > 0.0
    assert json.loads((tmp_path / "w0" / "llm_config.json").read_text())["weights"] == {"mined": 0.0}
    with pytest.raises(ArenaprefError, match="`weight` names no source or input in the data: human"):
        train_llm(table, tmp_path / "w2", bases["llama"], params, progress=False, weights={"human": 2.0})


def test_cross_fitted_temperature_is_recorded_and_applied(bases: dict[str, Path], tmp_path: Path) -> None:
    from arenapref.model.temperature import apply_temperature

    out = tmp_path / "m"
    table = _battles(12)
    summary = train_llm(table, out, bases["llama"], FAST, folds=2, progress=False)
    assert summary["oof_log_loss_crossfit_temperature"] is not None
    cfg_path = out / "llm_config.json"
    cfg = json.loads(cfg_path.read_text())
    assert cfg["temperature"] == summary["temperature"]
    # The recorded temperature is what prediction applies, to each order before they are averaged.
    cfg_path.write_text(json.dumps({**cfg, "temperature": 1.0}))
    one_order = load_llm(out, swap_average=False)
    p_ab = one_order.predict_proba(table)
    p_ba = one_order.predict_proba(_swapped(table))
    cfg_path.write_text(json.dumps({**cfg, "temperature": 2.0}))
    expected = 0.5 * (apply_temperature(p_ab, 2.0) + apply_temperature(p_ba, 2.0)[:, SWAP])
    np.testing.assert_allclose(predict_llm(out, table), expected, atol=1e-6)


def _swapped(table: pa.Table) -> pa.Table:
    a, b = table.column_names.index("response_a"), table.column_names.index("response_b")
    return table.set_column(a, "response_a", table.column("response_b")).set_column(
        b, "response_b", table.column("response_a")
    )


def test_full_swap_puts_both_orders_of_a_battle_in_one_step(bases: dict[str, Path], tmp_path: Path) -> None:
    from arenapref.model.llm.train import epoch_order

    n, per_step = 10, 4
    order = epoch_order(n, swapped=True, full_swap=True, seed=[0, 0, 0])
    assert sorted(order) == list(range(2 * n))
    for start in range(0, 2 * n, per_step):
        step = set(order[start : start + per_step].tolist())
        assert all((i + n in step) for i in step if i < n) and all((i - n in step) for i in step if i >= n)
    # Without it, the plain shuffle of before (a resumed run replays either exactly).
    plain = epoch_order(n, swapped=True, full_swap=False, seed=[0, 0, 0])
    np.testing.assert_array_equal(plain, np.random.default_rng([0, 0, 0]).permutation(2 * n))
    with pytest.raises(ArenaprefError, match="must be even"):
        parse_llm_params({"full_swap": "true", "batch_size": "3", "grad_accum": "1"})
    with pytest.raises(ArenaprefError, match="needs swap_augment=true"):
        parse_llm_params({"full_swap": "true", "swap_augment": "false"})
    summary = train_llm(
        _battles(8), tmp_path / "m", bases["llama"], {**FAST, "full_swap": "true"}, progress=False
    )
    assert summary["train_sequences_per_s"] > 0
